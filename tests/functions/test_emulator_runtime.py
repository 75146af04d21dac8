"""The Bedrock emulator speaks bedrock-runtime well enough for unmodified boto3: output, streams, faults, guardrails."""

import json
import time
from collections.abc import Iterator

import boto3
import httpx
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from local.emulator.server import EmulatorServer

MODEL = "openai.gpt-oss-20b-1:0"
GUARDRAIL = {"guardrailIdentifier": "gr123", "guardrailVersion": "1", "trace": "enabled"}
WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather for a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer"},
                },
                "required": ["city", "unit"],
            }
        },
    }
}
OPENAI_WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": WEATHER_TOOL["toolSpec"]["inputSchema"]["json"]},
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, chunk_delay=0.0) as emu:
        yield emu


@pytest.fixture
def emu(emulator: EmulatorServer) -> EmulatorServer:
    httpx.post(f"{emulator.url}/_emulator/reset")
    return emulator


def _client(emu: EmulatorServer, attempts: int = 1) -> BaseClient:
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return boto3.client("bedrock-runtime", endpoint_url=emu.url, region_name="us-west-2", config=config)


@pytest.fixture
def client(emu: EmulatorServer) -> BaseClient:
    return _client(emu)


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"text": text}]}]


def _invoke(client: BaseClient, body: dict, **kwargs: str) -> dict:
    response = client.invoke_model(modelId=MODEL, body=json.dumps(body), **kwargs)
    return json.loads(response["body"].read())


def _invoke_chunks(client: BaseClient, body: dict, **kwargs: str) -> list[dict]:
    response = client.invoke_model_with_response_stream(modelId=MODEL, body=json.dumps(body), **kwargs)
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


def _content_of(chunks: list[dict]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


# --- Converse -------------------------------------------------------------------------------------------------------


def test_converse_returns_reasoning_then_marked_text(client: BaseClient) -> None:
    # Given a plain question
    # When Converse is called
    response = client.converse(modelId=MODEL, messages=_user("What is the capital of France?"))

    # Then the message holds a reasoningContent block and then a text block marked as emulated
    reasoning, text = response["output"]["message"]["content"]
    assert reasoning["reasoningContent"]["reasoningText"]["text"]
    assert "[emulated]" in text["text"]
    assert response["stopReason"] == "end_turn"
    usage = response["usage"]
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert response["metrics"]["latencyMs"] >= 1


def test_same_request_gives_same_answer_and_different_requests_differ(client: BaseClient) -> None:
    # Given two identical requests and a different one
    first = client.converse(modelId=MODEL, messages=_user("Tell me about tides"))
    second = client.converse(modelId=MODEL, messages=_user("Tell me about tides"))
    other = client.converse(modelId=MODEL, messages=_user("Tell me about volcanoes"))

    # Then identical requests get identical output, and a different prompt a different one
    assert first["output"] == second["output"]
    assert first["output"] != other["output"]


def test_converse_stream_emits_the_same_answer_incrementally(client: BaseClient) -> None:
    # Given the same prompt sent to Converse and ConverseStream
    messages = _user("Explain rainbows")
    whole = client.converse(modelId=MODEL, messages=messages)

    # When streamed
    events = list(client.converse_stream(modelId=MODEL, messages=messages)["stream"])

    # Then the event sequence has Bedrock's shape and the deltas rebuild the same reasoning and text
    names = [next(iter(event)) for event in events]
    assert names[0] == "messageStart" and names[-2:] == ["messageStop", "metadata"]
    deltas = [e["contentBlockDelta"] for e in events if "contentBlockDelta" in e]
    reasoning = "".join(d["delta"]["reasoningContent"]["text"] for d in deltas if d["contentBlockIndex"] == 0)
    text = "".join(d["delta"]["text"] for d in deltas if d["contentBlockIndex"] == 1)
    expected_reasoning, expected_text = whole["output"]["message"]["content"]
    assert reasoning == expected_reasoning["reasoningContent"]["reasoningText"]["text"]
    assert text == expected_text["text"]
    assert len(deltas) > 5
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"] == whole["usage"]


def test_converse_honours_max_tokens(client: BaseClient) -> None:
    # Given a tiny output budget
    response = client.converse(modelId=MODEL, messages=_user("Write an essay"), inferenceConfig={"maxTokens": 12})

    # Then the answer is cut, still marked, and reported as max_tokens
    assert response["stopReason"] == "max_tokens"
    assert response["usage"]["outputTokens"] == 12
    assert "[emulated]" in response["output"]["message"]["content"][1]["text"]


def test_converse_calls_a_named_tool_with_schema_arguments(client: BaseClient) -> None:
    # Given a tool offered and a prompt naming it
    response = client.converse(
        modelId=MODEL,
        messages=_user("Use get_weather for Paris please"),
        toolConfig={"tools": [WEATHER_TOOL]},
    )

    # Then the model answers with a toolUse carrying the required properties
    assert response["stopReason"] == "tool_use"
    tool_use = response["output"]["message"]["content"][-1]["toolUse"]
    assert tool_use["name"] == "get_weather"
    assert set(tool_use["input"]) == {"city", "unit"}
    assert tool_use["input"]["unit"] == "celsius"


def test_converse_answers_from_a_tool_result(client: BaseClient) -> None:
    # Given a tool round-trip in the history
    first = client.converse(modelId=MODEL, messages=_user("call the tool"), toolConfig={"tools": [WEATHER_TOOL]})
    tool_use = first["output"]["message"]["content"][-1]["toolUse"]
    result = {"toolResult": {"toolUseId": tool_use["toolUseId"], "content": [{"json": {"temperature": 21}}]}}
    messages = [*_user("call the tool"), first["output"]["message"], {"role": "user", "content": [result]}]

    # When the conversation continues
    response = client.converse(modelId=MODEL, messages=messages, toolConfig={"tools": [WEATHER_TOOL]})

    # Then the model answers in text using the result
    assert response["stopReason"] == "end_turn"
    text = response["output"]["message"]["content"][-1]["text"]
    assert "temperature" in text and "[emulated]" in text


def test_converse_stream_streams_a_tool_call(client: BaseClient) -> None:
    # Given a prompt asking for a tool
    stream = client.converse_stream(modelId=MODEL, messages=_user("use a tool"), toolConfig={"tools": [WEATHER_TOOL]})[
        "stream"
    ]

    # When the events are read
    events = list(stream)

    # Then a toolUse block starts, its input arrives as JSON fragments, and the stop reason is tool_use
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_weather"
    fragments = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "toolUse" in e.get("contentBlockDelta", {}).get("delta", {})
    ]
    assert json.loads("".join(fragments))["city"]
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


@pytest.mark.parametrize(
    ("messages", "kwargs", "message"),
    [
        ([{"role": "assistant", "content": [{"text": "hi"}]}], {}, "must start with a user message"),
        ([*_user("a"), *_user("b")], {}, "must alternate between user and assistant"),
        (
            [
                *_user("a"),
                {
                    "role": "assistant",
                    "content": [{"reasoningContent": {"reasoningText": {"text": "x", "signature": "s"}}}],
                },
                *_user("b"),
            ],
            {},
            "reasoningContent.reasoningText.signature",
        ),
        (
            [
                *_user("a"),
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}]},
                {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "ok"}]}}]},
            ],
            {},
            "toolConfig field must be defined",
        ),
    ],
    ids=["starts-with-assistant", "not-alternating", "signature-replay", "tool-blocks-without-toolconfig"],
)
def test_converse_rejects_what_bedrock_rejects(client: BaseClient, messages: list, kwargs: dict, message: str) -> None:
    # Given a conversation Bedrock refuses, When sent, Then a ValidationException with Bedrock's wording comes back
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL, messages=messages, **kwargs)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message in caught.value.response["Error"]["Message"]


def test_unknown_model_is_a_validation_exception(client: BaseClient) -> None:
    # Given a model id Bedrock does not know
    with pytest.raises(ClientError) as caught:
        client.converse(modelId="openai.gpt-oss-999b-1:0", messages=_user("hi"))

    # Then Bedrock's invalid-model error comes back
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"] == "The provided model identifier is invalid."


def test_foundation_model_arn_is_accepted(client: BaseClient) -> None:
    # Given the model's foundation-model ARN instead of its id
    arn = f"arn:aws:bedrock:us-west-2::foundation-model/{MODEL}"

    # Then the call works like with the bare id
    assert client.converse(modelId=arn, messages=_user("hi"))["stopReason"] == "end_turn"


# --- InvokeModel ----------------------------------------------------------------------------------------------------


def test_invoke_returns_chat_completion_with_leading_reasoning(client: BaseClient) -> None:
    # Given an OpenAI chat body
    body = _invoke(client, {"messages": [{"role": "user", "content": "What is 2+2?"}], "max_completion_tokens": 500})

    # Then the response is a chat.completion whose content starts with the reasoning tags
    assert body["object"] == "chat.completion" and body["model"] == MODEL
    choice = body["choices"][0]
    content = choice["message"]["content"]
    assert content.startswith("<reasoning>") and "</reasoning>" in content
    assert "[emulated]" in content.split("</reasoning>", 1)[1]
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_invoke_stream_splits_reasoning_tags_across_chunks(client: BaseClient) -> None:
    # Given a chat body for the streaming operation
    request = {"messages": [{"role": "user", "content": "Explain gravity"}]}
    whole = _invoke(client, request)["choices"][0]["message"]["content"]

    # When streamed
    chunks = _invoke_chunks(client, request)

    # Then chunk contents rebuild the same content, and no single chunk holds a whole tag
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    pieces = [c["choices"][0]["delta"].get("content") or "" for c in chunks]
    assert "".join(pieces) == whole
    assert not any("<reasoning>" in p or "</reasoning>" in p for p in pieces)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in chunks[-1]
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] > 0


def test_invoke_stream_adds_usage_chunk_when_asked(client: BaseClient) -> None:
    # Given stream_options.include_usage
    request = {"messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": True}}

    # When streamed
    chunks = _invoke_chunks(client, request)

    # Then the last chunk has no choices and carries the usage
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_invoke_honours_max_completion_tokens(client: BaseClient) -> None:
    # Given a tiny budget
    body = _invoke(client, {"messages": [{"role": "user", "content": "Write a poem"}], "max_completion_tokens": 10})

    # Then finish_reason is length and completion tokens match the budget
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 10


def test_invoke_tool_call_and_tool_result_round_trip(client: BaseClient) -> None:
    # Given a tool offered and a prompt naming it
    messages = [{"role": "user", "content": "What's the weather? use get_weather"}]
    first = _invoke(client, {"messages": messages, "tools": [OPENAI_WEATHER_TOOL]})

    # Then the model calls it with JSON arguments
    choice = first["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"])["unit"] == "celsius"

    # When the tool result is sent back
    messages += [choice["message"], {"role": "tool", "tool_call_id": call["id"], "content": '{"temperature": 21}'}]
    second = _invoke(client, {"messages": messages, "tools": [OPENAI_WEATHER_TOOL]})

    # Then the model answers in text using it
    assert second["choices"][0]["finish_reason"] == "stop"
    assert "temperature" in second["choices"][0]["message"]["content"]


def test_invoke_tool_choice_none_prevents_calls(client: BaseClient) -> None:
    # Given tool_choice none with a prompt that would call a tool
    body = {"messages": [{"role": "user", "content": "use get_weather"}], "tools": [OPENAI_WEATHER_TOOL]}
    body["tool_choice"] = "none"

    # Then the model answers in text
    assert _invoke(client, body)["choices"][0]["finish_reason"] == "stop"


def test_invoke_stream_streams_tool_call_fragments(client: BaseClient) -> None:
    # Given a streamed request asking for a tool
    request = {"messages": [{"role": "user", "content": "use the tool"}], "tools": [OPENAI_WEATHER_TOOL]}

    # When streamed
    chunks = _invoke_chunks(client, request)

    # Then tool_calls deltas carry the id and name once and the arguments in fragments
    calls = [
        d["tool_calls"][0] for c in chunks if c["choices"] for d in [c["choices"][0]["delta"]] if "tool_calls" in d
    ]
    assert calls[0]["id"] and calls[0]["function"]["name"] == "get_weather"
    assert json.loads("".join(c["function"]["arguments"] for c in calls))["city"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": [{"role": "user", "content": "hi"}], "stream": True}, "stream"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"1": 2}}, "logit_bias"),
        ({"messages": [{"role": "user", "content": "hi"}], "model": "openai.gpt-oss-120b-1:0"}, "model"),
    ],
    ids=["stream-true", "empty-messages", "logit-bias", "model-mismatch"],
)
def test_invoke_rejects_invalid_bodies(client: BaseClient, body: dict, message: str) -> None:
    # Given a body Bedrock refuses, When invoked, Then a ValidationException naming the problem
    with pytest.raises(ClientError) as caught:
        _invoke(client, body)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]


# --- Faults ---------------------------------------------------------------------------------------------------------

FAULTS = [
    ("ValidationException", 400),
    ("AccessDeniedException", 403),
    ("ResourceNotFoundException", 404),
    ("ModelTimeoutException", 408),
    ("ModelErrorException", 424),
    ("ModelNotReadyException", 429),
    ("ThrottlingException", 429),
    ("ServiceQuotaExceededException", 400),
    ("InternalServerException", 500),
    ("ServiceUnavailableException", 503),
]


@pytest.mark.parametrize(("code", "status"), FAULTS)
def test_fault_directive_raises_that_exception_on_every_operation(client: BaseClient, code: str, status: int) -> None:
    # Given a prompt carrying a fault directive
    text = f"hello [fault:{code}]"
    calls = [
        lambda: client.converse(modelId=MODEL, messages=_user(text)),
        lambda: client.converse_stream(modelId=MODEL, messages=_user(text)),
        lambda: _invoke(client, {"messages": [{"role": "user", "content": text}]}),
        lambda: _invoke_chunks(client, {"messages": [{"role": "user", "content": text}]}),
    ]
    for call in calls:
        # When each operation is called, Then botocore raises the right error code with Bedrock's status
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == code
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_context_length_fault_uses_bedrocks_too_long_message(client: BaseClient) -> None:
    # Given the context_length directive
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL, messages=_user("[fault:context_length]"))

    # Then it is a ValidationException about input length
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Input is too long" in caught.value.response["Error"]["Message"]


def test_midstream_fault_breaks_both_streams_after_they_started(client: BaseClient) -> None:
    # Given the midstream directive on ConverseStream
    received = []
    with pytest.raises(EventStreamError) as caught:
        received.extend(client.converse_stream(modelId=MODEL, messages=_user("go [fault:midstream]"))["stream"])

    # Then some events arrived before a modelStreamErrorException
    assert received and "messageStart" in received[0]
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"

    # And InvokeModelWithResponseStream breaks the same way, with a chosen exception
    chunks = []
    body = {"messages": [{"role": "user", "content": "go [fault:midstream:ThrottlingException]"}]}
    response = client.invoke_model_with_response_stream(modelId=MODEL, body=json.dumps(body))
    with pytest.raises(EventStreamError) as caught:
        chunks.extend(response["body"])
    assert chunks
    assert caught.value.response["Error"]["Code"] == "throttlingException"


def test_fault_once_fails_only_the_first_attempt(emu: EmulatorServer) -> None:
    # Given a client that retries once, and a request that fails once
    client = _client(emu, attempts=2)

    # When called
    response = client.converse(modelId=MODEL, messages=_user("hi [fault-once:ThrottlingException]"))

    # Then the retry succeeds, and the emulator saw two calls
    assert response["stopReason"] == "end_turn"
    assert [c["operation"] for c in httpx.get(f"{emu.url}/_emulator/calls").json()["calls"]] == ["Converse"] * 2

    # And a client without retries sees the throttle for a new request
    with pytest.raises(ClientError) as caught:
        _client(emu).converse(modelId=MODEL, messages=_user("other [fault-once:ThrottlingException]"))
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"


def test_queued_faults_hit_the_next_calls_then_stop(emu: EmulatorServer, client: BaseClient) -> None:
    # Given two throttles queued through the admin API
    reply = httpx.post(f"{emu.url}/_emulator/faults", json={"fault": "ThrottlingException", "count": 2})
    assert reply.status_code == 200

    # When three calls are made
    outcomes = []
    for _ in range(3):
        try:
            client.converse(modelId=MODEL, messages=_user("hi"))
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    # Then the first two are throttled and the third succeeds
    assert outcomes == ["ThrottlingException", "ThrottlingException", "ok"]


def test_admin_rejects_unknown_fault(emu: EmulatorServer) -> None:
    # Given an unknown fault name, When queued, Then the admin API refuses it
    assert httpx.post(f"{emu.url}/_emulator/faults", json={"fault": "Nope"}).status_code == 400


def test_calls_record_operation_model_and_guardrail(emu: EmulatorServer, client: BaseClient) -> None:
    # Given calls on two operations, one with a guardrail
    client.converse(modelId=MODEL, messages=_user("hi"), guardrailConfig=GUARDRAIL)
    _invoke(client, {"messages": [{"role": "user", "content": "hi"}]}, guardrailIdentifier="g1", guardrailVersion="2")

    # When the calls are listed
    calls = httpx.get(f"{emu.url}/_emulator/calls").json()["calls"]

    # Then each names its operation and model, and what guardrail it carried
    assert [(c["operation"], c["modelId"]) for c in calls] == [("Converse", MODEL), ("InvokeModel", MODEL)]
    assert calls[0]["body"]["guardrailConfig"]["guardrailIdentifier"] == "gr123"
    assert calls[1]["guardrail"] == {"identifier": "g1", "version": "2", "trace": ""}

    # And reset clears them
    httpx.post(f"{emu.url}/_emulator/reset")
    assert httpx.get(f"{emu.url}/_emulator/calls").json()["calls"] == []


def test_slow_first_token_delays_the_first_event(client: BaseClient) -> None:
    # Given a slow-first-token directive
    started = time.monotonic()
    stream = client.converse_stream(modelId=MODEL, messages=_user("hi [slow-first-token:0.3]"))["stream"]

    # When the first event is read
    next(iter(stream))

    # Then it took at least that long
    assert time.monotonic() - started >= 0.3


def test_chunk_delay_paces_stream_events() -> None:
    # Given an emulator with a per-event delay
    with EmulatorServer(port=0, chunk_delay=0.01) as slow:
        client = _client(slow)
        started = time.monotonic()

        # When a stream is read to the end
        events = list(client.converse_stream(modelId=MODEL, messages=_user("hi"))["stream"])

    # Then it took about one delay per event
    assert time.monotonic() - started >= 0.01 * (len(events) - 1)


# --- Guardrails -----------------------------------------------------------------------------------------------------


def test_converse_guardrail_block_intervenes_with_trace(client: BaseClient) -> None:
    # Given a guardrail and a prompt it blocks
    response = client.converse(modelId=MODEL, messages=_user("bad [guardrail:block]"), guardrailConfig=GUARDRAIL)

    # Then the blocked message replaces the answer, with the stop reason and a trace
    assert response["stopReason"] == "guardrail_intervened"
    assert response["output"]["message"]["content"] == [
        {"text": "Sorry, the model cannot answer this question. [emulated]"}
    ]
    assert response["trace"]["guardrail"]["inputAssessment"]


def test_converse_stream_guardrail_block(client: BaseClient) -> None:
    # Given a guardrail and a blocked prompt on the stream
    events = list(
        client.converse_stream(modelId=MODEL, messages=_user("[guardrail:block]"), guardrailConfig=GUARDRAIL)["stream"]
    )

    # Then the stream carries the blocked text and stops with guardrail_intervened
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text == "Sorry, the model cannot answer this question. [emulated]"
    assert events[-2]["messageStop"]["stopReason"] == "guardrail_intervened"
    assert "guardrail" in events[-1]["metadata"]["trace"]


def test_block_directive_without_guardrail_is_answered(client: BaseClient) -> None:
    # Given no guardrail configured, Then the directive has no effect
    response = client.converse(modelId=MODEL, messages=_user("[guardrail:block]"))
    assert response["stopReason"] == "end_turn"


def test_invoke_guardrail_headers_give_action_and_trace(client: BaseClient) -> None:
    # Given guardrail headers with trace, on a blocked and an allowed prompt
    headers = {"guardrailIdentifier": "gr123", "guardrailVersion": "1", "trace": "ENABLED"}
    blocked = _invoke(client, {"messages": [{"role": "user", "content": "[guardrail:block]"}]}, **headers)
    allowed = _invoke(client, {"messages": [{"role": "user", "content": "hello"}]}, **headers)

    # Then the blocked one carries the blocked message and INTERVENED, the allowed one NONE
    assert blocked["choices"][0]["message"]["content"] == "Sorry, the model cannot answer this question. [emulated]"
    assert blocked["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert blocked["amazon-bedrock-trace"]["guardrail"]
    assert allowed["amazon-bedrock-guardrailAction"] == "NONE"
    assert allowed["choices"][0]["message"]["content"].startswith("<reasoning>")


def test_invoke_stream_guardrail_block(client: BaseClient) -> None:
    # Given guardrail headers and a blocked prompt on the stream
    chunks = _invoke_chunks(
        client,
        {"messages": [{"role": "user", "content": "[guardrail:block]"}]},
        guardrailIdentifier="gr123",
        guardrailVersion="1",
    )

    # Then the chunks spell the blocked message and the last one says INTERVENED
    assert _content_of(chunks) == "Sorry, the model cannot answer this question. [emulated]"
    assert chunks[-1]["amazon-bedrock-guardrailAction"] == "INTERVENED"


def test_apply_guardrail_reports_none_or_intervened(client: BaseClient) -> None:
    # Given a harmless and a blocked text
    def apply(text: str) -> dict:
        return client.apply_guardrail(
            guardrailIdentifier="gr123", guardrailVersion="1", source="INPUT", content=[{"text": {"text": text}}]
        )

    # When each is checked, Then the action and outputs follow
    assert apply("hello")["action"] == "NONE"
    blocked = apply("x [guardrail:block]")
    assert blocked["action"] == "GUARDRAIL_INTERVENED"
    assert blocked["outputs"] == [{"text": "Sorry, the model cannot answer this question. [emulated]"}]


def test_reasoning_effort_changes_reasoning_length(client: BaseClient) -> None:
    # Given the same prompt at low and high reasoning effort
    def reasoning(effort: str) -> str:
        response = client.converse(
            modelId=MODEL,
            messages=_user("Why is the sky blue?"),
            additionalModelRequestFields={"reasoning_effort": effort},
        )
        return response["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]["text"]

    # Then high effort reasons at more length
    assert len(reasoning("high")) > len(reasoning("low"))


def test_invalid_reasoning_effort_is_rejected(client: BaseClient) -> None:
    # Given a reasoning_effort gpt-oss does not accept, When sent, Then a ValidationException
    with pytest.raises(ClientError) as caught:
        _invoke(client, {"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": 3})
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_guardrail_body_config_without_guardrail_headers_is_rejected(client: BaseClient) -> None:
    # Given an InvokeModel body with guardrail config but no guardrail identifier header
    body = {"messages": [{"role": "user", "content": "hi"}], "amazon-bedrock-guardrailConfig": {"tagSuffix": "x"}}

    # When invoked, Then Bedrock refuses it
    with pytest.raises(ClientError) as caught:
        _invoke(client, body)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_queued_fault_scoped_to_an_operation_spares_model_calls(emu: EmulatorServer, client: BaseClient) -> None:
    # Given a throttle queued for ApplyGuardrail only
    emu.faults.queue("ThrottlingException", 1, operation="ApplyGuardrail")

    # When a model call and then ApplyGuardrail are made
    client.converse(modelId=MODEL, messages=_user("hi"))
    with pytest.raises(ClientError) as caught:
        client.apply_guardrail(
            guardrailIdentifier="g", guardrailVersion="1", source="INPUT", content=[{"text": {"text": "x"}}]
        )

    # Then only ApplyGuardrail was throttled
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"


def test_prompt_over_the_context_window_is_too_long(client: BaseClient) -> None:
    # Given a prompt of about 130k tokens (over gpt-oss's 128k window)
    huge = "word " * 104_000

    # When sent, Then Bedrock's too-long ValidationException comes back
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL, messages=_user(huge))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Input is too long" in caught.value.response["Error"]["Message"]
