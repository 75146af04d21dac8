"""A native Converse body that botocore rejects comes back as an OpenAI error in JSON terms, naming the parameter."""

from __future__ import annotations

import dataclasses
from typing import Any

import converse_api
import pytest
from gptoss.models import GPT_OSS_20B
from starlette.testclient import TestClient

from tests.api_contract import assert_openai_error
from tests.functions.api_helpers import ONLY_20B, UNREACHABLE_ENDPOINT, bedrock_client, request_logs

NATIVE_ROUTE = f"/model/{GPT_OSS_20B}/converse"
PYTHON_TYPE_WORDS = ("<class", "'list'", "'str'", "tuple", "dict")


def _post(body: dict[str, Any], *, log_prompts: bool = False) -> Any:
    settings = dataclasses.replace(ONLY_20B, log_prompts=log_prompts)
    app = converse_api.create_app(settings=settings, bedrock=bedrock_client("converse", UNREACHABLE_ENDPOINT))
    with TestClient(app) as http:
        return http.post(NATIVE_ROUTE, json=body)


@pytest.mark.parametrize(
    ("body", "param", "wording"),
    [
        ({"messages": "x"}, "messages", 'Invalid type for messages: expected array, got string (value: "x")'),
        (
            {"messages": [{"role": "user", "content": "hi"}]},
            "messages[0].content",
            "expected array, got string",
        ),
        ({"messages": [{"role": "user", "content": [{"text": 5}]}]}, "messages[0].content[0].text", "got number"),
        ({"messages": [{"role": "user"}]}, "messages[0].content", "Missing required parameter messages[0].content"),
        ({"messages": [], "inferenceConfig": {"maxTokens": 0}}, "inferenceConfig.maxTokens", "minimum of 1"),
        ({"messages": [], "inferenceConfig": {"topP": "high"}}, "inferenceConfig.topP", "expected number, got string"),
        ({"messages": [{"role": "user", "content": [{"text": "a", "bogus": 1}]}]}, "messages[0].content[0]", "bogus"),
    ],
    ids=["messages-string", "content-string", "text-number", "missing-content", "below-minimum", "top-p", "unknown"],
)
def test_a_rejected_native_body_names_the_parameter_in_json_terms(
    body: dict[str, Any], param: str, wording: str
) -> None:
    # Given a native Converse body with a wrongly shaped parameter
    # When it is posted (botocore validates it before any network call)
    response = _post(body)
    # Then the client gets a 400 whose `param` names the parameter and whose message speaks JSON, not Python
    error = assert_openai_error(response, 400, type="invalid_request_error", param=param)
    assert wording in error["message"]
    assert not any(word in error["message"] for word in PYTHON_TYPE_WORDS), error["message"]


def test_several_problems_are_all_described_and_the_first_is_the_param() -> None:
    # Given a body with an unknown tool-config member and a wrongly typed text
    body = {"messages": [{"role": "user", "content": [{"text": 5}]}], "toolConfig": {"tools": [], "bogus": True}}
    # When it is posted
    response = _post(body)
    # Then every problem is in the message, and `param` names the first one botocore reported
    error = assert_openai_error(response, 400, param="messages[0].content[0].text")
    assert "Unknown parameter toolConfig.bogus; expected one of: tools, toolChoice" in error["message"]
    assert "Invalid type for messages[0].content[0].text: expected string, got number" in error["message"]


def test_the_quoted_value_reaches_the_log_only_with_log_prompts() -> None:
    # Given LOG_PROMPTS is off and a body whose bad value is prompt text
    secret = "my secret prompt 0815"
    with request_logs() as logs:
        # When it is posted
        response = _post({"messages": secret})
    # Then the client sees its own value, in JSON quotes, but the request log does not
    error = assert_openai_error(response, 400, param="messages")
    assert f'"{secret}"' in error["message"]
    assert [line["status"] for line in logs if line["message"] == "request completed"] == [400]
    assert secret not in str(logs)
