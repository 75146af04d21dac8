"""Responses requests become chat requests (items ⇄ messages) and chat completions become `response` objects."""

from __future__ import annotations

from typing import Any

import pytest
from gptoss.errors import GatewayError
from gptoss.responses import (
    FIELDS,
    build_response,
    conversation_after,
    input_items_page,
    parse_responses_request,
    response_skeleton,
    to_chat_request,
)
from openai.types.responses import Response

from tests.api_contract import assert_schema, openapi

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def chat_for(body: dict[str, Any], history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    request = parse_responses_request(body)
    return to_chat_request(request, [*(history or []), *request.input_items()])


def param_of(body: dict[str, Any]) -> str | None:
    with pytest.raises(GatewayError) as caught:
        chat_for(body)
    assert caught.value.status == 400
    return caught.value.param


def completion(message: dict[str, Any], finish_reason: str = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42},
        **extra,
    }


def respond(body: dict[str, Any], chat_completion: dict[str, Any]) -> dict[str, Any]:
    request = parse_responses_request(body)
    skeleton = response_skeleton(request, response_id="resp_1", model="openai.gpt-oss-20b-1:0", created_at=1)
    return build_response(skeleton, chat_completion)


def test_string_input_and_instructions_become_developer_then_user_messages() -> None:
    # Given a string input with instructions and Responses-named settings
    body = {
        "model": "gpt-oss-20b",
        "input": "Why is the sky blue?",
        "instructions": "Answer in one sentence.",
        "max_output_tokens": 300,
        "reasoning": {"effort": "low"},
        "temperature": 0.5,
    }
    # When it is translated
    chat = chat_for(body)
    # Then the chat request carries the same conversation and settings under their chat names
    assert chat["messages"] == [
        {"role": "developer", "content": "Answer in one sentence."},
        {"role": "user", "content": "Why is the sky blue?"},
    ]
    assert chat["max_completion_tokens"] == 300
    assert chat["reasoning_effort"] == "low"
    assert chat["temperature"] == 0.5
    assert "input" not in chat and "store" not in chat and "metadata" not in chat


def test_tool_call_round_trip_keeps_call_ids_and_drops_reasoning() -> None:
    # Given a previous turn that reasoned, said something and called a tool, and this turn's tool output
    history = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "content": [{"type": "reasoning_text", "text": "think"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "call_7", "name": "get_weather", "arguments": '{"city":"Paris"}'},
    ]
    body = {
        "model": "gpt-oss-20b",
        "tools": [WEATHER],
        "input": [{"type": "function_call_output", "call_id": "call_7", "output": "Sunny"}],
    }
    # When it is translated
    chat = chat_for(body, history)
    # Then the tool call joins the assistant's words, its output is a tool message, and the reasoning is gone
    assert chat["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "call_7",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_7", "content": "Sunny"},
    ]
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Current weather", "parameters": WEATHER["parameters"]},
        }
    ]


def test_a_response_output_fed_back_as_input_translates_back_to_the_same_turn() -> None:
    # Given a response that called a tool
    response = respond(
        {"model": "gpt-oss-20b", "input": "Weather in Paris?", "tools": [WEATHER]},
        completion(
            {
                "content": None,
                "reasoning_content": "Need the tool.",
                "tool_calls": [
                    {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            "tool_calls",
        ),
    )
    # When its output items come back (as the Agents SDK sends them) with the tool output
    body = {
        "model": "gpt-oss-20b",
        "tools": [WEATHER],
        "input": [*response["output"], {"type": "function_call_output", "call_id": "call_9", "output": "Rain"}],
    }
    chat = chat_for(body)
    # Then the model sees its own tool call and the result, never the replayed reasoning
    assert chat["messages"] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_9", "content": "Rain"},
    ]


def test_text_format_and_tool_choice_use_the_chat_shapes() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    chat = chat_for(
        {
            "model": "gpt-oss-20b",
            "input": "x",
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "text": {"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}},
        }
    )
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"frequency_penalty": 1}, "frequency_penalty"),
        ({"background": True}, "background"),
        (
            {"input": [{"type": "message", "role": "user", "content": [{"type": "input_image"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
        ({"input": 5}, "input"),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "name": "bad name!"}]}, "tools[0].name"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"reasoning": {"effort": "minimal"}}, "reasoning.effort"),
        ({"text": {"format": {"type": "grammar"}}}, "text.format"),
        ({"text": {"verbosity": "low"}}, "text.verbosity"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"store": "yes"}, "store"),
        ({"previous_response_id": ""}, "previous_response_id"),
        ({"include": ["message.output_text.logprobs"]}, "include[0]"),
        ({"truncation": "auto"}, "truncation"),
        ({"temperature": 3}, "temperature"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "name": "other"}}, "tool_choice.name"),
    ],
)
def test_bad_requests_are_400s_naming_the_responses_param(extra: dict[str, Any], param: str) -> None:
    # Given a request with one bad field; When it is checked; Then the 400 names that field as the caller wrote it
    assert param_of({"model": "gpt-oss-20b", "input": "hi", **extra}) == param


def test_missing_model_or_input_is_named() -> None:
    assert param_of({"input": "hi"}) == "model"
    assert param_of({"model": "gpt-oss-20b"}) == "input"


def test_agents_sdk_defaults_are_accepted() -> None:
    # Given the fields the Agents SDK always sends (an empty include list, nulls for unset settings)
    chat = chat_for({"model": "gpt-oss-20b", "input": "hi", "include": [], "tool_choice": None, "top_p": None})
    # Then they are accepted and nothing unset reaches the chat request
    assert set(chat) == {"model", "messages"}


def test_completion_becomes_a_response_the_sdk_parses_with_output_text() -> None:
    # Given a completion with reasoning and text
    response = respond(
        {"model": "gpt-oss-20b", "input": "hi", "metadata": {"team": "a"}},
        completion({"content": "Hello!", "reasoning_content": "Greet back."}),
    )
    # When the official SDK parses it
    parsed = Response.model_validate(response)
    # Then the output items are reasoning then message, and output_text works
    assert [item.type for item in parsed.output] == ["reasoning", "message"]
    assert parsed.output[0].content[0].text == "Greet back."  # type: ignore[union-attr,index]
    assert parsed.output_text == "Hello!"
    assert parsed.status == "completed" and parsed.completed_at is not None
    assert parsed.usage is not None and (parsed.usage.input_tokens, parsed.usage.output_tokens) == (12, 30)
    assert parsed.metadata == {"team": "a"}


def test_tool_calls_become_function_call_items() -> None:
    response = respond(
        {"model": "gpt-oss-20b", "input": "hi", "tools": [WEATHER]},
        completion(
            {
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"c":1}'}}
                ],
            },
            "tool_calls",
        ),
    )
    parsed = Response.model_validate(response)
    assert [item.type for item in parsed.output] == ["function_call"]
    call = parsed.output[0]
    assert (call.call_id, call.name, call.arguments) == ("call_1", "get_weather", '{"c":1}')  # type: ignore[union-attr]


@pytest.mark.parametrize(("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")])
def test_cut_answers_are_incomplete_with_the_reason(finish: str, reason: str) -> None:
    response = respond({"model": "gpt-oss-20b", "input": "hi"}, completion({"content": "Partial"}, finish))
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": reason}
    assert response["completed_at"] is None


def test_reasoning_tokens_come_from_bedrock_when_reported() -> None:
    chat_completion = completion({"content": "x"})
    chat_completion["usage"]["completion_tokens_details"] = {"reasoning_tokens": 9}
    response = respond({"model": "gpt-oss-20b", "input": "hi"}, chat_completion)
    assert response["usage"]["output_tokens_details"] == {"reasoning_tokens": 9}


def test_continuation_starts_from_the_previous_input_then_output() -> None:
    stored_input = [{"id": "msg_a", "type": "message", "role": "user", "content": "q"}]
    response = {"output": [{"id": "msg_b", "type": "message", "role": "assistant", "content": []}]}
    assert [item["id"] for item in conversation_after(stored_input, response)] == ["msg_a", "msg_b"]


def test_input_item_pages_follow_order_and_after() -> None:
    items = [{"id": f"msg_{index}"} for index in range(5)]
    first = input_items_page(items, after=None, limit=2, order="desc")
    assert [item["id"] for item in first["data"]] == ["msg_4", "msg_3"] and first["has_more"]
    rest = input_items_page(items, after=first["last_id"], limit=10, order="desc")
    assert [item["id"] for item in rest["data"]] == ["msg_2", "msg_1", "msg_0"] and not rest["has_more"]
    with pytest.raises(GatewayError):
        input_items_page(items, after="msg_x", limit=2, order="asc")


def test_the_openapi_document_lists_exactly_the_accepted_fields() -> None:
    # Given the documented Responses request; Then it names exactly the fields the gateway accepts, and no others
    schema = openapi()["components"]["schemas"]["ResponsesRequest"]
    assert set(schema["properties"]) == set(FIELDS)
    assert schema["additionalProperties"] is False


def test_a_built_response_matches_the_openapi_document() -> None:
    response = respond({"model": "gpt-oss-20b", "input": "hi"}, completion({"content": "x", "reasoning_content": "y"}))
    assert_schema("ResponseObject", response)
