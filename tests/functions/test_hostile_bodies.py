"""Hostile bodies get a 4xx OpenAI error, never a 5xx: deep nesting on every JSON route, Bedrock controls and
guardrail-narrowing members refused before any Bedrock call, and nothing but the request line in the logs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import batch_status_api
import chat_api
import converse_api
import pytest
from gateway.settings import OPT_IN_VARIABLES, Settings, SettingsError
from gptoss.json_limits import MAX_JSON_DEPTH, nesting_exceeds
from gptoss.models import GPT_OSS_20B
from gptoss.trust import OPT_IN_MEMBERS
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.api_contract import assert_openai_error
from tests.functions.api_helpers import (
    GUARDRAIL,
    SETTINGS,
    UNREACHABLE_ENDPOINT,
    bedrock_client,
    bedrock_completion,
    converse_reply,
    invoke_response,
    request_logs,
    stubbed,
)
from tests.functions.test_request_metrics import emf_documents

NATIVE = f"/model/{GPT_OSS_20B}/converse"
# (app factory, function name, route, a valid body for it)
ROUTES: list[tuple[Callable[..., Starlette], str, str, dict[str, Any]]] = [
    (chat_api.create_app, "chat", "/v1/chat/completions", {"model": "gpt-oss-20b", "messages": []}),
    (converse_api.create_app, "converse", "/converse/v1/chat/completions", {"model": "gpt-oss-20b", "messages": []}),
    (converse_api.create_app, "converse", NATIVE, {"messages": []}),
]
ROUTE_IDS = ["chat", "converse-chat", "native-converse"]
TEN_KB_OF_BRACKETS = "[" * 10_240


def unreachable_app(create_app: Callable[..., Starlette], function: str, settings: Settings = SETTINGS) -> TestClient:
    """The app with a Bedrock client that cannot connect: any Bedrock call would fail the test with a 5xx."""
    return TestClient(create_app(settings=settings, bedrock=bedrock_client(function, UNREACHABLE_ENDPOINT)))


def with_member(body: dict[str, Any], name: str, raw_value: str) -> bytes:
    """`body` as JSON with one more top-level member whose value is `raw_value`, spliced in as raw text."""
    return (json.dumps(body)[:-1] + f', "{name}": {raw_value}}}').encode()


@pytest.mark.parametrize(
    ("member", "raw_value"),
    [
        ("messages", TEN_KB_OF_BRACKETS),  # unterminated: json.loads itself runs out of stack
        ("metadata", "[" * 5_000 + "]" * 5_000),
        ("tools", "[" * 500 + "]" * 500),  # decodes fine, but copying or validating it would not
        ("stop", "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)),
    ],
    ids=["10kb-unterminated", "5000-deep", "500-deep", "just-over-the-limit"],
)
@pytest.mark.parametrize(("create_app", "function", "route", "body"), ROUTES, ids=ROUTE_IDS)
def test_deep_nesting_is_a_400_naming_the_member_with_no_traceback_and_no_5xx_metric(
    create_app: Callable[..., Starlette],
    function: str,
    route: str,
    body: dict[str, Any],
    member: str,
    raw_value: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a body that nests one member thousands of levels deep
    payload = with_member(body, member, raw_value)
    with request_logs() as logs, unreachable_app(create_app, function) as http:
        capsys.readouterr()
        # When it is posted
        response = http.post(route, content=payload, headers={"content-type": "application/json"})
        output = capsys.readouterr().out
    # Then it is a 400 naming the member and the limit
    error = assert_openai_error(response, 400, type="invalid_request_error", param=member, code="json_too_deep")
    assert f"more than {MAX_JSON_DEPTH} levels" in error["message"]
    # And the log holds the one request line, without a traceback, and the metrics count a 400, not a 5xx
    assert [(line["message"], line["status"]) for line in logs] == [("request completed", 400)]
    assert "Traceback" not in output and "exception" not in json.dumps(logs)
    statuses = [document["status"] for document in emf_documents(output) if "Errors" in document]
    assert statuses == ["400"]


def schema_nested(depth: int) -> dict[str, Any]:
    """A JSON schema `depth` levels deep (each `{"type": "object", "properties": {"a": …}}` adds 2)."""
    value: dict[str, Any] = {"type": "string"} if depth % 2 else {"type": "array", "items": {"type": "string"}}
    for _ in range((depth - 1) // 2):
        value = {"type": "object", "properties": {"a": value}}
    return value


def at_the_limit(body: dict[str, Any]) -> dict[str, Any]:
    assert nesting_exceeds(body, MAX_JSON_DEPTH - 1) and not nesting_exceeds(body, MAX_JSON_DEPTH)
    return body


HELLO_TEXT = [{"role": "user", "content": "Hello"}]
DEEPEST_TOOL = {"type": "function", "function": {"name": "f", "parameters": schema_nested(MAX_JSON_DEPTH - 4)}}


@pytest.mark.parametrize(
    ("create_app", "function", "route", "operation", "reply", "body"),
    [
        (chat_api.create_app, "chat", "/v1/chat/completions", "invoke_model", invoke_response(bedrock_completion("Hi")),
         {"model": "gpt-oss-20b", "messages": HELLO_TEXT, "tools": [DEEPEST_TOOL]}),
        (converse_api.create_app, "converse", "/converse/v1/chat/completions", "converse", converse_reply(),
         {"model": "gpt-oss-20b", "messages": HELLO_TEXT, "tools": [DEEPEST_TOOL]}),
        (converse_api.create_app, "converse", NATIVE, "converse", converse_reply(),
         {"messages": [{"role": "user", "content": [{"text": "Hello"}]}],
          "additionalModelRequestFields": {"x": schema_nested(MAX_JSON_DEPTH - 2)}}),
    ],
    ids=ROUTE_IDS,
)  # fmt: skip
def test_a_body_at_the_nesting_limit_reaches_bedrock(
    create_app: Callable[..., Starlette],
    function: str,
    route: str,
    operation: str,
    reply: dict[str, Any],
    body: dict[str, Any],
) -> None:
    # Given a valid body whose deepest value (a tool schema, a model field) sits exactly at the nesting limit
    with stubbed(create_app, function) as (http, stubber):
        stubber.add_response(operation, reply)
        # When it is posted
        response = http.post(route, json=at_the_limit(body))
    # Then the gateway copies, validates and sends it to Bedrock without running out of stack
    assert response.status_code == 200, response.text


def test_the_batch_status_api_answers_a_deep_body_with_a_4xx() -> None:
    # Given a POST to the (read-only) batch status API carrying a 10 KB bracket body
    event = {"httpMethod": "POST", "body": TEN_KB_OF_BRACKETS, "pathParameters": None}
    # When it is handled
    response = batch_status_api.handler(event)
    # Then it is refused as a client error without reading the body
    assert response["statusCode"] == 405
    assert json.loads(response["body"])["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("create_app", "function", "route"),
    [
        (chat_api.create_app, "chat", "/v1/chat/completions"),
        (converse_api.create_app, "converse", "/converse/v1/chat/completions"),
    ],
    ids=["chat", "converse-chat"],
)
def test_a_chat_body_cannot_narrow_the_guardrail(
    create_app: Callable[..., Starlette], function: str, route: str
) -> None:
    # Given a chat body that tags its input so the guardrail would check only tagged text, asynchronously
    body = {
        "model": "gpt-oss-20b",
        "messages": [{"role": "user", "content": "Hello"}],
        "amazon-bedrock-guardrailConfig": {"tagSuffix": "xyz", "streamProcessingMode": "ASYNCHRONOUS"},
    }
    with unreachable_app(create_app, function) as http:
        # When it is posted
        response = http.post(route, json=body)
    # Then it is refused by name before any Bedrock call
    error = assert_openai_error(response, 400, param="amazon-bedrock-guardrailConfig")
    assert "configured guardrail" in error["message"]


@pytest.mark.parametrize(
    ("member", "value", "param"),
    [
        ("guardrailConfig", {"guardrailIdentifier": "mine", "guardrailVersion": "DRAFT"}, "guardrailConfig"),
        ("system", [{"guardContent": {"text": {"text": "only this"}}}], "system[0].guardContent"),
        ("serviceTier", {"type": "priority"}, "serviceTier"),
        ("performanceConfig", {"latency": "optimized"}, "performanceConfig"),
        ("additionalModelRequestFields", {"amazon-bedrock-guardrailConfig": {"tagSuffix": "x"}},
         "additionalModelRequestFields.amazon-bedrock-guardrailConfig"),
    ],
)  # fmt: skip
def test_a_native_converse_body_cannot_narrow_the_guardrail_or_pick_billing(
    member: str, value: object, param: str
) -> None:
    # Given a native Converse body setting a member the deployment decides (nothing allowed in settings)
    body = {"messages": [{"role": "user", "content": [{"text": "Hello"}]}], member: value}
    with unreachable_app(converse_api.create_app, "converse") as http:
        # When it is posted
        response = http.post(NATIVE, json=body)
    # Then it is a 400 naming the member, before any Bedrock call
    assert_openai_error(response, 400, type="invalid_request_error", param=param)


def test_billing_options_the_deployment_allows_reach_bedrock() -> None:
    # Given a deployment that allows serviceTier (from the function's environment) but not performanceConfig
    env = {"ENABLED_MODELS": GPT_OSS_20B, "ALLOW_SERVICE_TIER": "true", "GUARDRAIL_ID": "gr-test123"}
    settings = Settings.from_env({**env, "GUARDRAIL_VERSION": "3"})
    assert dataclasses.replace(settings, guardrail=GUARDRAIL) == settings
    body = {"messages": [{"role": "user", "content": [{"text": "Hello"}]}], "serviceTier": {"type": "flex"}}
    expected = {**body, "modelId": GPT_OSS_20B, "guardrailConfig": GUARDRAIL.converse_config()}
    with stubbed(converse_api.create_app, "converse", settings) as (http, stubber):
        stubber.add_response("converse", converse_reply(), expected)
        # When a body choosing the flex tier is posted
        allowed = http.post(NATIVE, json=body)
        # And one choosing a latency profile
        refused = http.post(NATIVE, json={**body, "performanceConfig": {"latency": "optimized"}})
    # Then the first reaches Bedrock with the tier and the configured guardrail; the second is refused by name
    assert allowed.status_code == 200, allowed.text
    assert_openai_error(refused, 400, param="performanceConfig")


def test_deep_tool_call_arguments_are_a_400_on_the_converse_path() -> None:
    # Given a conversation replaying a tool call whose arguments string is 10 KB of brackets
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": TEN_KB_OF_BRACKETS}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]
    body = {"model": "gpt-oss-20b", "tools": [tool], "messages": messages}
    with unreachable_app(converse_api.create_app, "converse") as http:
        # When it is posted to the Converse path (which turns arguments into a toolUse input document)
        response = http.post("/converse/v1/chat/completions", json=body)
    # Then it is a 400 naming the arguments, not a 500
    assert_openai_error(response, 400, param="messages[1].tool_calls[0].function.arguments")


def test_each_billing_option_has_a_cold_start_switch_that_must_be_true_or_false() -> None:
    # Given the members a deployment may allow, and the environment variables that allow them
    assert set(OPT_IN_VARIABLES) == set(OPT_IN_MEMBERS)
    # When a switch holds anything but true/false, the function refuses to start, naming it
    with pytest.raises(SettingsError, match="ALLOW_PERFORMANCE_CONFIG"):
        Settings.from_env({"ENABLED_MODELS": GPT_OSS_20B, "ALLOW_PERFORMANCE_CONFIG": "yes"})
    # And unset, nothing is allowed
    assert Settings.from_env({"ENABLED_MODELS": GPT_OSS_20B}).caller_opt_ins == frozenset()
