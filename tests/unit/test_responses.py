"""Responses requests become chat requests (items ⇄ messages) and chat completions become `response` objects."""

from __future__ import annotations

import re
import time
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


def rejected(body: object) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        chat_for(body)  # type: ignore[arg-type]
    assert caught.value.status == 400
    assert caught.value.type == "invalid_request_error"
    return caught.value


def param_of(body: dict[str, Any]) -> str | None:
    return rejected(body).param


def request(**fields: Any) -> dict[str, Any]:
    """A minimal valid Responses request, with overrides."""
    return {"model": "gpt-oss-20b", "input": "hi", **fields}


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


def user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def message_with(*parts: Any, role: str = "user") -> dict[str, Any]:
    return {"type": "message", "role": role, "content": list(parts)}


TOOL_TYPE_MESSAGE = (
    "Tool type 'web_search' is not supported: gpt-oss on Bedrock runs function tools only "
    "(hosted tools such as web_search, file_search or code_interpreter are not available)."
)
ITEM_TYPE_MESSAGE = (
    "Input items of type {!r} are not supported; expected message, function_call, function_call_output or reasoning."
)
TOOL_CHOICE_MESSAGE = 'tool_choice must be none, auto, required or {"type": "function", "name": ...}.'


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ("hello", None, "The request body must be a JSON object."),
        ({"input": "hi"}, "model", "You must provide a model parameter."),
        ({"model": "gpt-oss-20b"}, "input", "Missing required parameter: 'input'."),
        (request(model="  "), "model", "'model' must be a non-empty string."),
        (request(model=5), "model", "'model' must be a non-empty string."),
        (request(seed=1), "seed", "Unrecognized request argument supplied: seed."),
        (request(instructions=["x"]), "instructions", "'instructions' must be a string."),
        (
            request(previous_response_id=""),
            "previous_response_id",
            "'previous_response_id' must be a non-empty string.",
        ),
        (request(previous_response_id=7), "previous_response_id", "'previous_response_id' must be a non-empty string."),
        (request(stream="yes"), "stream", "'stream' must be a boolean."),
        (request(parallel_tool_calls=1), "parallel_tool_calls", "'parallel_tool_calls' must be a boolean."),
        (request(max_output_tokens=0), "max_output_tokens", "'max_output_tokens' must be a positive integer."),
        (request(max_output_tokens=True), "max_output_tokens", "'max_output_tokens' must be a positive integer."),
        (request(max_output_tokens="9"), "max_output_tokens", "'max_output_tokens' must be a positive integer."),
        (request(metadata=["k"]), "metadata", "'metadata' must be an object of string keys and string values."),
        (
            request(metadata={f"k{index}": "v" for index in range(17)}),
            "metadata",
            "'metadata' holds at most 16 pairs.",
        ),
        (request(metadata={"k" * 65: "v"}), "metadata." + "k" * 65, "Metadata keys are at most 64 characters."),
        (
            request(metadata={"k": "v" * 513}),
            "metadata.k",
            "Metadata values are strings of at most 512 characters.",
        ),
        (request(metadata={"k": 1}), "metadata.k", "Metadata values are strings of at most 512 characters."),
        (request(reasoning="low"), "reasoning", '\'reasoning\' must be an object such as {"effort": "low"}.'),
        (
            request(reasoning={"effort": "minimal"}),
            "reasoning.effort",
            "'reasoning.effort' must be one of low, medium, high.",
        ),
        (
            request(reasoning={"summary": "short"}),
            "reasoning.summary",
            "'reasoning.summary' must be one of auto, concise, detailed.",
        ),
        (
            request(reasoning={"generate_summary": "short"}),
            "reasoning.generate_summary",
            "'reasoning.generate_summary' must be one of auto, concise, detailed.",
        ),
        (request(reasoning={"budget": 5}), "reasoning.budget", "Unknown parameter: 'reasoning.budget'."),
        (
            request(reasoning={"effort": None, "budget": 5}),
            "reasoning.budget",
            "Unknown parameter: 'reasoning.budget'.",
        ),
        (request(text="json"), "text", '\'text\' must be an object such as {"format": {"type": "text"}}.'),
        (
            request(text={"format": {"type": "text"}, "verbosity": "low"}),
            "text.verbosity",
            "Unknown parameter: 'text.verbosity' (gpt-oss on Bedrock supports text.format only).",
        ),
        (
            request(text={"format": "json_object"}),
            "text.format",
            "'text.format' must be an object with type text, json_object, json_schema.",
        ),
        (
            request(text={"format": {"type": "json_schema", "schema": {"type": "object"}}}),
            "text.format.name",
            "A json_schema format needs a 'name' matching ^[a-zA-Z0-9_-]{1,64}$.",
        ),
        (
            request(text={"format": {"type": "json_schema", "name": "a b", "schema": {"type": "object"}}}),
            "text.format.name",
            "A json_schema format needs a 'name' matching ^[a-zA-Z0-9_-]{1,64}$.",
        ),
        (
            request(text={"format": {"type": "json_schema", "name": "a" * 65, "schema": {"type": "object"}}}),
            "text.format.name",
            "A json_schema format needs a 'name' matching ^[a-zA-Z0-9_-]{1,64}$.",
        ),
        (
            request(text={"format": {"type": "json_schema", "name": "answer", "schema": "object"}}),
            "text.format.schema",
            "A json_schema format needs a 'schema' object.",
        ),
        (
            request(text={"format": {"type": "json_schema", "name": "answer", "schema": {}, "strict": "yes"}}),
            "text.format.strict",
            "'strict' must be a boolean.",
        ),
        (
            request(text={"format": {"type": "json_schema", "name": "answer", "schema": {}, "description": 5}}),
            "text.format.description",
            "'description' must be a string.",
        ),
        (request(include="reasoning.encrypted_content"), "include", "'include' must be an array."),
        (
            request(include=["reasoning.encrypted_content", "message.output_text.logprobs"]),
            "include[1]",
            "Unsupported include value 'message.output_text.logprobs'; this gateway supports: "
            "reasoning.encrypted_content.",
        ),
        (
            request(truncation="auto"),
            "truncation",
            "Only truncation 'disabled' is supported: an input too long for the model is a 400.",
        ),
        (request(tools={"name": "f"}), "tools", "'tools' must be an array."),
        (request(tools=[WEATHER, "f"]), "tools[1]", "Each tool must be an object."),
        (request(tools=[{"type": "web_search"}]), "tools[0].type", TOOL_TYPE_MESSAGE),
        (request(tools=[{"type": "function"}]), "tools[0].name", "A function tool needs a string 'name'."),
        (request(tools=[WEATHER], tool_choice=1), "tool_choice", TOOL_CHOICE_MESSAGE),
        (request(tools=[WEATHER], tool_choice={"type": "function"}), "tool_choice", TOOL_CHOICE_MESSAGE),
        (
            request(tools=[WEATHER], tool_choice={"type": "custom", "name": "get_weather"}),
            "tool_choice",
            TOOL_CHOICE_MESSAGE,
        ),
        (request(input={"role": "user"}), "input", "'input' must be a string or an array of input items."),
        (request(input=[user_text("a"), "b"]), "input[1]", "Each input item must be an object."),
        (
            request(input=[user_text("a"), {"role": "tool", "content": "b"}]),
            "input[1].role",
            "Invalid role 'tool'; expected one of user, developer, system, assistant.",
        ),
        (request(input=[{"type": "message", "role": "user"}]), "input[0].content", "A message item needs 'content'."),
        (
            request(input=[{"role": "user", "content": 5}]),
            "input[0].content",
            "'content' must be a string or an array of content parts.",
        ),
        (
            request(input=[message_with({"type": "input_text", "text": "a"}, "b")]),
            "input[0].content[1]",
            "Each content part must be an object.",
        ),
        (
            request(input=[message_with({"type": "input_file", "file_id": "f"})]),
            "input[0].content[0].type",
            "Content parts of type 'input_file' are not supported: gpt-oss is text-only.",
        ),
        (
            request(input=[message_with({"type": "input_audio"})]),
            "input[0].content[0].type",
            "Content parts of type 'input_audio' are not supported: gpt-oss is text-only.",
        ),
        (
            request(input=[message_with({"type": "refusal", "refusal": "No."})]),
            "input[0].content[0].type",
            "Invalid content part type 'refusal'; expected input_text or output_text.",
        ),
        (
            request(input=[message_with({"type": "text", "text": "a"})]),
            "input[0].content[0].type",
            "Invalid content part type 'text'; expected input_text or output_text.",
        ),
        (
            request(input=[message_with({"type": "input_text", "text": 5})]),
            "input[0].content[0].text",
            "A input_text content part needs a string 'text' field.",
        ),
        (
            request(input=[message_with({"type": "refusal", "text": "No."}, role="assistant")]),
            "input[0].content[0].refusal",
            "A refusal content part needs a string 'refusal' field.",
        ),
        *[
            (
                request(
                    input=[{"type": "function_call", **{"call_id": "c", "name": "f", "arguments": "{}", field: 1}}]
                ),
                f"input[0].{field}",
                f"A function_call item needs a string {field!r}.",
            )
            for field in ("call_id", "name", "arguments")
        ],
        (
            request(input=[{"type": "function_call", "call_id": "", "name": "f", "arguments": "{}"}]),
            "input[0].call_id",
            "A function_call item needs a non-empty 'call_id'.",
        ),
        *[
            (
                request(input=[{"type": "function_call", "call_id": "c", "name": name, "arguments": "{}"}]),
                "input[0].name",
                "A function_call item's name must match ^[a-zA-Z0-9_-]{1,64}$.",
            )
            for name in ("", "get weather", "f" * 65)
        ],
        (
            request(input=[{"type": "function_call_output", "call_id": "", "output": "x"}]),
            "input[0].call_id",
            "A function_call_output item needs a non-empty string 'call_id'.",
        ),
        (
            request(input=[{"type": "function_call_output", "call_id": 5, "output": "x"}]),
            "input[0].call_id",
            "A function_call_output item needs a non-empty string 'call_id'.",
        ),
        (
            request(input=[{"type": "function_call_output", "call_id": "c"}]),
            "input[0].output",
            "A function_call_output item needs 'output'.",
        ),
        (
            request(input=[{"type": "function_call_output", "call_id": "c", "output": [{"type": "refusal"}]}]),
            "input[0].output[0].type",
            "Invalid content part type 'refusal'; expected input_text or output_text.",
        ),
        (
            request(input=[{"type": "item_reference", "id": "m"}]),
            "input[0].type",
            ITEM_TYPE_MESSAGE.format("item_reference"),
        ),
        (request(input=[{"content": "no role"}]), "input[0].type", ITEM_TYPE_MESSAGE.format(None)),
    ],
)
def test_each_rejection_names_the_param_and_says_what_to_fix(body: object, param: str | None, message: str) -> None:
    # Given a request that breaks one rule
    # When it is checked
    error = rejected(body)
    # Then the 400 names the offending field as the caller wrote it and says what a valid one looks like
    assert (error.param, error.message) == (param, message)


def test_every_setting_reaches_the_chat_request_under_its_chat_name() -> None:
    # Given a request using every Responses setting the gateway forwards, at the edges of what is accepted
    body = request(
        input=[
            {"role": "system", "content": "Be terse."},
            message_with({"type": "input_text", "text": "Weather "}, {"type": "output_text", "text": "in Oslo?"}),
            message_with(
                {"type": "output_text", "text": "I can't "}, {"type": "refusal", "refusal": "say."}, role="assistant"
            ),
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"role": "developer", "content": "Use the tool."},
        ],
        tools=[{**WEATHER, "strict": None}],
        tool_choice="required",
        parallel_tool_calls=False,
        stream=True,
        temperature=0,
        top_p=0.5,
        max_output_tokens=1,
        reasoning={"effort": "high", "summary": "detailed", "generate_summary": "concise"},
        text={"format": {"type": "json_object"}},
        metadata={f"k{index}": "v" for index in range(16)},
        store=False,
        include=["reasoning.encrypted_content"],
        truncation="disabled",
        instructions="",
    )
    # When it is translated
    chat = chat_for(body)
    # Then the chat request carries the conversation and every forwarded setting, and nothing that was unset
    assert chat == {
        "model": "gpt-oss-20b",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": "I can't say."},
            {"role": "developer", "content": "Use the tool."},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": WEATHER["parameters"],
                },
            }
        ],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "stream": True,
        "temperature": 0,
        "top_p": 0.5,
        "max_completion_tokens": 1,
        "reasoning_effort": "high",
        "response_format": {"type": "json_object"},
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"metadata": {"k" * 64: "v" * 512}},
        {"reasoning": {"effort": "medium", "summary": None}},
        {"reasoning": {"summary": "auto"}},
        {"text": {"format": {"type": "text"}}},
        {"text": {"format": None}},
        {"text": {}},
        {"include": []},
        {"tools": [], "tool_choice": "none"},
        {"tools": [WEATHER], "tool_choice": "auto"},
        {"instructions": "Be brief.", "previous_response_id": "resp_1", "stream": False, "store": True},
    ],
)
def test_values_at_the_edge_of_each_rule_are_accepted(fields: dict[str, Any]) -> None:
    # Given a request whose settings are at the edge of what each rule accepts; When it is translated; Then no 400
    chat = chat_for(request(**fields))
    assert chat["messages"][-1] == {"role": "user", "content": "hi"}


def test_a_json_schema_format_keeps_its_name_schema_and_description() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    name = "Answer_v2-" + "x" * 54  # 64 characters
    text_format = {"type": "json_schema", "name": name, "schema": schema, "description": "The answer", "strict": None}
    chat = chat_for(request(text={"format": text_format}))
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": schema, "description": "The answer"},
    }


def test_a_text_format_is_forwarded_as_its_chat_type() -> None:
    assert chat_for(request(text={"format": {"type": "text"}}))["response_format"] == {"type": "text"}


def test_a_function_call_without_an_assistant_turn_before_it_is_an_assistant_message_of_its_own() -> None:
    # Given tool calls after a user turn, the first replayed after an assistant message with no words
    body = request(
        input=[
            user_text("Weather in Oslo and Rome?"),
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
            {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": '{"city":"Rome"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": [{"type": "input_text", "text": "Sun"}]},
            {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "output_text", "text": "Rain"}]},
            {"role": "assistant", "content": ""},
            {"type": "function_call", "call_id": "call_3", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_3", "output": "Fog"},
        ],
        tools=[WEATHER],
    )
    # When it is translated
    chat = chat_for(body)

    # Then each run of calls is one assistant message with no content, and each output a tool message
    def call(call_id: str, arguments: str) -> dict[str, Any]:
        return {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": arguments}}

    assert chat["messages"] == [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [call("call_1", '{"city":"Oslo"}'), call("call_2", '{"city":"Rome"}')],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sun"},
        {"role": "tool", "tool_call_id": "call_2", "content": "Rain"},
        {"role": "assistant", "content": None, "tool_calls": [call("call_3", "{}")]},
        {"role": "tool", "tool_call_id": "call_3", "content": "Fog"},
    ]


def ids_match(items: list[dict[str, Any]], *prefixes: str) -> bool:
    return len(items) == len(prefixes) and all(
        re.fullmatch(f"{prefix}_[0-9a-f]{{48}}", str(item["id"])) for item, prefix in zip(items, prefixes, strict=True)
    )


def stored_message(role: str, part: str, text: str, status: str = "completed") -> dict[str, Any]:
    """A stored message input item, its id left out."""
    return {"id": None, "type": "message", "role": role, "content": [{"type": part, "text": text}], "status": status}


def test_a_string_input_is_stored_as_one_user_message_item() -> None:
    # Given a string input; When its input items are made (what GET /responses/{id}/input_items lists)
    stored = parse_responses_request(request(input="Why?")).input_items()
    # Then it is one completed user message in the full item form with a fresh message id
    assert ids_match(stored, "msg")
    assert [{**item, "id": None} for item in stored] == [stored_message("user", "input_text", "Why?")]


def test_input_items_are_stored_in_the_full_item_form_keeping_given_ids_and_statuses() -> None:
    # Given items in short and full forms, some with their own id or status
    call = {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"}
    given = [
        {"role": "assistant", "content": "Earlier answer"},
        {"role": "developer", "content": "Be brief.", "id": "msg_mine", "status": "incomplete"},
        message_with({"type": "input_text", "text": "Hi"}),
        call,
        {"type": "function_call_output", "call_id": "c1", "output": "Sun"},
        {"type": "reasoning", "summary": []},
    ]
    # When its input items are made
    stored = parse_responses_request(request(input=given)).input_items()
    # Then each is the full item form: typed, message text as parts (output_text for the assistant), ids kept or new
    assert [item["id"] for item in stored][1] == "msg_mine"
    assert ids_match([item for item in stored if item["id"] != "msg_mine"], "msg", "msg", "fc", "fco", "rs")
    assert [{**item, "id": None} for item in stored] == [
        stored_message("assistant", "output_text", "Earlier answer"),
        stored_message("developer", "input_text", "Be brief.", status="incomplete"),
        {"id": None, **message_with({"type": "input_text", "text": "Hi"}), "status": "completed"},
        {"id": None, **call},
        {"id": None, "type": "function_call_output", "call_id": "c1", "output": "Sun"},
        {"id": None, "type": "reasoning", "summary": []},
    ]


def test_store_defaults_to_true_and_previous_response_id_to_none() -> None:
    default = parse_responses_request(request())
    assert (default.store, default.previous_response_id) == (True, None)
    chosen = parse_responses_request(request(store=False, previous_response_id="resp_1"))
    assert (chosen.store, chosen.previous_response_id) == (False, "resp_1")


def test_a_response_echoes_the_defaults_of_a_minimal_request() -> None:
    # Given a minimal request answered with plain text
    response = respond(request(), completion({"content": "Hello"}))
    # Then the response object carries OpenAI's defaults for every setting the request left out
    settings = {key: value for key, value in response.items() if key not in ("output", "usage", "completed_at")}
    assert settings == {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "metadata": {},
        "model": "openai.gpt-oss-20b-1:0",
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "user": None,
    }


def test_a_response_echoes_the_settings_the_request_chose() -> None:
    # Given a request that sets every echoed setting
    text_format = {"type": "json_schema", "name": "answer", "schema": {"type": "object"}}
    body = request(
        instructions="Be brief.",
        max_output_tokens=50,
        metadata={"team": "a"},
        parallel_tool_calls=False,
        previous_response_id="resp_0",
        reasoning={"effort": "low", "summary": "concise"},
        store=False,
        temperature=0.2,
        text={"format": text_format},
        tool_choice="none",
        tools=[WEATHER],
        top_p=0.9,
        truncation="disabled",
    )
    # When it is answered
    response = respond(body, completion({"content": "{}"}))
    # Then the response object says what the request asked for
    echoed = {key: response[key] for key in body if key != "input"}
    assert echoed == {
        "model": "openai.gpt-oss-20b-1:0",
        "instructions": "Be brief.",
        "max_output_tokens": 50,
        "metadata": {"team": "a"},
        "parallel_tool_calls": False,
        "previous_response_id": "resp_0",
        "reasoning": {"effort": "low", "summary": "concise"},
        "store": False,
        "temperature": 0.2,
        "text": {"format": text_format},
        "tool_choice": "none",
        "tools": [WEATHER],
        "top_p": 0.9,
        "truncation": "disabled",
    }


def responses_usage(
    input_tokens: int, cached: int, written: int, output_tokens: int, reasoning: int, total: int
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": total,
    }


@pytest.mark.parametrize(
    ("chat_usage", "usage"),
    [
        (
            {
                "prompt_tokens": 12,
                "completion_tokens": 30,
                "prompt_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 3},
                "completion_tokens_details": {"reasoning_tokens": 9},
            },
            responses_usage(12, 4, 3, 30, 9, 42),
        ),
        (
            {"completion_tokens": 5, "total_tokens": 7, "completion_tokens_details": {}},
            responses_usage(0, 0, 0, 5, 0, 7),
        ),
        ({"prompt_tokens": 4}, responses_usage(4, 0, 0, 0, 0, 4)),
    ],
)
def test_usage_is_in_responses_terms_with_zeros_for_what_bedrock_left_out(
    chat_usage: dict[str, Any], usage: dict[str, Any]
) -> None:
    # Given a completion whose usage reports some counts and details, maybe no total
    chat_completion = completion({"content": "x"})
    chat_completion["usage"] = chat_usage
    # When it becomes a response; Then usage is in Responses terms, missing counts 0, a missing total computed
    assert respond(request(), chat_completion)["usage"] == usage


@pytest.mark.parametrize("usage", [None, {}])
def test_a_completion_without_usage_has_none(usage: dict[str, Any] | None) -> None:
    chat_completion = completion({"content": "x"})
    chat_completion["usage"] = usage
    assert respond(request(), chat_completion)["usage"] is None


def test_output_items_are_reasoning_then_text_then_calls_each_completed() -> None:
    # Given a completion that reasoned, said something and called two tools (one with no name or arguments)
    message = {
        "content": "Checking.",
        "reasoning_content": "Need weather.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"c":1}'}},
            {"id": "call_2", "type": "function", "function": {"arguments": None}},
            {"id": "call_3", "type": "function"},
        ],
    }
    # When it becomes a response
    output = respond(request(tools=[WEATHER]), completion(message, "tool_calls"))["output"]
    # Then the items come in OpenAI's order with fresh ids of their kind, all completed
    assert ids_match(output, "rs", "msg", "fc", "fc", "fc")
    assert [{**item, "id": None} for item in output] == [
        {
            "id": None,
            "type": "reasoning",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "Need weather."}],
            "status": "completed",
        },
        {
            "id": None,
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Checking.", "annotations": [], "logprobs": []}],
        },
        {
            "id": None,
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"c":1}',
            "status": "completed",
        },
        {"id": None, "type": "function_call", "call_id": "call_2", "name": "", "arguments": "", "status": "completed"},
        {"id": None, "type": "function_call", "call_id": "call_3", "name": "", "arguments": "", "status": "completed"},
    ]


@pytest.mark.parametrize("chat_completion", [{}, {"choices": []}, {"choices": [{"finish_reason": "stop"}]}])
def test_a_completion_without_a_message_is_one_empty_message_item(chat_completion: dict[str, Any]) -> None:
    response = respond(request(), chat_completion)
    assert response["status"] == "completed"
    assert [(item["type"], item["content"]) for item in response["output"]] == [
        ("message", [{"type": "output_text", "text": "", "annotations": [], "logprobs": []}])
    ]


def test_a_completed_response_is_stamped_with_the_time_it_completed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_700_000_123.9)
    response = respond(request(), completion({"content": "x"}))
    assert response["completed_at"] == 1_700_000_123


def test_a_guardrail_verdict_is_kept_and_absent_without_one() -> None:
    verdict = {"action": "GUARDRAIL_INTERVENED", "trace": None}
    blocked = respond(request(), completion({"content": "Sorry."}, "content_filter", guardrail=verdict))
    assert blocked["guardrail"] == verdict
    assert "guardrail" not in respond(request(), completion({"content": "x"}))


def test_an_unknown_finish_reason_completes_the_response() -> None:
    response = respond(request(), completion({"content": "x"}, "end_turn"))
    assert (response["status"], response["incomplete_details"]) == ("completed", None)


def test_input_item_pages_in_ascending_order_name_their_first_and_last_ids() -> None:
    items = [{"id": f"msg_{index}"} for index in range(4)]
    first = input_items_page(items, after=None, limit=2, order="asc")
    assert first == {"object": "list", "data": items[:2], "first_id": "msg_0", "last_id": "msg_1", "has_more": True}
    last = input_items_page(items, after="msg_1", limit=2, order="asc")
    assert last == {"object": "list", "data": items[2:], "first_id": "msg_2", "last_id": "msg_3", "has_more": False}
    whole = input_items_page(items, after="msg_0", limit=3, order="asc")
    assert (whole["first_id"], whole["last_id"], whole["has_more"]) == ("msg_1", "msg_3", False)
    beyond = input_items_page(items, after="msg_3", limit=2, order="asc")
    assert beyond == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_an_input_items_cursor_that_names_no_item_is_a_400_naming_after() -> None:
    with pytest.raises(GatewayError) as caught:
        input_items_page([{"id": "msg_0"}], after="msg_x", limit=2, order="desc")
    assert (caught.value.status, caught.value.param) == (400, "after")
    assert caught.value.message == "No input item with id 'msg_x' in this response."
