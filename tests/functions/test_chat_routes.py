"""What both chat completions routes (InvokeModel: /v1, Converse: /converse/v1) and the native Converse route share:
Bedrock errors as OpenAI errors, the guardrail verdict, and request logs that keep prompts out unless LOG_PROMPTS."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import chat_api
import converse_api
import pytest
from gptoss.models import GPT_OSS_20B
from starlette.testclient import TestClient

from tests.api_contract import assert_openai_error
from tests.functions.api_helpers import (
    ERROR_CASES,
    HELLO,
    ONLY_20B,
    SETTINGS,
    UNREACHABLE_ENDPOINT,
    bedrock_client,
    bedrock_completion,
    converse_reply,
    invoke_response,
    request_logs,
    stubbed,
)

GUARDRAIL_HEADER = "x-gptoss-guardrail-action"
NATIVE_ROUTE = f"/model/{GPT_OSS_20B}/converse"


@dataclasses.dataclass(frozen=True)
class ChatRoute:
    create_app: Callable[..., Any]
    function: str
    operation: str
    path: str
    plain_reply: Callable[[], dict[str, Any]]  # a Bedrock answer that says nothing about a guardrail


INVOKE = ChatRoute(
    chat_api.create_app,
    "chat",
    "invoke_model",
    "/v1/chat/completions",
    lambda: invoke_response(bedrock_completion("Hi")),
)
CONVERSE = ChatRoute(converse_api.create_app, "converse", "converse", "/converse/v1/chat/completions",
                     converse_reply)  # fmt: skip
CHAT_ROUTES = [pytest.param(INVOKE, id="invoke"), pytest.param(CONVERSE, id="converse")]


@pytest.mark.parametrize("route", CHAT_ROUTES)
@pytest.mark.parametrize(("bedrock_code", "bedrock_status", "message", "status", "type_", "code"), ERROR_CASES)
def test_bedrock_errors_become_openai_errors(
    route: ChatRoute, bedrock_code: str, bedrock_status: int, message: str, status: int, type_: str, code: str | None
) -> None:
    # Given the Bedrock call fails with a Bedrock exception
    with stubbed(route.create_app, route.function) as (http, stubber):
        stubber.add_client_error(route.operation, bedrock_code, message, bedrock_status)
        # When the client asks
        response = http.post(route.path, json=HELLO)
    # Then it gets the matching OpenAI error object, never a stack trace (Retry-After on 429)
    error = assert_openai_error(response, status, type=type_, code=code)
    assert "Traceback" not in error["message"]
    if status == 429:
        assert response.headers["retry-after"] == "1"


@pytest.mark.parametrize("route", CHAT_ROUTES)
def test_with_a_guardrail_configured_every_completion_carries_the_verdict(route: ChatRoute) -> None:
    # Given a guarded deployment, and Bedrock answers without mentioning the guardrail (it did not intervene)
    with stubbed(route.create_app, route.function) as (http, stubber):
        stubber.add_response(route.operation, route.plain_reply())
        # When the client asks
        response = http.post(route.path, json=HELLO)
    # Then the completion still says the guardrail let it through, in the field and in the header
    assert response.status_code == 200, response.text
    assert response.json()["guardrail"] == {"action": "NONE", "trace": {}}
    assert response.headers[GUARDRAIL_HEADER] == "NONE"


@pytest.mark.parametrize("route", CHAT_ROUTES)
def test_without_a_guardrail_there_is_no_verdict(route: ChatRoute) -> None:
    # Given a deployment without a guardrail
    with stubbed(route.create_app, route.function, ONLY_20B) as (http, stubber):
        stubber.add_response(route.operation, route.plain_reply())
        # When the client asks
        response = http.post(route.path, json=HELLO)
    # Then neither the guardrail field nor the header appears
    assert response.status_code == 200, response.text
    assert "guardrail" not in response.json()
    assert GUARDRAIL_HEADER not in response.headers


@pytest.mark.parametrize(("settings", "header"), [(SETTINGS, "NONE"), (ONLY_20B, None)], ids=["guarded", "unguarded"])
def test_native_converse_carries_the_verdict_only_when_a_guardrail_is_configured(
    settings: Any, header: str | None
) -> None:
    # Given a deployment with or without a guardrail
    with stubbed(converse_api.create_app, "converse", settings) as (http, stubber):
        stubber.add_response("converse", converse_reply())
        # When a native Converse body is posted
        response = http.post(NATIVE_ROUTE, json={"messages": [{"role": "user", "content": [{"text": "Hello"}]}]})
    # Then the verdict header is there exactly when a guardrail is configured
    assert response.status_code == 200, response.text
    assert response.headers.get(GUARDRAIL_HEADER) == header


SECRET = "my secret prompt 4711"


@pytest.mark.parametrize("log_prompts", [False, True], ids=["LOG_PROMPTS=false", "LOG_PROMPTS=true"])
def test_a_rejected_native_body_is_a_useful_400_that_logs_the_prompt_only_with_log_prompts(log_prompts: bool) -> None:
    # Given a native Converse body botocore rejects, quoting the offending value (the prompt text)
    settings = dataclasses.replace(ONLY_20B, log_prompts=log_prompts)
    body = {"messages": [{"role": "user", "content": [{"text": [SECRET]}]}]}
    app = converse_api.create_app(settings=settings, bedrock=bedrock_client("converse", UNREACHABLE_ENDPOINT))
    with TestClient(app) as http, request_logs() as logs:
        # When it is posted (botocore validates it before any network call)
        response = http.post(NATIVE_ROUTE, json=body)
    # Then the client gets a 400 naming the bad parameter (with the value, as botocore words it)
    error = assert_openai_error(response, 400, type="invalid_request_error")
    assert "messages[0].content[0].text" in error["message"]
    assert SECRET in error["message"]
    # And the request log line records the failure, quoting the prompt only when LOG_PROMPTS is true
    [line] = [line for line in logs if line["message"] == "request completed"]
    assert (line["status"], line["error"]["type"]) == (400, "invalid_request_error")
    assert (SECRET in str(logs)) is log_prompts


@pytest.mark.parametrize("route", CHAT_ROUTES)
@pytest.mark.parametrize("log_prompts", [False, True], ids=["LOG_PROMPTS=false", "LOG_PROMPTS=true"])
def test_prompts_and_completions_reach_the_log_only_with_log_prompts(route: ChatRoute, log_prompts: bool) -> None:
    # Given a deployment with LOG_PROMPTS on or off
    settings = dataclasses.replace(ONLY_20B, log_prompts=log_prompts)
    with stubbed(route.create_app, route.function, settings) as (http, stubber), request_logs() as logs:
        stubber.add_response(route.operation, route.plain_reply())
        # When the client asks
        response = http.post(route.path, json={**HELLO, "messages": [{"role": "user", "content": SECRET}]})
    # Then the request is logged either way, but the prompt and the completion only when LOG_PROMPTS is true
    assert response.status_code == 200, response.text
    assert [line["status"] for line in logs if line["message"] == "request completed"] == [200]
    assert (SECRET in str(logs)) is log_prompts
    assert any(line["message"] == "completion" for line in logs) is log_prompts


@pytest.mark.parametrize("route", CHAT_ROUTES)
def test_a_bedrock_validation_message_is_answered_but_not_logged_without_log_prompts(route: ChatRoute) -> None:
    # Given Bedrock rejects the request with a message that quotes it
    with stubbed(route.create_app, route.function, ONLY_20B) as (http, stubber), request_logs() as logs:
        stubber.add_client_error(route.operation, "ValidationException", f"Malformed input: {SECRET}", 400)
        # When the client asks
        response = http.post(route.path, json=HELLO)
    # Then the client sees Bedrock's reason, and the log records the error without it
    assert SECRET in assert_openai_error(response, 400, type="invalid_request_error")["message"]
    [line] = [line for line in logs if line["message"] == "request completed"]
    assert line["error"]["type"] == "invalid_request_error"
    assert SECRET not in str(logs)
