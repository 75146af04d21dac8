"""The converse function through its ASGI app, with a botocore Stubber pinning the exact Converse calls."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber
from converse_api import create_app
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B
from starlette.testclient import TestClient

from tests.api_contract import assert_openai_error, assert_schema
from tests.functions.api_helpers import (
    HELLO,
    ONLY_20B,
    UNREACHABLE_ENDPOINT,
    bedrock_client,
    converse_reply,
    stubbed,
)

ROUTE = "/converse/v1/chat/completions"
GUARDRAIL_CONFIG = {"guardrailIdentifier": "gr-test123", "guardrailVersion": "3", "trace": "enabled"}


def test_chat_completion_maps_to_one_converse_call_with_guardrail() -> None:
    # Given a deployment with a guardrail and a request with system text, sampling and reasoning effort
    request = {
        "model": "openai/gpt-oss-120b",
        "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
        "max_completion_tokens": 64,
        "temperature": 0.3,
        "reasoning_effort": "low",
    }
    expected = {
        "modelId": GPT_OSS_120B,
        "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.3},
        "additionalModelRequestFields": {"reasoning_effort": "low"},
        "guardrailConfig": GUARDRAIL_CONFIG,
    }
    with stubbed(create_app, "converse") as (http, stubber):
        stubber.add_response("converse", converse_reply(), expected)
        # When the client posts it
        response = http.post(ROUTE, json=request)
    # Then it gets a chat.completion with the reasoning split from the answer
    assert response.status_code == 200, response.text
    completion = response.json()
    assert_schema("ChatCompletion", completion)
    message = completion["choices"][0]["message"]
    assert message["content"] == "Hi there"
    assert message["reasoning_content"] == "The user greets me."
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"] == {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    assert completion["model"] == GPT_OSS_120B


def test_tool_choice_none_sends_no_tool_config() -> None:
    # Given a request that offers tools but forbids using them
    request = {
        **HELLO,
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        "tool_choice": "none",
    }
    expected = {
        "modelId": GPT_OSS_20B,
        "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
        "guardrailConfig": GUARDRAIL_CONFIG,
    }
    with stubbed(create_app, "converse") as (http, stubber):
        stubber.add_response("converse", converse_reply(), expected)
        # When it is sent
        response = http.post(ROUTE, json=request)
    # Then Converse was called without toolConfig (the Stubber pins the exact parameters)
    assert response.status_code == 200, response.text


def test_tools_become_tool_config_and_tool_use_becomes_tool_calls() -> None:
    # Given a request with a tool the model decides to call
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    reply = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Oslo"}}}],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 20, "outputTokens": 9, "totalTokens": 29},
        "metrics": {"latencyMs": 5},
    }
    expected = {
        "modelId": GPT_OSS_20B,
        "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]},
        "guardrailConfig": GUARDRAIL_CONFIG,
    }
    with stubbed(create_app, "converse") as (http, stubber):
        stubber.add_response("converse", reply, expected)
        # When it is sent
        response = http.post(ROUTE, json={**HELLO, "tools": [tool]})
    # Then Converse got a toolConfig and the answer carries an OpenAI tool call with JSON-string arguments
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Oslo"}


def test_guardrail_intervention_is_content_filter_with_trace_and_header() -> None:
    # Given Converse reports a guardrail intervention
    trace = {"guardrail": {"inputAssessment": {"gr-test123": {"topicPolicy": {"topics": []}}}}}
    reply = converse_reply("Sorry, I can't help with that.", stopReason="guardrail_intervened", trace=trace)
    with stubbed(create_app, "converse") as (http, stubber):
        stubber.add_response("converse", reply)
        # When the client asks
        response = http.post(ROUTE, json=HELLO)
    # Then the finish reason is content_filter, the blocked message is the content, the trace is exposed
    assert response.status_code == 200
    body = response.json()
    assert body["choices"][0]["finish_reason"] == "content_filter"
    assert body["choices"][0]["message"]["content"] == "Sorry, I can't help with that."
    assert body["guardrail"]["action"] == "INTERVENED"
    assert body["guardrail"]["trace"]
    assert response.headers["x-gptoss-guardrail-action"] == "INTERVENED"


def test_disabled_model_is_404_without_calling_bedrock() -> None:
    # Given only the 20b model is enabled
    with stubbed(create_app, "converse", ONLY_20B) as (http, _):
        # When the client asks for the 120b model
        response = http.post(ROUTE, json={**HELLO, "model": "gpt-oss-120b"})
    # Then it is a 404 model_not_found naming the model param (and the Stubber saw no call)
    assert_openai_error(response, 404, code="model_not_found", param="model")


def test_native_converse_passes_the_body_and_injects_the_guardrail() -> None:
    # Given a native Converse body naming its model by alias (the path's model wins) and no guardrail
    body = {
        "modelId": "gpt-oss-20b",
        "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
        "inferenceConfig": {"maxTokens": 32},
    }
    expected = {
        "modelId": GPT_OSS_20B,
        "messages": body["messages"],
        "inferenceConfig": {"maxTokens": 32},
        "guardrailConfig": GUARDRAIL_CONFIG,
    }
    with stubbed(create_app, "converse") as (http, stubber):
        stubber.add_response("converse", converse_reply(), expected)
        # When it is posted to the Bedrock-shaped path (model id with ':' in the path)
        response = http.post(f"/model/{GPT_OSS_20B}/converse", json=body)
    # Then the native response comes back unchanged (no ResponseMetadata) with the guardrail verdict header
    assert response.status_code == 200, response.text
    native = response.json()
    assert_schema("ConverseResponse", native)
    assert native == converse_reply()
    assert response.headers["x-gptoss-guardrail-action"] == "NONE"


def test_native_converse_rejects_an_invalid_body_with_400() -> None:
    # Given a Converse body with a wrongly typed field and a value out of range (validated before any network call)
    client = bedrock_client("converse", endpoint_url=UNREACHABLE_ENDPOINT)
    app = create_app(settings=ONLY_20B, bedrock=client)
    body = {"messages": [{"role": "user", "content": [{"text": 5}]}], "inferenceConfig": {"maxTokens": 0}}
    with TestClient(app) as http:
        # When it is posted
        response = http.post(f"/model/{GPT_OSS_20B}/converse", json=body)
    # Then it is a clean 400 that names the problems
    error = assert_openai_error(response, 400, type="invalid_request_error")
    assert "inferenceConfig.maxTokens" in error["message"]
    assert "messages[0].content[0].text" in error["message"]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (f"/model/{GPT_OSS_120B}/converse", {"messages": []}, 404, "model_not_found"),
        ("/model/not-a-model/converse", {"messages": []}, 404, "model_not_found"),
        (f"/model/{GPT_OSS_20B}/converse", [1, 2], 400, None),
    ],
)
def test_native_converse_refuses_disabled_models_and_non_objects(
    path: str, body: object, status: int, code: str | None
) -> None:
    # Given only the 20b model is enabled
    with stubbed(create_app, "converse", ONLY_20B) as (http, _):
        # When a disabled/unknown model or a non-object body is posted
        response = http.post(path, json=body)
    # Then it is refused before any Bedrock call
    assert_openai_error(response, status, code=code)


def test_models_and_health_need_no_bedrock_call() -> None:
    # Given the converse app
    with stubbed(create_app, "converse") as (http, _):
        # When the client lists models (base_url .../converse/v1) and the adapter checks health
        models = http.get("/converse/v1/models")
        health = http.get("/healthz")
    # Then both answer from configuration alone
    assert [model["id"] for model in models.json()["data"]] == [GPT_OSS_20B, GPT_OSS_120B]
    assert_schema("ModelList", models.json())
    assert health.json() == {"status": "ok"}


def test_stubber_fixture_is_shape_checked() -> None:
    # Given a Stubber on the function's client, When a response with an unmodelled field is queued
    client = bedrock_client("converse")
    stubber = Stubber(client)
    # Then botocore rejects it (so every stubbed reply above matches Bedrock's real shape)
    with pytest.raises(ParamValidationError, match="Unknown parameter"):
        stubber.add_response("converse", {**converse_reply(), "notAField": 1})
