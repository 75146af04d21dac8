"""API Gateway's own errors (gateway responses) as the official OpenAI SDK sees them.

Each AWS::ApiGateway::GatewayResponse of the synthesized template is rendered the way API Gateway renders it and
answered to a real OpenAI client (through an in-memory transport): the SDK must raise the exception class a user of
OpenAI's API expects, carrying an OpenAI error object.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from tests.infra.synthesis import Synth

# What a client meets and what the SDK must raise. DEFAULT_4XX/5XX keep API Gateway's status: sampled with one.
EXPECTED: dict[str, tuple[int, type[openai.APIStatusError], str]] = {
    "UNAUTHORIZED": (401, openai.AuthenticationError, "invalid_api_key"),
    "INVALID_API_KEY": (401, openai.AuthenticationError, "invalid_api_key"),
    "ACCESS_DENIED": (403, openai.PermissionDeniedError, "access_denied"),
    "WAF_FILTERED": (403, openai.PermissionDeniedError, "request_blocked"),
    "MISSING_AUTHENTICATION_TOKEN": (404, openai.NotFoundError, "unknown_url"),
    "RESOURCE_NOT_FOUND": (404, openai.NotFoundError, "unknown_url"),
    "REQUEST_TOO_LARGE": (413, openai.APIStatusError, "request_too_large"),
    "UNSUPPORTED_MEDIA_TYPE": (415, openai.APIStatusError, "unsupported_media_type"),
    "THROTTLED": (429, openai.RateLimitError, "rate_limit_exceeded"),
    "QUOTA_EXCEEDED": (429, openai.RateLimitError, "insufficient_quota"),
    "AUTHORIZER_FAILURE": (500, openai.InternalServerError, "authorizer_failure"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, openai.InternalServerError, "authorizer_failure"),
    "API_CONFIGURATION_ERROR": (500, openai.InternalServerError, "gateway_error"),
    "INTEGRATION_FAILURE": (504, openai.InternalServerError, "gateway_error"),
    "INTEGRATION_TIMEOUT": (504, openai.InternalServerError, "timeout"),
    "DEFAULT_4XX": (400, openai.BadRequestError, None),
    "DEFAULT_5XX": (502, openai.InternalServerError, None),
}


def gateway_responses(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synth.of_type("AWS::ApiGateway::GatewayResponse").values()
    }


def rendered(props: dict[str, Any], fallback_status: int) -> httpx2.Response:
    """The HTTP answer API Gateway sends for a gateway response (its $context.error.messageString filled in)."""
    body = props["ResponseTemplates"]["application/json"].replace("$context.error.messageString", '"Forbidden"')
    headers = {
        name.removeprefix("gatewayresponse.header."): value.strip("'")
        for name, value in props.get("ResponseParameters", {}).items()
    }
    return httpx2.Response(int(props.get("StatusCode") or fallback_status), headers=headers, content=body.encode())


def sdk_error(answer: httpx2.Response, *, max_retries: int = 0) -> tuple[openai.APIStatusError, int]:
    """What the OpenAI SDK raises for a chat call answered with `answer`, and how many calls it made."""
    calls = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return answer

    client = openai.OpenAI(
        base_url="https://gateway.invalid/api/v1",
        api_key="k" * 40,
        max_retries=max_retries,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handle)),
    )
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-oss-120b", messages=[{"role": "user", "content": "hi"}])
    return raised.value, len(calls)


def test_every_gateway_response_a_client_can_meet_is_defined(synth: Synth) -> None:
    # Given the synthesized template's gateway responses
    defined = set(gateway_responses(synth))
    # Then each error API Gateway can raise at a client of this API has its own OpenAI-shaped response, and nothing
    # is defined that this test does not check
    assert defined == set(EXPECTED)


@pytest.mark.parametrize("response_type", sorted(EXPECTED))
def test_each_gateway_response_makes_the_openai_sdk_raise_its_own_exception(synth: Synth, response_type: str) -> None:
    # Given the gateway response API Gateway answers for this error
    props = gateway_responses(synth)[response_type]
    status, exception, code = EXPECTED[response_type]
    # When the OpenAI SDK receives it for a chat call
    error, _ = sdk_error(rendered(props, status))
    # Then it raises the exception class OpenAI's API would cause, with an OpenAI error object as its body
    assert type(error) is exception
    assert error.status_code == status
    assert set(error.body) == {"message", "type", "param", "code"}
    assert error.code == code
    assert error.message and error.body["message"]
    # And API Gateway's own status is kept only by the fallbacks (setting theirs would change every other 4xx/5xx)
    assert ("StatusCode" in props) == (not response_type.startswith("DEFAULT_"))


def test_a_wrong_or_disabled_key_is_an_authentication_error_not_a_permission_error(synth: Synth) -> None:
    # Given the response for a bearer token that is not an enabled key of the usage plan (API Gateway's default: 403)
    props = gateway_responses(synth)["INVALID_API_KEY"]
    # When the SDK receives it
    error, _ = sdk_error(rendered(props, 403))
    # Then the SDK raises AuthenticationError with OpenAI's invalid_api_key error, as OpenAI itself answers
    assert isinstance(error, openai.AuthenticationError)
    assert (error.type, error.code) == ("invalid_request_error", "invalid_api_key")
    assert "Authorization: Bearer" in error.body["message"]


def test_a_spent_daily_quota_is_not_retried_but_a_throttle_is(synth: Synth) -> None:
    responses = gateway_responses(synth)
    # Given the SDK's default retry policy
    # When it meets the quota response, then it gives up at once (retrying cannot help before tomorrow)
    _, quota_calls = sdk_error(rendered(responses["QUOTA_EXCEEDED"], 429), max_retries=2)
    assert quota_calls == 1
    # And a throttle tells it to wait one second before it retries
    throttled = rendered(responses["THROTTLED"], 429)
    assert throttled.headers["Retry-After"] == "1"
    assert "x-should-retry" not in throttled.headers
