"""Answers slower than the proxy's idle limit (API Gateway REST drops a response silent for 5 minutes) are never cut
off without an answer: the gateway commits 200 and sends keep-alive bytes the official SDK reads past.

The gateway here runs with a 1-second idle limit (keep-alive every 0.75 s) and the emulator's slow-first-token
directive stands in for a long high-effort answer, so each case takes seconds instead of minutes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from gateway.endpoint import SSE_KEEPALIVE
from gateway.settings import Settings
from gptoss.models import KNOWN_MODELS

from local.emulator.server import EmulatorServer
from local.server import LocalServer, create_app
from tests.functions.api_helpers import GUARDRAIL, fake_credentials

IDLE_LIMIT = 1.0
THINKING = 2.0  # the model's silence: more than two keep-alive intervals
SLOW = f"[slow-first-token:{THINKING}]"
PREFIXES = pytest.mark.parametrize("prefix", ["/v1", "/converse/v1"], ids=["invoke", "converse"])


@pytest.fixture(scope="module")
def patient_gateway(emulator: EmulatorServer) -> Iterator[str]:
    settings = Settings(enabled_models=KNOWN_MODELS, guardrail=GUARDRAIL, idle_limit=IDLE_LIMIT)
    with pytest.MonkeyPatch.context() as env, fake_credentials():
        env.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        with LocalServer(create_app(settings=settings, endpoint_url=emulator.url)) as server:
            yield server.url


def chat(text: str, **extra: object) -> dict[str, object]:
    return {"model": "gpt-oss-120b", "messages": [{"role": "user", "content": text}], **extra}


def raw_chunks(url: str, body: dict[str, object]) -> tuple[httpx.Response, list[bytes]]:
    """The response head and its body exactly as the network delivered it, chunk by chunk."""
    with httpx.stream("POST", url, json=body, timeout=30) as response:
        return response, list(response.iter_raw())


@PREFIXES
def test_a_slow_answer_commits_200_early_and_keeps_the_connection_alive(patient_gateway: str, prefix: str) -> None:
    # Given a model that stays silent for more than two keep-alive intervals
    # When a non-streamed chat completion is requested
    response, chunks = raw_chunks(f"{patient_gateway}{prefix}/chat/completions", chat(f"Explain {SLOW}"))
    # Then status 200 and the first bytes left before the answer existed: whitespace chunks, then the JSON
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = b"".join(chunks)
    assert chunks[0].isspace(), chunks[:3]
    leading = len(body) - len(body.lstrip())
    assert leading >= 2, body[:20]  # at least two keep-alive bytes while the model was silent
    # And the rest is the complete chat.completion, which any JSON parser reads past the leading whitespace
    completion = json.loads(body)
    assert completion["object"] == "chat.completion"
    assert "[emulated]" in completion["choices"][0]["message"]["content"]


@PREFIXES
def test_the_official_sdk_reads_a_held_answer_as_a_normal_completion(patient_gateway: str, prefix: str) -> None:
    # Given the official SDK, unchanged
    client = openai.OpenAI(base_url=patient_gateway + prefix, api_key="k", max_retries=0)
    # When it asks for a non-streamed answer that takes longer than the idle limit
    raw = client.chat.completions.with_raw_response.create(**chat(f"Explain {SLOW}"))  # type: ignore[call-overload]
    assert raw.status_code == 200 and raw.http_response.content.startswith(b"  ")
    reply = raw.parse()
    # Then it gets its ChatCompletion, reasoning and guardrail verdict included
    assert reply.choices[0].finish_reason == "stop"
    assert "[emulated]" in (reply.choices[0].message.content or "")
    assert reply.choices[0].message.reasoning_content  # type: ignore[attr-defined]
    assert reply.guardrail["action"] == "NONE"  # type: ignore[attr-defined]


@PREFIXES
def test_a_failure_after_the_status_was_committed_is_an_openai_error_body(patient_gateway: str, prefix: str) -> None:
    # Given a model that thinks for longer than the idle limit and then times out
    client = openai.OpenAI(base_url=patient_gateway + prefix, api_key="k", max_retries=0)
    text = f"Explain {SLOW} [fault:ModelTimeoutException]"
    # When the SDK asks for the answer
    raw = client.chat.completions.with_raw_response.create(**chat(text))  # type: ignore[call-overload]
    # Then the status was already 200, and the body is the OpenAI error object the 504 would have carried
    assert raw.status_code == 200
    error = json.loads(raw.http_response.content)["error"]
    assert (error["type"], error["code"]) == ("api_error", "timeout")
    assert error["message"].startswith("The model timed out")
    # And the SDK hands the error object back instead of a completion: `choices` is None, `error` says why
    reply = raw.parse()
    assert reply.choices is None
    assert reply.model_extra["error"] == error


@PREFIXES
def test_a_fast_failure_keeps_its_own_status(patient_gateway: str, prefix: str) -> None:
    # Given the same short idle limit, When Bedrock refuses at once
    client = openai.OpenAI(base_url=patient_gateway + prefix, api_key="k", max_retries=0)
    # Then nothing was committed: the SDK raises its own exception for the real status
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**chat("Hi [fault:context_length]"))  # type: ignore[call-overload]
    assert raised.value.code == "context_length_exceeded"


@PREFIXES
def test_a_stream_slow_to_start_sends_sse_comments_the_sdk_ignores(patient_gateway: str, prefix: str) -> None:
    # Given a streamed request whose first token is slower than the idle limit
    body = chat(f"Explain {SLOW}", stream=True)
    # When read raw, Then the stream opens with keep-alive comments, then the chunks and [DONE]
    response, chunks = raw_chunks(f"{patient_gateway}{prefix}/chat/completions", body)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = b"".join(chunks)
    assert events.startswith(SSE_KEEPALIVE * 2) and events.endswith(b"data: [DONE]\n\n")


@PREFIXES
def test_a_stream_failing_after_keep_alives_raises_in_the_sdk(patient_gateway: str, prefix: str) -> None:
    # Given a streamed request whose model is silent past the idle limit, then unavailable
    client = openai.OpenAI(base_url=patient_gateway + prefix, api_key="k", max_retries=0)
    failing = chat(f"Explain {SLOW} [fault:ServiceUnavailableException]", stream=True)
    # When the SDK iterates it, Then it reads past the keep-alive comments and raises the SSE error event
    with pytest.raises(openai.APIError, match="navailable"):
        for _ in client.chat.completions.create(**failing):  # type: ignore[call-overload]
            pass


def test_the_native_converse_route_is_held_too(patient_gateway: str) -> None:
    # Given a native Converse body for a slow model
    body = {"messages": [{"role": "user", "content": [{"text": f"Explain {SLOW}"}]}]}
    # When posted to /model/{modelId}/converse
    response, chunks = raw_chunks(f"{patient_gateway}/model/openai.gpt-oss-20b-1:0/converse", body)
    # Then it was kept alive and ends with the Converse response
    assert response.status_code == 200 and chunks[0].isspace()
    assert json.loads(b"".join(chunks))["stopReason"] == "end_turn"
