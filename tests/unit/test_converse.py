"""OpenAI chat requests become valid Converse requests, and Converse responses become chat.completions."""

import itertools
import json
import re

import botocore.session
import pytest
from botocore.validate import ParamValidator
from gptoss.chat_request import parse_chat_request
from gptoss.converse import (
    ADDITIONAL_FIELDS,
    FINISH_REASONS,
    PLACEHOLDER_USER_TEXT,
    finish_reason,
    from_converse_response,
    to_converse_request,
)
from gptoss.errors import GatewayError
from gptoss.guardrail import GuardrailConfig
from hypothesis import given, settings
from hypothesis import strategies as st

MODEL_ID = "openai.gpt-oss-120b-1:0"
SERVICE = botocore.session.get_session().get_service_model("bedrock-runtime")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def assert_valid_converse_params(params):
    """botocore's own check of the parameters against the Converse and ConverseStream input shapes."""
    for operation in ("Converse", "ConverseStream"):
        report = ParamValidator().validate(params, SERVICE.operation_model(operation).input_shape)
        assert not report.has_errors(), report.generate_report()


def convert(guardrail=None, **fields):
    params = to_converse_request(parse_chat_request({"model": "gpt-oss-120b", **fields}), MODEL_ID, guardrail)
    assert_valid_converse_params(params)
    return params


def texts_of(messages):
    return [(message["role"], block["text"]) for message in messages for block in message["content"] if "text" in block]


def tool_exchange(tool_call_id="call_abc"):
    return [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": tool_call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": tool_call_id, "content": "18°C, sunny"},
    ]


# ---- requests ---------------------------------------------------------------------------------------------------


def test_the_seed_documents_mapping_is_applied():
    # Given the request from the Bedrock gpt-oss page's example
    params = convert(
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello! How can I help you today?"},
        ],
        max_completion_tokens=150,
        temperature=0.7,
        top_p=0.9,
        stop="END",
        reasoning_effort="medium",
    )
    # When converted
    # Then system goes to `system`, inference fields to inferenceConfig, the rest to additionalModelRequestFields
    # And `stop` is not sent at all: Converse refuses stopSequences for gpt-oss (the gateway applies it)
    assert params["modelId"] == MODEL_ID
    assert params["system"] == [{"text": "You are a helpful assistant."}]
    assert params["messages"] == [{"role": "user", "content": [{"text": "Hello! How can I help you today?"}]}]
    assert params["inferenceConfig"] == {"maxTokens": 150, "temperature": 0.7, "topP": 0.9}
    assert params["additionalModelRequestFields"] == {"reasoning_effort": "medium"}


def test_max_completion_tokens_wins_over_max_tokens():
    # Given a request with both token limits, and one with only the legacy max_tokens
    # When they are converted
    params = convert(messages=[{"role": "user", "content": "hi"}], max_tokens=10, max_completion_tokens=20)
    # Then the newer max_completion_tokens wins, and max_tokens alone still limits the answer
    assert params["inferenceConfig"] == {"maxTokens": 20}
    assert convert(messages=[{"role": "user", "content": "hi"}], max_tokens=10)["inferenceConfig"] == {"maxTokens": 10}


def test_developer_and_system_messages_anywhere_become_system_blocks_in_order():
    # Given developer and system messages before and after the user's
    # When converted
    params = convert(
        messages=[
            {"role": "developer", "content": "First rule."},
            {"role": "user", "content": "Hi"},
            {"role": "system", "content": [{"type": "text", "text": "Second"}, {"type": "text", "text": "rule."}]},
        ]
    )
    # Then all of them are system blocks in order, and only the user turn is a message
    assert params["system"] == [{"text": "First rule."}, {"text": "Second"}, {"text": "rule."}]
    assert params["messages"] == [{"role": "user", "content": [{"text": "Hi"}]}]


def test_consecutive_same_role_turns_are_merged():
    # Given two user messages in a row (Converse demands alternation)
    params = convert(messages=[{"role": "user", "content": "Part one."}, {"role": "user", "content": "Part two."}])
    # Then they arrive as one user turn with both texts in order
    assert params["messages"] == [{"role": "user", "content": [{"text": "Part one."}, {"text": "Part two."}]}]


def test_a_conversation_starting_with_the_assistant_gets_a_placeholder_user_turn():
    # Given the seed page's example: the assistant speaks first
    params = convert(
        messages=[
            {"role": "assistant", "content": "Hello! How can I help you today?"},
            {"role": "user", "content": "Tell me a joke."},
        ]
    )
    # Then a minimal user turn is inserted first, and the assistant's words stay the assistant's
    assert params["messages"] == [
        {"role": "user", "content": [{"text": PLACEHOLDER_USER_TEXT}]},
        {"role": "assistant", "content": [{"text": "Hello! How can I help you today?"}]},
        {"role": "user", "content": [{"text": "Tell me a joke."}]},
    ]


def test_a_system_only_conversation_still_sends_a_user_turn():
    # Given a conversation with only a system prompt
    # When converted
    params = convert(messages=[{"role": "system", "content": "Write a haiku about the sea."}])
    # Then Converse gets the system text and a placeholder user turn (it requires one)
    assert params["messages"] == [{"role": "user", "content": [{"text": PLACEHOLDER_USER_TEXT}]}]
    assert params["system"] == [{"text": "Write a haiku about the sea."}]


def test_blank_texts_are_not_sent_as_blank_blocks():
    # Given an empty assistant text between user turns (Bedrock rejects blank text blocks)
    params = convert(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "b"},
        ]
    )
    # Then the empty turn disappears and the user turns around it merge
    assert params["messages"] == [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}]


def test_previous_reasoning_is_never_replayed():
    # Given an assistant turn echoed back with the reasoning this gateway returned
    params = convert(
        messages=[
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4", "reasoning_content": "simple arithmetic"},
            {"role": "user", "content": "times 3?"},
        ]
    )
    # Then Bedrock gets only the answer text (replayed reasoning blocks are rejected by Bedrock)
    assert params["messages"][1] == {"role": "assistant", "content": [{"text": "4"}]}
    assert "simple arithmetic" not in json.dumps(params)


def test_tools_and_a_tool_round_trip_map_to_tool_config_tool_use_and_tool_result():
    # Given a conversation where the assistant called a tool and the tool answered, then the user follows up
    params = convert(
        messages=[*tool_exchange(), {"role": "user", "content": "And tomorrow?"}],
        tools=[WEATHER_TOOL],
        tool_choice="auto",
    )
    # Then tools become toolSpecs, the call a toolUse with decoded input, the answer a toolResult in a user turn
    assert params["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "inputSchema": {"json": WEATHER_TOOL["function"]["parameters"]},
                }
            }
        ],
        "toolChoice": {"auto": {}},
    }
    assert params["messages"][1] == {
        "role": "assistant",
        "content": [{"toolUse": {"toolUseId": "call_abc", "name": "get_weather", "input": {"city": "Paris"}}}],
    }
    assert params["messages"][2] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "call_abc", "content": [{"text": "18°C, sunny"}]}},
            {"text": "And tomorrow?"},
        ],
    }


def test_parallel_tool_results_share_one_user_turn():
    # Given an assistant turn with two tool calls, answered by two tool messages
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}} for i in (1, 2)
    ]
    # When converted
    params = convert(
        messages=[
            {"role": "user", "content": "Paris and Rome?"},
            {"role": "assistant", "content": "Checking both.", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": ""},
        ],
        tools=[WEATHER_TOOL],
    )
    assistant, results = params["messages"][1], params["messages"][2]
    # Then the calls follow the text in one assistant turn, and both results share the next user turn
    assert [block.get("text") or block["toolUse"]["toolUseId"] for block in assistant["content"]] == [
        "Checking both.",
        "call_1",
        "call_2",
    ]
    assert [block["toolResult"]["toolUseId"] for block in results["content"]] == ["call_1", "call_2"]
    assert "toolChoice" not in params["toolConfig"]


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("auto", {"auto": {}}),
        ("required", {"any": {}}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"tool": {"name": "get_weather"}}),
    ],
)
def test_tool_choice_maps_to_converse_tool_choice(tool_choice, expected):
    # Given tools offered with an OpenAI tool_choice
    # When converted
    params = convert(messages=[{"role": "user", "content": "hi"}], tools=[WEATHER_TOOL], tool_choice=tool_choice)
    # Then Converse gets the equivalent toolChoice
    assert params["toolConfig"]["toolChoice"] == expected


def test_tool_choice_none_sends_no_tools_and_replays_earlier_tool_turns_as_text():
    # Given a finished tool exchange, and the client now forbids tools
    params = convert(messages=tool_exchange(), tools=[WEATHER_TOOL], tool_choice="none")
    # Then no toolConfig is sent (Converse has no "none"), and the exchange is still visible to the model as text
    assert "toolConfig" not in params
    assert "tool_choice" not in params.get("additionalModelRequestFields", {})
    dumped = json.dumps(params, ensure_ascii=False)
    assert "toolUse" not in dumped
    assert "toolResult" not in dumped
    assert texts_of(params["messages"]) == [
        ("user", "Weather in Paris?"),
        ("assistant", '[tool call call_abc] get_weather({"city": "Paris"})'),
        ("user", "[tool result call_abc] 18°C, sunny"),
    ]


def test_tool_history_without_tools_offered_is_also_replayed_as_text():
    params = convert(messages=tool_exchange())
    assert "toolConfig" not in params
    assert params["messages"][2]["content"] == [{"text": "[tool result call_abc] 18°C, sunny"}]


def test_tool_call_ids_outside_converses_alphabet_are_rewritten_consistently():
    # Given a client whose tool call ids contain characters Converse rejects
    params = convert(messages=tool_exchange("call/with spaces#1" + "x" * 80), tools=[WEATHER_TOOL])
    # Then the toolUse and its toolResult carry the same valid id (shape validation passed in convert())
    use_id = params["messages"][1]["content"][0]["toolUse"]["toolUseId"]
    assert params["messages"][2]["content"][0]["toolResult"]["toolUseId"] == use_id
    assert len(use_id) <= 64


def test_empty_tool_arguments_mean_no_arguments():
    # Given a replayed tool call whose arguments string is empty
    messages = tool_exchange()
    messages[1]["tool_calls"][0]["function"]["arguments"] = ""
    # When converted
    params = convert(messages=messages, tools=[WEATHER_TOOL])
    # Then the toolUse input is an empty object
    assert params["messages"][1]["content"][0]["toolUse"]["input"] == {}


def test_invalid_json_tool_arguments_are_a_400_naming_the_call():
    # Given a replayed tool call whose arguments are not JSON
    messages = tool_exchange()
    messages[1]["tool_calls"][0]["function"]["arguments"] = "{city: Paris"
    request = parse_chat_request({"model": "m", "messages": messages, "tools": [WEATHER_TOOL]})
    # When converted
    with pytest.raises(GatewayError) as raised:
        to_converse_request(request, MODEL_ID, None)
    # Then the client learns which call is broken
    assert raised.value.status == 400
    assert raised.value.param == "messages[1].tool_calls[0].function.arguments"


def test_a_tool_without_parameters_gets_an_empty_object_schema():
    # Given a tool declared without parameters
    # When converted
    params = convert(
        messages=[{"role": "user", "content": "time?"}], tools=[{"type": "function", "function": {"name": "now"}}]
    )
    # Then Converse gets the empty object schema it requires
    assert params["toolConfig"]["tools"][0]["toolSpec"] == {
        "name": "now",
        "inputSchema": {"json": {"type": "object", "properties": {}}},
    }


def test_temperature_above_converses_maximum_is_a_clear_400():
    # Given a temperature valid for OpenAI (0..2) but above Converse's 1
    request = parse_chat_request({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 1.5})
    # Then the Converse route says so instead of clamping silently
    with pytest.raises(GatewayError) as raised:
        to_converse_request(request, MODEL_ID, None)
    assert (raised.value.status, raised.value.param) == (400, "temperature")
    assert raised.value.message == "Converse accepts a temperature between 0 and 1."


def test_the_guardrail_is_applied_when_configured():
    # Given a deployment guardrail, with and without trace, and no guardrail
    # When requests are converted
    params = convert(GuardrailConfig("abc123def", "3"), messages=[{"role": "user", "content": "hi"}])
    # Then each carries the guardrail and trace setting, and none is sent when there is no guardrail
    assert params["guardrailConfig"] == {
        "guardrailIdentifier": "abc123def",
        "guardrailVersion": "3",
        "trace": "enabled",
    }
    untraced = convert(GuardrailConfig("abc123def", "DRAFT", trace=False), messages=[{"role": "user", "content": "hi"}])
    assert untraced["guardrailConfig"]["trace"] == "disabled"
    assert "guardrailConfig" not in convert(messages=[{"role": "user", "content": "hi"}])


def test_gateway_only_fields_are_not_forwarded():
    # Given a request using only fields the gateway handles itself
    # When converted
    params = convert(
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
        n=1,
        user="alice",
        store=False,
        metadata={"k": "v"},
    )
    # Then none of them is passed to the model
    assert "additionalModelRequestFields" not in params


# ---- request invariants (property-based) ------------------------------------------------------------------------

printable = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
visible = printable.filter(lambda text: text.strip())


@st.composite
def content(draw):
    if draw(st.booleans()):
        return draw(visible)
    return [{"type": "text", "text": text} for text in draw(st.lists(visible, min_size=1, max_size=3))]


@st.composite
def message(draw):
    role = draw(st.sampled_from(["system", "developer", "user", "assistant"]))
    return {"role": role, "content": draw(content())}


def flat_texts(content_value):
    return [content_value] if isinstance(content_value, str) else [part["text"] for part in content_value]


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(message(), min_size=1, max_size=8))
def test_every_text_reaches_converse_in_order_and_the_conversation_is_well_formed(messages):
    # Given any conversation of system/developer/user/assistant text messages
    # When it is converted
    params = convert(messages=messages)
    # Then every system text is in `system`, in order
    expected_system = [t for m in messages if m["role"] in ("system", "developer") for t in flat_texts(m["content"])]
    assert [block["text"] for block in params.get("system", [])] == expected_system
    # And every user/assistant text is in `messages`, in order, with its role
    expected = [
        (m["role"], t) for m in messages if m["role"] in ("user", "assistant") for t in flat_texts(m["content"])
    ]
    sent = texts_of(params["messages"])
    if sent[0] == ("user", PLACEHOLDER_USER_TEXT) and (not expected or expected[0] != sent[0]):
        sent = sent[1:]
    assert sent == expected
    # And the turns start with the user and alternate, as Converse requires
    roles = [m["role"] for m in params["messages"]]
    assert roles[0] == "user"
    assert all(a != b for a, b in itertools.pairwise(roles))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
optional_fields = st.fixed_dictionaries(
    {},
    optional={
        "temperature": st.floats(0, 1),
        "top_p": st.floats(0, 1),
        "max_tokens": st.integers(1, 10_000),
        "max_completion_tokens": st.integers(1, 10_000),
        "stop": st.one_of(visible, st.lists(visible, max_size=4)),
        "reasoning_effort": st.sampled_from(["low", "medium", "high"]),
        "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}]),
        "seed": st.integers(0, 2**31),
        "frequency_penalty": st.floats(-2, 2),
        "presence_penalty": st.floats(-2, 2),
        "parallel_tool_calls": st.booleans(),
        "tools": st.just([WEATHER_TOOL]),
        "tool_choice": st.sampled_from(["none", "auto"]),
        "stream": st.booleans(),
        "n": st.just(1),
        "user": st.from_regex(r"\A[a-zA-Z0-9@._-]{1,40}\Z"),
    },
)


@settings(max_examples=200, deadline=None)
@given(fields=optional_fields)
def test_no_openai_field_is_silently_lost(fields):
    # Given a request with any mix of the optional fields the request contract accepts
    request = {"model": "gpt-oss-120b", "messages": [{"role": "user", "content": "hi"}], **fields}
    # When it is converted
    params = convert(**{key: value for key, value in request.items() if key != "model"})
    # Then the fields the contract sends in additionalModelRequestFields are there verbatim, and only those
    additional = params.get("additionalModelRequestFields", {})
    assert additional == {key: value for key, value in request.items() if key in ADDITIONAL_FIELDS}
    # And the mapped ones land where the Bedrock documentation puts them
    inference = params.get("inferenceConfig", {})
    if "temperature" in request:
        assert inference["temperature"] == request["temperature"]
    if "top_p" in request:
        assert inference["topP"] == request["top_p"]
    if "max_completion_tokens" in request or "max_tokens" in request:
        assert inference["maxTokens"] == request.get("max_completion_tokens", request.get("max_tokens"))
    if "user" in request:
        assert params["requestMetadata"] == {"user": request["user"]}
    # And stop strings are never sent as stopSequences (gpt-oss refuses them on Converse)
    assert "stopSequences" not in inference
    assert ("toolConfig" in params) == ("tools" in request and request.get("tool_choice") != "none")


# ---- responses --------------------------------------------------------------------------------------------------


def converse_response(content, stop_reason="end_turn", **extra):
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 12, "outputTokens": 34, "totalTokens": 46},
        "metrics": {"latencyMs": 100},
        **extra,
    }


def translate(response):
    return from_converse_response(response, model="gpt-oss-120b", completion_id="chatcmpl-1", created=1700000000)


def test_a_converse_answer_becomes_a_chat_completion_with_reasoning_separated():
    # Given Converse's gpt-oss answer: a reasoning block then text
    response = converse_response(
        [{"reasoningContent": {"reasoningText": {"text": "The user says hi."}}}, {"text": "Hello!"}]
    )
    # When translated
    completion = translate(response)
    # Then the SDK sees a chat.completion with reasoning_content beside the content, and usage
    assert completion == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-oss-120b",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!", "reasoning_content": "The user says hi."},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46},
    }


def test_reasoning_leaked_into_converse_text_is_moved_to_reasoning_content():
    # Given a Converse answer whose text starts with an inline reasoning block
    # When translated
    completion = translate(converse_response([{"text": "<reasoning>thinking</reasoning>\nAnswer"}]))
    # Then the reasoning is in reasoning_content and the content is only the answer
    message = completion["choices"][0]["message"]
    assert (message["content"], message["reasoning_content"]) == ("Answer", "thinking")


def test_tool_use_becomes_tool_calls_with_json_string_arguments():
    # Given a Converse answer calling a tool
    response = converse_response(
        [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}], "tool_use"
    )
    # When translated
    choice = translate(response)["choices"][0]
    # Then the client sees an OpenAI tool call with JSON-string arguments and no content
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {"id": "tooluse_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    ]
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}


def test_a_guardrail_intervention_is_a_content_filter_finish_with_the_trace():
    # Given a Converse answer the guardrail replaced
    trace = {"guardrail": {"inputAssessment": {"abc": {"contentPolicy": {"filters": []}}}}}
    # When translated
    completion = translate(
        converse_response([{"text": "Sorry, I can't help with that."}], "guardrail_intervened", trace=trace)
    )
    # Then the finish is content_filter, the blocked message is the content, and the verdict carries the trace
    assert completion["choices"][0]["finish_reason"] == "content_filter"
    assert completion["choices"][0]["message"]["content"] == "Sorry, I can't help with that."
    assert completion["guardrail"] == {"action": "INTERVENED", "trace": trace["guardrail"]}


def test_a_guardrail_trace_without_intervention_is_reported_as_none():
    # Given a guardrail trace on an answer the guardrail let through, and an answer without trace
    # When translated
    completion = translate(converse_response([{"text": "Hi"}], trace={"guardrail": {"modelOutput": ["Hi"]}}))
    # Then the verdict is NONE, and there is no verdict without a guardrail
    assert completion["guardrail"]["action"] == "NONE"
    assert "guardrail" not in translate(converse_response([{"text": "Hi"}]))


def test_cached_prompt_tokens_are_reported_like_openai():
    # Given a Converse answer that read 8 prompt tokens from the cache
    response = converse_response([{"text": "x"}])
    response["usage"]["cacheReadInputTokens"] = 8
    # When translated
    # Then usage reports them as OpenAI's cached_tokens
    assert translate(response)["usage"]["prompt_tokens_details"] == {"cached_tokens": 8}


@pytest.mark.parametrize(
    ("stop_reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("malformed_model_output", "stop"),
        ("malformed_tool_use", "stop"),
        ("something_new", "stop"),
        (None, "stop"),
    ],
)
def test_stop_reasons_map_to_openai_finish_reasons(stop_reason, expected):
    # Given a Converse stopReason
    # When it is mapped
    # Then the client sees the matching OpenAI finish_reason
    assert finish_reason(stop_reason) == expected


def test_finish_reason_mapping_covers_every_stop_reason_bedrock_defines():
    # Given the stopReason enum from botocore's current service model
    stop_reasons = SERVICE.shape_for("StopReason").enum
    # Then each one has an explicit mapping to an OpenAI finish_reason
    assert set(stop_reasons) <= set(FINISH_REASONS)
    assert {finish_reason(reason) for reason in stop_reasons} <= {"stop", "length", "tool_calls", "content_filter"}


@st.composite
def tool_conversation(draw):
    """Conversations mixing text turns with assistant tool calls and tool results, in any order."""
    messages = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["system", "user", "assistant", "tool_call", "tool"]))
        call_id = draw(st.sampled_from(["call_1", "call 2", "tooluse_x" * 9]))
        if kind == "tool_call":
            arguments = draw(st.sampled_from(["", "{}", '{"city": "Paris"}', "[1, 2]"]))
            call = {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
            messages.append({"role": "assistant", "content": draw(st.none() | printable), "tool_calls": [call]})
        elif kind == "tool":
            messages.append({"role": "tool", "tool_call_id": call_id, "content": draw(printable)})
        else:
            messages.append({"role": kind, "content": draw(content())})
    return messages


@settings(max_examples=200, deadline=None)
@given(messages=tool_conversation(), tool_choice=st.sampled_from([None, "auto", "none", "required"]))
def test_any_tool_conversation_becomes_a_well_formed_converse_request(messages, tool_choice):
    # Given any conversation with tool calls and results, with or without tools allowed
    fields = {"messages": messages, "tools": [WEATHER_TOOL]}
    if tool_choice is not None:
        fields["tool_choice"] = tool_choice
    # When converted (convert() also checks the result against botocore's Converse shapes)
    params = convert(**fields)
    # Then it starts with the user, alternates, and uses tool blocks only when a toolConfig is sent
    roles = [message["role"] for message in params["messages"]]
    assert roles[0] == "user"
    assert all(a != b for a, b in itertools.pairwise(roles))
    has_tool_blocks = any(
        "toolUse" in block or "toolResult" in block for message in params["messages"] for block in message["content"]
    )
    assert not has_tool_blocks or "toolConfig" in params
    assert ("toolConfig" in params) == (tool_choice != "none")


def test_conversion_does_not_modify_the_callers_request():
    # Given a validated request with a tool call id Converse cannot take as is
    messages = [*tool_exchange("bad id!"), {"role": "user", "content": "x"}]
    request = parse_chat_request({"model": "m", "messages": messages, "tools": [WEATHER_TOOL]})
    snapshot = json.dumps(request, sort_keys=True)
    # When it is converted
    to_converse_request(request, MODEL_ID, None)
    # Then the caller's request is unchanged
    assert json.dumps(request, sort_keys=True) == snapshot


# ---- details a client sees on the Converse path (each found by a surviving mutant) ---------------------------------


def test_metadata_and_user_reach_bedrocks_request_metadata():
    # Given a request with metadata and a user
    params = convert(messages=[{"role": "user", "content": "hi"}], metadata={"team": "search"}, user="u-42")
    # Then Bedrock's invocation logs get both, the user under "user"
    assert params["requestMetadata"] == {"team": "search", "user": "u-42"}


def test_metadata_user_that_agrees_with_user_is_sent_once():
    # Given metadata.user and user with the same value
    params = convert(messages=[{"role": "user", "content": "hi"}], metadata={"user": "u-42"}, user="u-42")
    # Then it is sent once
    assert params["requestMetadata"] == {"user": "u-42"}


def test_metadata_user_that_disagrees_with_user_is_a_400_naming_metadata_user():
    # Given metadata.user and user that differ (Converse keeps one user)
    request = parse_chat_request(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "metadata": {"user": "a"}, "user": "b"}
    )
    # When it is converted
    with pytest.raises(GatewayError) as raised:
        to_converse_request(request, MODEL_ID, None)
    # Then the client is told which field to fix, and why
    assert (raised.value.status, raised.value.param) == (400, "metadata.user")
    assert raised.value.message == "'metadata.user' and 'user' differ; Converse keeps one user."


def test_sixteen_metadata_pairs_with_user_included_are_the_most_converse_keeps():
    # Given 15 metadata pairs and a user (16 pairs), then 16 pairs and a user (17)
    fifteen = {f"k{index}": "v" for index in range(15)}
    messages = [{"role": "user", "content": "hi"}]
    # Then 16 are sent
    assert len(convert(messages=messages, metadata=fifteen, user="u")["requestMetadata"]) == 16
    # And 17 are a 400 on metadata that says the limit
    request = parse_chat_request({"model": "m", "messages": messages, "metadata": {**fifteen, "k15": "v"}, "user": "u"})
    with pytest.raises(GatewayError) as raised:
        to_converse_request(request, MODEL_ID, None)
    assert (raised.value.status, raised.value.param) == (400, "metadata")
    assert raised.value.message == "Converse keeps at most 16 metadata pairs, 'user' included."


def test_temperature_one_is_converses_maximum_and_is_sent():
    # Given temperature 1, the highest Converse accepts
    params = convert(messages=[{"role": "user", "content": "hi"}], temperature=1)
    # Then it is sent, not refused
    assert params["inferenceConfig"]["temperature"] == 1


def test_strict_tools_are_sent_strict():
    # Given a tool marked strict, and one marked not strict
    tools = [
        {**WEATHER_TOOL, "function": {**WEATHER_TOOL["function"], "strict": True}},
        {"type": "function", "function": {"name": "lookup", "strict": False}},
    ]
    params = convert(messages=[{"role": "user", "content": "hi"}], tools=tools)
    # Then Converse gets each tool's strict setting
    assert [tool["toolSpec"]["strict"] for tool in params["toolConfig"]["tools"]] == [True, False]


def test_a_structured_output_response_format_is_forwarded():
    # Given a json_schema response_format
    response_format = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}
    params = convert(messages=[{"role": "user", "content": "hi"}], response_format=response_format)
    # Then it reaches the model unchanged
    assert params["additionalModelRequestFields"]["response_format"] == response_format


def test_invalid_tool_call_arguments_are_a_400_saying_so():
    # Given an assistant tool call whose arguments are not JSON
    messages = tool_exchange()
    messages[1]["tool_calls"][0]["function"]["arguments"] = "{city: Paris"
    request = parse_chat_request({"model": "m", "messages": messages, "tools": [WEATHER_TOOL]})
    # When it is converted
    with pytest.raises(GatewayError) as raised:
        to_converse_request(request, MODEL_ID, None)
    # Then the 400 names the arguments and says what is wrong
    assert raised.value.param == "messages[1].tool_calls[0].function.arguments"
    assert raised.value.message.startswith("Tool call arguments are not valid JSON: ")


def test_a_tool_result_in_several_parts_is_replayed_as_one_text_without_tools():
    # Given a tool result sent as two text parts, in a request without tools
    messages = tool_exchange()
    messages[2]["content"] = [{"type": "text", "text": "18°C"}, {"type": "text", "text": ", sunny"}]
    params = convert(messages=messages)
    # Then the model reads the result as one text, parts joined as written
    assert ("user", "[tool result call_abc] 18°C, sunny") in texts_of(params["messages"])


def test_ids_outside_converses_alphabet_are_rewritten_readably_and_kept_apart():
    # Given two tool call ids Converse would refuse, differing only after the first 47 characters
    long_a, long_b = "call/" + "x" * 50 + "a", "call/" + "x" * 50 + "b"
    ids = []
    for raw in (long_a, long_b):
        params = convert(messages=tool_exchange(raw), tools=[WEATHER_TOOL])
        ids.append(params["messages"][1]["content"][0]["toolUse"]["toolUseId"])
    # Then each becomes a valid id that still reads like the original, and the two stay distinct
    assert ids[0] != ids[1]
    assert all(re.fullmatch(r"call_x{42}-[0-9a-f]{16}", value) for value in ids)


def test_bedrocks_total_tokens_is_reported_as_billed_and_missing_counts_are_zero():
    # Given a usage whose total includes tokens written to the cache, and one with no counts at all
    billed = translate(
        converse_response([{"text": "Hi"}], usage={"inputTokens": 3, "outputTokens": 2, "totalTokens": 9})
    )
    empty = translate(converse_response([{"text": "Hi"}], usage={}))
    summed = translate(converse_response([{"text": "Hi"}], usage={"inputTokens": 3, "outputTokens": 2}))
    # Then the total is Bedrock's, counts Bedrock did not send are 0, and a missing total is the sum
    assert billed["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 9}
    assert empty["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert summed["usage"]["total_tokens"] == 5


def test_an_intervention_without_a_trace_is_still_reported():
    # Given a guardrail intervention with trace disabled
    completion = translate(converse_response([{"text": "Sorry."}], "guardrail_intervened"))
    # Then the client still sees the verdict
    assert completion["guardrail"] == {"action": "INTERVENED", "trace": {}}
    assert completion["choices"][0]["finish_reason"] == "content_filter"


def test_text_blocks_and_reasoning_blocks_are_joined_as_written():
    # Given an answer in several text blocks and reasoning in several blocks, one of them without text
    completion = translate(
        converse_response(
            [
                {"reasoningContent": {"reasoningText": {"text": "First, "}}},
                {"reasoningContent": {"redactedContent": b"..."}},
                {"reasoningContent": {"reasoningText": {"text": "then."}}},
                {"text": "Hel"},
                {"text": "lo!"},
            ]
        )
    )
    # Then the client reads each as one text, nothing inserted
    message = completion["choices"][0]["message"]
    assert (message["reasoning_content"], message["content"]) == ("First, then.", "Hello!")


def test_text_said_beside_tool_calls_is_kept():
    # Given an answer that says something and calls a tool
    tool_use = {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Zürich"}}}
    completion = translate(converse_response([{"text": "Let me check."}, tool_use], "tool_use"))
    # Then the client gets the text and the call, its arguments in readable UTF-8 JSON
    message = completion["choices"][0]["message"]
    assert message["content"] == "Let me check."
    assert message["tool_calls"][0]["function"]["arguments"] == '{"city": "Zürich"}'


def test_a_tool_call_without_input_has_empty_object_arguments():
    # Given a tool use block without input
    completion = translate(converse_response([{"toolUse": {"toolUseId": "t1", "name": "now"}}], "tool_use"))
    # Then its arguments are the empty JSON object, which the SDK can parse
    assert completion["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == "{}"


def test_an_assistant_refusal_is_replayed_as_its_text():
    # Given an earlier assistant turn that refused, sent back as a refusal content part
    params = convert(
        messages=[
            {"role": "user", "content": "Help me pick a lock."},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help with that."}]},
            {"role": "user", "content": "Then a safe instead?"},
        ]
    )
    # Then the model sees what it said, as the assistant's turn
    assert params["messages"][1] == {"role": "assistant", "content": [{"text": "I can't help with that."}]}


METADATA_ALPHABET = "Converse's requestMetadata allows only letters, digits, spaces and :_@$#=/+,-. characters."


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"metadata": {"team": "search!"}, "user": "u-42"}, "metadata.team"),
        ({"metadata": {"team!": "search"}}, "metadata.team!"),
        ({"metadata": {"team": "search"}, "user": "alice<admin>"}, "user"),
        ({"metadata": {"user": "alice<admin>"}}, "metadata.user"),
    ],
)
def test_metadata_converse_cannot_log_is_a_400_naming_the_field_as_sent(fields, param):
    # Given metadata or a user with characters Converse's requestMetadata refuses (OpenAI accepts them)
    request = parse_chat_request({"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields})
    # When it is converted
    with pytest.raises(GatewayError) as raised:
        to_converse_request(request, MODEL_ID, None)
    # Then the 400 names the field the client sent and says which characters Converse keeps
    assert (raised.value.status, raised.value.param) == (400, param)
    assert raised.value.message == METADATA_ALPHABET


@pytest.mark.parametrize("fields", [{"logprobs": True}, {"logprobs": True, "top_logprobs": 2}])
def test_log_probabilities_on_the_converse_route_are_a_400_pointing_to_invoke(fields):
    # Given a request asking for log probabilities, which Converse never returns
    request = parse_chat_request({"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields})
    # When it is converted for Converse
    with pytest.raises(GatewayError) as raised:
        to_converse_request(request, MODEL_ID, None)
    # Then the client is told to use the InvokeModel base URL instead of silently getting none
    assert (raised.value.status, raised.value.param) == (400, "logprobs")
    assert raised.value.message == (
        "'logprobs' is not available through Converse (it returns no log probabilities); "
        "use the InvokeModel base URL (/v1) instead."
    )
    # And asking for none is fine
    assert "additionalModelRequestFields" not in convert(messages=[{"role": "user", "content": "hi"}], logprobs=False)
