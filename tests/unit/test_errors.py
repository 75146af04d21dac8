"""Bedrock exceptions reach the caller as OpenAI error objects with the status the OpenAI SDK maps."""

import botocore.session
import pytest
from gateway.observability import RequestRecord
from gptoss.errors import GatewayError, from_bedrock_error, invalid_request


@pytest.mark.parametrize(
    ("bedrock_code", "status", "error_type", "code", "retry_after"),
    [
        ("ThrottlingException", 429, "rate_limit_error", "rate_limit_exceeded", True),
        ("ServiceQuotaExceededException", 429, "insufficient_quota", "insufficient_quota", True),
        ("ValidationException", 400, "invalid_request_error", None, False),
        ("AccessDeniedException", 403, "permission_error", None, False),
        ("ResourceNotFoundException", 404, "invalid_request_error", "model_not_found", False),
        ("ModelTimeoutException", 504, "api_error", "timeout", False),
        ("ModelNotReadyException", 503, "api_error", "service_unavailable", True),
        ("ServiceUnavailableException", 503, "api_error", "service_unavailable", True),
        ("ModelErrorException", 502, "api_error", "model_error", False),
        ("ModelStreamErrorException", 502, "api_error", "model_error", False),
        ("InternalServerException", 500, "api_error", None, False),
    ],
)
def test_each_bedrock_exception_maps_to_its_openai_status(bedrock_code, status, error_type, code, retry_after):
    # Given a Bedrock exception code
    # When it is translated
    error = from_bedrock_error(bedrock_code, "details from Bedrock")
    # Then the caller sees the OpenAI status, type and code the SDK expects, Bedrock's reason after a summary,
    # and a Retry-After header exactly when waiting helps (throttling, quota, model not ready)
    assert (error.status, error.type, error.code) == (status, error_type, code)
    assert error.to_body()["error"]["type"] == error_type
    assert error.message.endswith(": details from Bedrock")
    assert error.headers == ({"Retry-After": "1"} if retry_after else {})


def test_throttling_tells_the_client_when_to_retry():
    # Given Bedrock throttles the request
    error = from_bedrock_error("ThrottlingException", "Too many requests, please wait before trying again.")
    # Then the 429 carries a Retry-After header the SDK honours
    assert error.status == 429
    assert error.headers == {"Retry-After": "1"}


@pytest.mark.parametrize(
    "message",
    [
        "Input is too long for requested model.",
        "The prompt is too long: too many tokens",
        "This model's maximum context length is 131072 tokens.",
        "Prompt is too long",
        "The request exceeds the context window of the model",
    ],
)
def test_a_prompt_over_the_context_window_is_reported_as_context_length_exceeded(message):
    # Given Bedrock rejects a prompt because it does not fit
    # When the ValidationException is translated
    error = from_bedrock_error("ValidationException", message)
    # Then it is OpenAI's context_length_exceeded on `messages`, keeping Bedrock's explanation
    assert (error.status, error.code, error.param) == (400, "context_length_exceeded", "messages")
    assert message.strip() in error.message


def test_other_validation_errors_are_plain_400s_with_bedrock_message():
    # Given an ordinary validation failure
    error = from_bedrock_error("ValidationException", "temperature must be <= 1")
    # Then it is a 400 without the context-length code, and the reason is visible
    assert (error.status, error.code) == (400, None)
    assert "temperature must be <= 1" in error.message


def test_stream_exception_event_names_map_like_client_error_codes():
    # Given a mid-stream exception event name, which boto3 spells in lowerCamelCase
    # When it is translated
    error = from_bedrock_error("throttlingException", "slow down")
    # Then it maps exactly as the ClientError code would
    assert error.status == 429


def test_an_unknown_upstream_error_is_a_502_without_internals():
    # Given an exception name the gateway does not know
    error = from_bedrock_error("SomethingNewException", "Traceback (most recent call last): ...")
    # Then the caller gets a generic 502 that leaks nothing
    assert (error.status, error.type, error.message) == (502, "api_error", "upstream error")


def test_every_modelled_runtime_exception_has_a_deliberate_mapping():
    # Given every exception the bedrock-runtime model operations declare
    service = botocore.session.get_session().get_service_model("bedrock-runtime")
    names = set()
    for operation in ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"):
        names.update(shape.name for shape in service.operation_model(operation).error_shapes)
    # When each is translated
    # Then none falls through to the generic "upstream error"
    assert names
    for name in sorted(names):
        assert from_bedrock_error(name, "x").message != "upstream error", name


def test_invalid_request_is_an_openai_error_object_naming_the_param():
    # Given a validation failure raised by the gateway
    error = invalid_request("bad", param="messages[0].role")
    # Then its body is exactly OpenAI's error shape, and the exception reads as its message
    assert isinstance(error, GatewayError)
    assert error.status == 400
    assert error.to_body() == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": "messages[0].role", "code": None}
    }
    assert str(error) == "bad"


def test_an_invalid_request_with_a_code_carries_it_to_the_client():
    # Given a validation failure with a machine-readable code (a body that is not JSON)
    error = invalid_request("The request body is not valid JSON.", code="invalid_json")
    # Then the client's error object has that code
    assert error.to_body()["error"]["code"] == "invalid_json"


def test_a_bedrock_error_without_a_message_is_just_the_summary():
    # Given a Bedrock exception whose message is blank
    error = from_bedrock_error("ModelTimeoutException", "  ")
    # Then the client reads a clean sentence, without a dangling separator
    assert error.message == "The model timed out"


@pytest.mark.parametrize("log_prompts", [False, True])
def test_a_validation_message_quoting_the_prompt_is_logged_only_with_log_prompts(log_prompts):
    # Given Bedrock refuses a request with a message that quotes the prompt, throttles another, and the gateway
    # refuses a third itself
    refused = from_bedrock_error("ValidationException", "Malformed input: 'my secret prompt'")
    throttled = from_bedrock_error("ThrottlingException", "Too many requests")
    own = invalid_request("'messages' must contain at least one message.", param="messages")
    # When the request log records each error
    logged = []
    for error in (refused, throttled, own):
        record = RequestRecord(route="/v1/chat/completions", request_id="r1", log_prompts=log_prompts)
        record.record_error(error)
        logged.append(record.error["message"])
    # Then the quoted prompt reaches the log only with LOG_PROMPTS, and the other messages always do
    assert ("my secret prompt" in logged[0]) is log_prompts
    assert "Too many requests" in logged[1]
    assert logged[2] == "'messages' must contain at least one message."


def test_an_error_reads_fully_in_a_traceback():
    # Given an error the gateway raises
    error = invalid_request("bad", param="temperature", code="invalid_value")
    # Then its repr (what a traceback or debugger shows a developer) names every part of it
    assert repr(error) == (
        "GatewayError(400, 'bad', type='invalid_request_error', param='temperature', code='invalid_value')"
    )
