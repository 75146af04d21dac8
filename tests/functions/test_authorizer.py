"""The REQUEST authorizer: the OpenAI SDK's bearer token becomes API Gateway's usage-plan key."""

from __future__ import annotations

from typing import Any

import pytest
from authorizer import bearer_key, handler

KEY = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"
METHOD_ARN = "arn:aws:execute-api:us-west-2:123456789012:abc123defg/api/POST/v1/chat/completions"


def request_event(headers: dict[str, str] | None, method_arn: str = METHOD_ARN) -> dict[str, Any]:
    return {"type": "REQUEST", "methodArn": method_arn, "headers": headers, "httpMethod": "POST"}


def test_bearer_token_is_handed_to_api_gateway_as_the_usage_plan_key() -> None:
    # Given a request carrying the key the way the OpenAI SDK sends it
    event = request_event({"Authorization": f"Bearer {KEY}"})
    # When the authorizer runs
    result = handler(event, None)
    # Then the key becomes the usage identifier, and the whole stage is allowed (the decision is cached per key)
    assert result["usageIdentifierKey"] == KEY
    assert result["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": "arn:aws:execute-api:us-west-2:123456789012:abc123defg/api/*/*",
        }
    ]
    # And the key itself never appears as the principal (which lands in access logs)
    assert KEY not in result["principalId"]
    assert result["principalId"] == handler(event, None)["principalId"]


@pytest.mark.parametrize(
    "header",
    [f"bearer {KEY}", f"BEARER   {KEY}  ", f"Bearer {KEY}\t"],
)
def test_scheme_case_and_surrounding_spaces_do_not_matter(header: str) -> None:
    # Given slightly different spellings of the same header / Then the same key is extracted
    assert bearer_key({"authorization": header}) == KEY


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {"Content-Type": "application/json"},
        {"Authorization": ""},
        {"Authorization": KEY},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": "Bearer short"},
        {"Authorization": f"Bearer {KEY} extra"},
        {"Authorization": "Bearer " + "x" * 129},
        {"Authorization": f"Bearer {KEY}", "authorization": f"Bearer {KEY}"},
    ],
)
def test_missing_or_malformed_authorization_is_rejected_with_401(headers: dict[str, str] | None) -> None:
    # Given a request without a usable bearer token
    event = request_event(headers)
    # When the authorizer runs / Then it raises exactly "Unauthorized", which API Gateway turns into a 401
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        handler(event, None)


def test_event_without_an_api_gateway_method_arn_is_rejected() -> None:
    # Given an event that did not come from an API Gateway REST method
    event = request_event({"Authorization": f"Bearer {KEY}"}, method_arn="not-an-arn")
    # When the authorizer runs / Then nothing is allowed
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        handler(event, None)
