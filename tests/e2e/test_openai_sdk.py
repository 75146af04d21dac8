"""The official OpenAI SDK against the local server over real HTTP: both base URLs, every feature and error class."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B

from tests.api_contract import assert_chunks, assert_openai_error, assert_schema, sse_events

HELLO = [{"role": "user", "content": "What is a fjord?"}]
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_plain_completion_keeps_reasoning_out_of_content(client: openai.OpenAI) -> None:
    # Given the SDK, When it asks a question with a short model alias
    completion = client.chat.completions.create(model="gpt-oss-120b", messages=HELLO)
    # Then the answer is plain content and the reasoning is in reasoning_content
    message = completion.choices[0].message
    assert "[emulated]" in (message.content or "")
    assert "<reasoning>" not in (message.content or "")
    assert getattr(message, "reasoning_content", None)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == GPT_OSS_120B
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_streaming_yields_reasoning_deltas_content_and_usage(client: openai.OpenAI) -> None:
    # Given a streaming request that asks for usage
    stream = client.chat.completions.create(
        model="gpt-oss-20b", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    # When the SDK reads it
    chunks = list(stream)
    # Then reasoning arrives as reasoning_content deltas, never in content, then a finish and a usage chunk
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert reasoning
    assert "[emulated]" in content and "reasoning>" not in content
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_tool_call_round_trip(client: openai.OpenAI) -> None:
    # Given a tool and a prompt that needs it
    messages: list[Any] = [{"role": "user", "content": "Use the get_weather tool for Bergen"}]
    # When the model is asked
    first = client.chat.completions.create(model="gpt-oss-20b", messages=messages, tools=[WEATHER_TOOL])
    # Then it calls the tool with JSON arguments
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    json.loads(call.function.arguments)
    # And when the tool result is sent back, the model answers
    messages += [first.choices[0].message.model_dump(exclude_none=True)]
    messages += [{"role": "tool", "tool_call_id": call.id, "content": '{"temperature_c": 7}'}]
    second = client.chat.completions.create(model="gpt-oss-20b", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content


def test_streamed_tool_call_has_indexed_deltas(client: openai.OpenAI) -> None:
    # Given a tool and a prompt that needs it, When the answer is streamed
    chunks = list(
        client.chat.completions.create(
            model="gpt-oss-20b",
            messages=[{"role": "user", "content": "call the tool get_weather for Oslo"}],
            tools=[WEATHER_TOOL],
            stream=True,
        )
    )
    # Then the tool call arrives as deltas with index 0, an id and name first, and arguments that parse as JSON
    deltas = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert deltas and {d.index for d in deltas} == {0}
    assert deltas[0].id and deltas[0].function.name == "get_weather"
    json.loads("".join(d.function.arguments or "" for d in deltas))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    # Given both models enabled, When the SDK lists and retrieves them
    listed = [model.id for model in client.models.list()]
    # Then both ids show, and aliases resolve to the Bedrock id
    assert listed == [GPT_OSS_20B, GPT_OSS_120B]
    assert client.models.retrieve("gpt-oss-20b").id == GPT_OSS_20B
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


@pytest.mark.parametrize(
    ("text", "exception", "status"),
    [
        ("[fault:ThrottlingException]", openai.RateLimitError, 429),
        ("[fault:ServiceQuotaExceededException]", openai.RateLimitError, 429),
        ("[fault:ValidationException]", openai.BadRequestError, 400),
        ("[fault:context_length]", openai.BadRequestError, 400),
        ("[fault:AccessDeniedException]", openai.PermissionDeniedError, 403),
        ("[fault:ResourceNotFoundException]", openai.NotFoundError, 404),
        ("[fault:ModelTimeoutException]", openai.InternalServerError, 504),
        ("[fault:ServiceUnavailableException]", openai.InternalServerError, 503),
        ("[fault:ModelNotReadyException]", openai.InternalServerError, 503),
        ("[fault:ModelErrorException]", openai.InternalServerError, 502),
        ("[fault:InternalServerException]", openai.InternalServerError, 500),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_bedrock_errors_raise_the_sdk_exception(
    client: openai.OpenAI, text: str, exception: type[openai.APIStatusError], status: int, stream: bool
) -> None:
    # Given Bedrock fails this request, When the SDK sends it
    with pytest.raises(exception) as raised:
        client.chat.completions.create(
            model="gpt-oss-20b", messages=[{"role": "user", "content": f"Hi {text}"}], stream=stream
        )
    # Then the SDK raised its own exception class with the status and the OpenAI error body
    assert raised.value.status_code == status
    assert isinstance(raised.value.body, dict) and raised.value.body.get("message")
    if "context_length" in text:
        assert raised.value.code == "context_length_exceeded"
    if status == 429:
        assert raised.value.response.headers["retry-after"] == "1"


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    # Given a model the gateway does not serve, When the SDK asks for it, Then NotFoundError model_not_found
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.code == "model_not_found"


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"n": 2}, "n"), ({"temperature": 9}, "temperature"), ({"messages": []}, "messages")],
)
def test_bad_requests_raise_bad_request_naming_the_param(
    client: openai.OpenAI, extra: dict[str, Any], param: str
) -> None:
    # Given a request the gateway must refuse, When the SDK sends it
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**{"model": "gpt-oss-20b", "messages": HELLO, **extra})
    # Then the error names the parameter
    assert raised.value.param == param


def test_error_mid_stream_raises_while_iterating(client: openai.OpenAI) -> None:
    # Given the model fails after the stream started
    stream = client.chat.completions.create(
        model="gpt-oss-20b", messages=[{"role": "user", "content": "A story [fault:midstream]"}], stream=True
    )
    received = []
    # When the SDK iterates, Then it gets some chunks and then raises the error event as an APIError
    with pytest.raises(openai.APIError):
        for chunk in stream:
            received.append(chunk)
    assert received


@pytest.mark.parametrize("prefix", ["/v1", "/converse/v1"])
def test_raw_responses_match_the_openapi_document(gateway_url: str, prefix: str) -> None:
    # Given plain, streamed and failing requests over raw HTTP
    with httpx.Client(base_url=gateway_url + prefix, timeout=10) as http:
        plain = http.post("/chat/completions", json={"model": "gpt-oss-20b", "messages": HELLO})
        streamed = http.post("/chat/completions", json={"model": "gpt-oss-20b", "messages": HELLO, "stream": True})
        failed = http.post("/chat/completions", json={"model": "gpt-oss-20b", "messages": "nope"})
        models = http.get("/models")
    # Then each body matches its schema in lambdas/shared/openapi.yaml
    assert_schema("ChatCompletion", plain.json())
    assert_chunks(sse_events(streamed.text))
    assert_openai_error(failed, 400, param="messages")
    assert_schema("ModelList", models.json())
    assert plain.headers["x-gptoss-guardrail-action"] == "NONE"


def test_native_converse_route(gateway_url: str) -> None:
    # Given a native Converse body, When it is posted to the Bedrock-shaped path on the local server
    body = {"messages": [{"role": "user", "content": [{"text": "Hello"}]}], "inferenceConfig": {"maxTokens": 64}}
    response = httpx.post(f"{gateway_url}/model/{GPT_OSS_20B}/converse", json=body, timeout=10)
    # Then the native Converse response comes back with reasoning and text blocks
    assert response.status_code == 200, response.text
    native = response.json()
    assert_schema("ConverseResponse", native)
    kinds = [next(iter(block)) for block in native["output"]["message"]["content"]]
    assert "text" in kinds
