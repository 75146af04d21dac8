"""The chat function through its ASGI app, with a botocore Stubber pinning the exact InvokeModel calls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import ANY
from chat_api import create_app
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B

from tests.api_contract import assert_openai_error, assert_schema
from tests.functions.api_helpers import (
    HELLO,
    ONLY_20B,
    SETTINGS,
    bedrock_completion,
    capture_params,
    invoke_response,
    stubbed,
)

ROUTE = "/v1/chat/completions"


GUARDED_CALL = {
    "modelId": GPT_OSS_20B,
    "body": ANY,
    "contentType": "application/json",
    "accept": "application/json",
    "guardrailIdentifier": "gr-test123",
    "guardrailVersion": "3",
    "trace": "ENABLED",
}


def test_invoke_model_gets_the_openai_body_and_guardrail_and_reasoning_is_split() -> None:
    # Given a guarded deployment and a model that answers with inline <reasoning>
    with stubbed(create_app, "chat") as (http, stubber):
        reply = bedrock_completion("<reasoning>Greet back.</reasoning>Hello!")
        stubber.add_response("invoke_model", invoke_response(reply), GUARDED_CALL)
        # When the client posts a chat request with an alias
        with capture_params(stubber.client, "InvokeModel") as sent:
            response = http.post(ROUTE, json={**HELLO, "max_completion_tokens": 30, "temperature": 0.2})
    # Then Bedrock got the OpenAI body with the Bedrock model id and stream false, plus the guardrail parameters
    assert json.loads(sent[0]["body"]) == {
        "model": GPT_OSS_20B,
        "messages": [{"role": "user", "content": "Hello"}],
        "max_completion_tokens": 30,
        "temperature": 0.2,
        "stream": False,
    }
    # And the reasoning is in reasoning_content, never in content
    assert response.status_code == 200, response.text
    completion = response.json()
    assert_schema("ChatCompletion", completion)
    message = completion["choices"][0]["message"]
    assert message["content"] == "Hello!"
    assert message["reasoning_content"] == "Greet back."
    assert completion["usage"]["total_tokens"] == 16


def test_guardrail_intervention_is_content_filter_with_trace_and_header() -> None:
    # Given InvokeModel reports a guardrail intervention
    payload = bedrock_completion(
        "Sorry, that topic is blocked.",
        **{
            "amazon-bedrock-guardrailAction": "INTERVENED",
            "amazon-bedrock-trace": {"guardrail": {"input": {"gr-test123": {"topicPolicy": {}}}}},
        },
    )
    with stubbed(create_app, "chat") as (http, stubber):
        stubber.add_response("invoke_model", invoke_response(payload), GUARDED_CALL)
        # When the client asks
        response = http.post(ROUTE, json=HELLO)
    # Then it sees content_filter, the blocked message, the trace field and the header; no Bedrock-private keys
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["finish_reason"] == "content_filter"
    assert body["choices"][0]["message"]["content"] == "Sorry, that topic is blocked."
    assert body["guardrail"]["action"] == "INTERVENED"
    assert response.headers["x-gptoss-guardrail-action"] == "INTERVENED"
    assert not [key for key in body if key.startswith("amazon-bedrock-")]


def test_no_guardrail_configured_sends_no_guardrail_parameters() -> None:
    # Given a deployment without a guardrail
    call = {key: value for key, value in GUARDED_CALL.items() if not key.startswith(("guardrail", "trace"))}
    with stubbed(create_app, "chat", ONLY_20B) as (http, stubber):
        stubber.add_response("invoke_model", invoke_response(bedrock_completion("Hi")), call)
        # When the client asks
        response = http.post(ROUTE, json=HELLO)
    # Then the call carried no guardrail parameters and no guardrail header comes back
    assert response.status_code == 200, response.text
    assert "x-gptoss-guardrail-action" not in response.headers


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "gpt-oss-20b"}, "messages"),
        ({"model": "gpt-oss-20b", "messages": []}, "messages"),
        ({"model": "gpt-oss-20b", "messages": "hello"}, "messages"),
        ({"model": 7, "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "gpt-oss-20b", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({**HELLO, "n": 2}, "n"),
        ({**HELLO, "temperature": "hot"}, "temperature"),
        ({**HELLO, "max_tokens": 0}, "max_tokens"),
        (
            {
                "model": "gpt-oss-20b",
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}
                ],
            },
            "messages[0].content[0].type",
        ),
    ],
)
def test_bad_requests_are_400_naming_the_param(body: dict[str, Any], param: str) -> None:
    # Given a request OpenAI would reject
    with stubbed(create_app, "chat") as (http, _):
        # When it is posted
        response = http.post(ROUTE, json=body)
    # Then it is a 400 invalid_request_error whose param names the field (and Bedrock is never called)
    assert_openai_error(response, 400, type="invalid_request_error", param=param)


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"text"'])
def test_malformed_or_non_object_bodies_are_400(raw: bytes) -> None:
    # Given a body that is not a JSON object
    with stubbed(create_app, "chat") as (http, _):
        # When it is posted
        response = http.post(ROUTE, content=raw, headers={"content-type": "application/json"})
    # Then it is a 400 OpenAI error
    assert_openai_error(response, 400, type="invalid_request_error")


def test_oversize_body_is_413_before_parsing() -> None:
    # Given a body larger than MAX_REQUEST_BYTES
    settings = SETTINGS.__class__(enabled_models=SETTINGS.enabled_models, max_request_bytes=1024)
    big = {**HELLO, "messages": [{"role": "user", "content": "x" * 2048}]}
    with stubbed(create_app, "chat", settings) as (http, _):
        # When it is posted (declared length) and streamed in chunks (no declared length)
        declared = http.post(ROUTE, json=big)
        chunked = http.post(ROUTE, content=iter([json.dumps(big).encode()[:1000], json.dumps(big).encode()[1000:]]))
    # Then both are 413 OpenAI errors
    for response in (declared, chunked):
        assert_openai_error(response, 413, code="request_too_large")


def test_models_list_and_retrieve_show_enabled_models_and_aliases() -> None:
    # Given both models enabled
    with stubbed(create_app, "chat") as (http, _):
        # When the client lists models and retrieves by alias, by id (with ':') and an unknown one
        listing = http.get("/v1/models")
        by_alias = http.get("/v1/models/openai/gpt-oss-120b")
        by_id = http.get(f"/v1/models/{GPT_OSS_20B}")
        unknown = http.get("/v1/models/gpt-4o")
    # Then the list and objects match the OpenAI shapes, and the unknown one is a 404 model_not_found
    assert_schema("ModelList", listing.json())
    assert [model["id"] for model in listing.json()["data"]] == [GPT_OSS_20B, GPT_OSS_120B]
    assert by_alias.json()["id"] == GPT_OSS_120B
    assert by_id.json()["id"] == GPT_OSS_20B
    assert_openai_error(unknown, 404, code="model_not_found")


def test_unknown_route_and_wrong_method_are_openai_errors() -> None:
    # Given the chat app
    with stubbed(create_app, "chat") as (http, _):
        # When the client calls a route that does not exist, or uses the wrong method
        missing = http.post("/v1/completions", json=HELLO)
        wrong = http.get(ROUTE)
    # Then both are OpenAI error objects
    assert_openai_error(missing, 404)
    assert_openai_error(wrong, 405)


def test_unexpected_failure_is_a_bare_500_object(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a bug deep in the translation
    import chat_api

    def broken(*args: object, **kwargs: object) -> dict[str, Any]:
        raise KeyError("internal detail")

    monkeypatch.setattr(chat_api, "to_invoke_body", broken)
    with stubbed(create_app, "chat") as (http, _):
        # When the client asks
        response = http.post(ROUTE, json=HELLO)
    # Then it gets a 500 OpenAI error without internals
    error = assert_openai_error(response, 500, type="api_error")
    assert "internal detail" not in error["message"]
    assert "Traceback" not in response.text
