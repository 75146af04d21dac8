"""Both chat routes (InvokeModel and Converse) against the Bedrock emulator over real HTTP: streams, tools, faults,
guardrail interventions and retry behaviour. (Stubber cannot stub event streams; the emulator speaks the wire format.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import chat_api
import converse_api
import httpx
import pytest
from starlette.testclient import TestClient

from local.emulator.server import EmulatorServer
from tests.api_contract import assert_chunks, assert_openai_error, assert_schema, joined, sse_events
from tests.functions.api_helpers import SETTINGS, fake_credentials

CHAT = "/v1/chat/completions"
CONVERSE = "/converse/v1/chat/completions"
ROUTES = [CHAT, CONVERSE]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, chunk_delay=0.0) as server:
        yield server


@pytest.fixture(scope="module")
def http(emulator: EmulatorServer) -> Iterator[dict[str, TestClient]]:
    """One TestClient per route, each app with its own Bedrock client pointed at the emulator."""
    with fake_credentials():
        chat = TestClient(chat_api.create_app(settings=SETTINGS, endpoint_url=emulator.url))
        converse = TestClient(converse_api.create_app(settings=SETTINGS, endpoint_url=emulator.url))
        with chat, converse:
            yield {CHAT: chat, CONVERSE: converse}


@pytest.fixture(autouse=True)
def _fresh_emulator(emulator: EmulatorServer) -> None:
    emulator.faults.reset()


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-oss-20b", "messages": [{"role": "user", "content": text}], **extra}


def finish_reasons(chunks: list[dict[str, Any]]) -> list[str]:
    return [choice["finish_reason"] for chunk in chunks for choice in chunk["choices"] if choice.get("finish_reason")]


def post(http: dict[str, TestClient], route: str, body: dict[str, Any]) -> httpx.Response:
    return http[route].post(route, json=body)


@pytest.mark.parametrize("route", ROUTES)
def test_plain_completion_has_reasoning_apart_from_the_answer(http: dict[str, TestClient], route: str) -> None:
    # Given the emulated model, When the client asks a question
    response = post(http, route, ask("What is the capital of Norway?"))
    # Then the answer is marked as emulated and the reasoning is only in reasoning_content
    assert response.status_code == 200, response.text
    completion = response.json()
    assert_schema("ChatCompletion", completion)
    message = completion["choices"][0]["message"]
    assert "[emulated]" in message["content"]
    assert message["reasoning_content"]
    assert "<reasoning>" not in message["content"]
    assert completion["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_yields_reasoning_then_content_then_finish(
    http: dict[str, TestClient], route: str, include_usage: bool
) -> None:
    # Given a streaming request, with or without usage
    body = ask("Tell me about fjords", stream=True, stream_options={"include_usage": include_usage})
    # When it is sent
    response = post(http, route, body)
    # Then it is an SSE stream of schema-valid chunks ending in [DONE]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = assert_chunks(sse_events(response.text))
    # And reasoning streams as reasoning_content, never inside content
    assert joined(chunks, "reasoning_content")
    content = joined(chunks, "content")
    assert "[emulated]" in content
    assert "reasoning>" not in content
    finishes = [
        choice["finish_reason"] for chunk in chunks for choice in chunk["choices"] if choice.get("finish_reason")
    ]
    assert finishes == ["stop"]
    # And usage is sent once, at the end, only when asked for
    usage = [chunk["usage"] for chunk in chunks if chunk.get("usage")]
    if include_usage:
        assert len(usage) == 1
        assert chunks[-1]["usage"]["total_tokens"] > 0
        assert chunks[-1]["choices"] == []
    else:
        assert usage == []


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_round_trip(http: dict[str, TestClient], route: str, stream: bool) -> None:
    # Given tools offered and a prompt that needs one
    first = post(http, route, ask("Use the tool get_weather for Oslo", tools=[WEATHER_TOOL], stream=stream))
    assert first.status_code == 200, first.text
    # When the model answers
    if stream:
        chunks = assert_chunks(sse_events(first.text))
        deltas = [
            call for chunk in chunks for choice in chunk["choices"] for call in choice["delta"].get("tool_calls", [])
        ]
        assert {delta["index"] for delta in deltas} == {0}
        call = {
            "id": next(delta["id"] for delta in deltas if delta.get("id")),
            "type": "function",
            "function": {
                "name": next(delta["function"]["name"] for delta in deltas if delta["function"].get("name")),
                "arguments": "".join(delta["function"].get("arguments", "") for delta in deltas),
            },
        }
        finish = [
            choice["finish_reason"] for chunk in chunks for choice in chunk["choices"] if choice.get("finish_reason")
        ]
    else:
        choice = first.json()["choices"][0]
        call = choice["message"]["tool_calls"][0]
        finish = [choice["finish_reason"]]
    # Then it is a tool call with JSON arguments, finish_reason tool_calls
    assert finish == ["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    # And the tool result goes back in and produces a final answer
    history = [
        {"role": "user", "content": "Use the tool get_weather for Oslo"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": '{"temperature_c": 4}'},
    ]
    second = post(http, route, {"model": "gpt-oss-20b", "messages": history, "tools": [WEATHER_TOOL]})
    assert second.status_code == 200, second.text
    assert second.json()["choices"][0]["finish_reason"] == "stop"
    assert second.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("ThrottlingException", 429, "rate_limit_exceeded"),
        ("context_length", 400, "context_length_exceeded"),
        ("ValidationException", 400, None),
        ("AccessDeniedException", 403, None),
        ("ResourceNotFoundException", 404, "model_not_found"),
        ("ModelTimeoutException", 504, None),
        ("ServiceUnavailableException", 503, None),
        ("ModelNotReadyException", 503, None),
        ("ModelErrorException", 502, None),
        ("InternalServerException", 500, None),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_faults_map_to_openai_errors(
    http: dict[str, TestClient], emulator: EmulatorServer, route: str, fault: str, status: int, code: str | None,
    stream: bool,
) -> None:  # fmt: skip
    # Given Bedrock keeps failing with a fault (queued for every attempt the client makes)
    emulator.faults.queue(fault, 5)
    # When the client asks (streaming or not)
    response = post(http, route, ask("Hello", stream=stream))
    # Then it gets the OpenAI error status before any stream starts
    assert_openai_error(response, status, code=code)
    if status == 429:
        assert response.headers["retry-after"] == "1"


@pytest.mark.parametrize("route", ROUTES)
def test_error_after_stream_started_is_an_sse_error_then_done(http: dict[str, TestClient], route: str) -> None:
    # Given the model fails in the middle of its answer
    response = post(http, route, ask("Write a poem [fault:midstream]", stream=True))
    # Then the stream already started (200), carries some chunks, then an OpenAI error event, then [DONE]
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    error = events[-2]
    assert_schema("ErrorResponse", error)
    assert error["error"]["type"] == "api_error"
    assert all("choices" in event for event in events[:-2])
    assert len(events) > 2


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("stream", [False, True])
def test_guardrail_intervention_is_content_filter(http: dict[str, TestClient], route: str, stream: bool) -> None:
    # Given the deployment's guardrail blocks this prompt
    response = post(http, route, ask("Something forbidden [guardrail:block]", stream=stream))
    assert response.status_code == 200, response.text
    # Then the finish reason is content_filter and the guardrail verdict is exposed
    if stream:
        chunks = assert_chunks(sse_events(response.text))
        finishes = finish_reasons(chunks)
        verdicts = [chunk["guardrail"]["action"] for chunk in chunks if chunk.get("guardrail")]
        assert verdicts == ["INTERVENED"]
    else:
        finishes = [response.json()["choices"][0]["finish_reason"]]
        assert response.json()["guardrail"]["action"] == "INTERVENED"
        assert response.headers["x-gptoss-guardrail-action"] == "INTERVENED"
    assert finishes == ["content_filter"]


@pytest.mark.parametrize("route", ROUTES)
def test_every_model_call_carries_the_guardrail(
    http: dict[str, TestClient], emulator: EmulatorServer, route: str
) -> None:
    # Given a guarded deployment, When the client streams and does not stream
    post(http, route, ask("one"))
    post(http, route, ask("two", stream=True))
    # Then both Bedrock calls carried the guardrail
    calls = emulator.faults.calls()
    assert len(calls) == 2
    for call in calls:
        guardrail = call["guardrail"] or (call["body"] or {}).get("guardrailConfig")
        assert guardrail, call
        assert "gr-test123" in str(guardrail)


@pytest.mark.parametrize("route", ROUTES)
def test_one_transient_throttle_is_absorbed_by_a_retry(
    http: dict[str, TestClient], emulator: EmulatorServer, route: str
) -> None:
    # Given Bedrock throttles only the first attempt of this request
    body = ask(f"Retry me {route} [fault-once:ThrottlingException]")
    # When the client asks
    response = post(http, route, body)
    # Then the retry absorbed it: a normal answer, after two Bedrock attempts
    assert response.status_code == 200, response.text
    assert len(emulator.faults.calls()) == 2


@pytest.mark.parametrize("route", ROUTES)
def test_persistent_throttling_surfaces_as_429_quickly(
    http: dict[str, TestClient], emulator: EmulatorServer, route: str
) -> None:
    # Given Bedrock throttles every attempt
    started = time.monotonic()
    # When the client asks
    response = post(http, route, ask("Always throttled [fault:ThrottlingException]"))
    # Then a 429 comes back within about 3 s after a bounded number of attempts (2)
    assert_openai_error(response, 429, type="rate_limit_error")
    assert time.monotonic() - started < 3
    assert len(emulator.faults.calls()) == 2
