"""The one request contract: unknown or ill-typed fields are 400s naming the field before any AWS call, and the
contract, Bedrock's accepted field list, both request builders, openapi.yaml and the README agree."""

import json
import re
from pathlib import Path

import jsonschema_rs
import pytest
from gptoss.chat_request import parse_chat_request
from gptoss.converse import to_converse_request
from gptoss.errors import GatewayError
from gptoss.invoke import to_invoke_body
from gptoss.request_contract import (
    FIELDS,
    SIMPLE_CHECKS,
    Converse,
    Invoke,
    markdown_table,
    openapi_request_schema,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api_contract import openapi

MODEL_ID = "openai.gpt-oss-120b-1:0"
README = Path(__file__).resolve().parents[2] / "README.md"
CONFORMANCE = Path(__file__).resolve().parents[1] / "functions" / "bedrock_conformance.json"


def _bedrock_invoke_fields() -> tuple[str, ...]:
    """The accepted top-level fields as real InvokeModel lists them in its error for an unknown field (§8)."""
    case = next(case for case in json.loads(CONFORMANCE.read_text())["cases"] if case["id"] == "invoke-unknown-field")
    return tuple(re.findall(r"`([a-z_]+)`", case["expect"]["message_starts"].split("expected one of", 1)[1]))


BEDROCK_INVOKE_FIELDS = _bedrock_invoke_fields()


def body(**fields):
    return {"model": "gpt-oss-120b", "messages": [{"role": "user", "content": "Hello"}], **fields}


def rejected(request) -> GatewayError:
    with pytest.raises(GatewayError) as raised:
        parse_chat_request(request)
    assert raised.value.status == 400
    assert raised.value.type == "invalid_request_error"
    return raised.value


@pytest.mark.parametrize("name", ["thinking", "safety_identifier", "temprature", "reasoning", "extra_body"])
def test_an_unknown_field_is_refused_as_openai_does_naming_it(name):
    # Given a request with a field real InvokeModel would refuse after a round trip (or a typo)
    # When it is validated
    error = rejected(body(**{name: {"type": "enabled"}}))
    # Then the 400 says what OpenAI says, and names the field
    assert error.message.startswith(f"Unrecognized request argument supplied: {name}")
    assert error.param == name


@pytest.mark.parametrize(
    "name", ["amazon-bedrock-guardrailConfig", "amazon-bedrock-trace", "amazon-bedrock-streamProcessingMode"]
)
def test_a_caller_cannot_set_bedrock_guardrail_fields(name):
    # Given a caller trying to narrow the guardrail (tagSuffix makes Bedrock check only tagged text)
    request = body(**{name: {"tagSuffix": "abc", "streamProcessingMode": "ASYNCHRONOUS"}})
    # When it is validated
    error = rejected(request)
    # Then it is refused naming the field, with the reason
    assert error.param == name
    assert "guardrail" in error.message


STOP_EXPECTED = "a non-empty string or an array of at most 4 non-empty strings"
METADATA_EXPECTED = "an object of at most 16 string values up to 256 characters, keys up to 64"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("model", 42, "a string"),
        ("reasoning_effort", {"effort": "low"}, "one of 'low', 'medium', 'high'"),
        ("reasoning_effort", "extreme", "one of 'low', 'medium', 'high'"),
        ("temperature", "hot", "a number between 0 and 2"),
        ("temperature", 2.5, "a number between 0 and 2"),
        ("top_p", -0.1, "a number between 0 and 1"),
        ("frequency_penalty", 3, "a number between -2 and 2"),
        ("presence_penalty", True, "a number between -2 and 2"),
        ("max_tokens", 0, "a positive integer"),
        ("max_completion_tokens", 1.5, "a positive integer"),
        ("seed", "7", "an integer"),
        ("stream", "yes", "a boolean"),
        ("parallel_tool_calls", 1, "a boolean"),
        ("logprobs", "true", "a boolean"),
        ("top_logprobs", 21, "an integer between 0 and 20"),
        ("n", 3, "1: only n=1 is supported, Bedrock returns one choice per request"),
        ("stop", ["a", "b", "c", "d", "e"], STOP_EXPECTED),
        ("stop", "", STOP_EXPECTED),
        ("stop", [""], STOP_EXPECTED),
        ("stop", 5, STOP_EXPECTED),
        ("stream_options", {"include_usage": "yes"}, "an object"),
        ("stream_options", {"include_obfuscation": True}, "an object"),
        ("user", 42, "a string of at most 256 characters"),
        ("user", "u" * 257, "a string of at most 256 characters"),
        ("metadata", {"k": 1}, METADATA_EXPECTED),
        ("metadata", {f"k{i}": "v" for i in range(17)}, METADATA_EXPECTED),
        ("store", True, "false"),
        ("service_tier", "priority", "one of 'auto', 'default'"),
        ("modalities", ["text", "audio"], '["text"]'),
        ("logit_bias", {"50256": -100}, "an empty object (logit_bias is not supported by gpt-oss on Bedrock)"),
    ],
)
def test_an_ill_typed_field_is_a_400_naming_it(field, value, expected):
    # Given a request with one field of the wrong type or out of range
    request = body(stream=True, **{field: value}) if field == "stream_options" else body(**{field: value})
    # When it is validated
    error = rejected(request)
    # Then the 400 names that field and says what a valid value is
    assert error.param == field
    assert error.message == f"'{field}' must be {expected}."


@pytest.mark.parametrize("name", ["audio", "prediction", "functions", "function_call"])
def test_fields_gpt_oss_cannot_honour_are_refused_not_forwarded_to_be_ignored(name):
    # Given a field Bedrock would accept but gpt-oss cannot honour
    # When it is validated
    error = rejected(body(**{name: {"type": "content", "content": "x"}}))
    # Then the 400 names it and says why
    assert error.param == name
    assert "not supported" in error.message


def test_top_logprobs_needs_logprobs():
    assert rejected(body(top_logprobs=2)).param == "top_logprobs"
    assert parse_chat_request(body(logprobs=True, top_logprobs=2))["top_logprobs"] == 2


def test_the_contract_covers_exactly_the_fields_real_invoke_model_accepts():
    # Given Bedrock's own list of accepted top-level fields for gpt-oss (facts sheet §8)
    # Then the contract decides every one of them, and knows no other
    assert len(BEDROCK_INVOKE_FIELDS) == 30
    assert set(FIELDS) == set(BEDROCK_INVOKE_FIELDS)


def test_every_structured_field_has_its_schema_in_the_openapi_document():
    schemas = openapi()["components"]["schemas"]
    for name, field in FIELDS.items():
        ref = field.schema.get("$ref") or field.schema.get("items", {}).get("$ref")
        if ref:
            assert ref.rsplit("/", 1)[-1] in schemas, name


def test_the_openapi_document_is_the_contract():
    # Given the published OpenAPI document
    published = dict(openapi()["components"]["schemas"]["ChatCompletionRequest"])
    published.pop("description", None)
    # Then its ChatCompletionRequest is exactly what the contract defines (regenerate it from the contract if not)
    assert published == openapi_request_schema()


def test_the_readme_shows_the_contract_table():
    # Given the README's request-contract table
    # Then it is the one the contract prints (paste `markdown_table()` when the contract changes)
    assert markdown_table() in README.read_text()


request_values = {
    "temperature": st.floats(0, 1),
    "top_p": st.floats(0, 1),
    "max_tokens": st.integers(1, 100),
    "max_completion_tokens": st.integers(1, 100),
    "stop": st.one_of(st.text(min_size=1, max_size=5), st.lists(st.text(min_size=1, max_size=3), max_size=4)),
    "reasoning_effort": st.sampled_from(["low", "medium", "high"]),
    "response_format": st.just({"type": "json_object"}),
    "seed": st.integers(0, 100),
    "frequency_penalty": st.floats(-2, 2),
    "presence_penalty": st.floats(-2, 2),
    "parallel_tool_calls": st.booleans(),
    "n": st.just(1),
    "user": st.from_regex(r"\A[a-z0-9]{1,10}\Z"),
    "metadata": st.dictionaries(st.from_regex(r"\A[a-z]{1,5}\Z"), st.from_regex(r"\A[a-z ]{0,8}\Z"), max_size=3),
    "store": st.just(False),
    "service_tier": st.sampled_from(["auto", "default"]),
    "modalities": st.just(["text"]),
    "logit_bias": st.just({}),
    "logprobs": st.just(False),
    "stream": st.booleans(),
}


@settings(max_examples=150, deadline=None)
@given(fields=st.fixed_dictionaries({}, optional=request_values))
def test_both_backends_send_only_what_the_contract_says(fields):
    # Given any valid request
    request = parse_chat_request(body(**fields))
    # When both request builders turn it into Bedrock calls
    for stream in (False, True):
        invoke = to_invoke_body(request, MODEL_ID, stream=stream)
        # Then InvokeModel gets only fields it accepts, and exactly the forwarded ones the caller sent
        assert set(invoke) <= set(BEDROCK_INVOKE_FIELDS)
        forwarded = {name for name, field in FIELDS.items() if field.invoke is Invoke.FORWARD}
        assert {name for name in invoke if name in forwarded} == {
            name for name in request if name in forwarded and (stream or name != "stream_options")
        }
    converse = to_converse_request(request, MODEL_ID, None)
    # And Converse never gets stopSequences, and additionalModelRequestFields holds only the contract's fields
    assert "stopSequences" not in converse.get("inferenceConfig", {})
    additional = converse.get("additionalModelRequestFields", {})
    assert all(FIELDS[name].converse is Converse.ADDITIONAL for name in additional)


json_values = st.recursive(
    # Integral floats (2.0) are left out: JSON Schema counts them as integers, Bedrock's deserializer does not, and
    # the contract sides with Bedrock (see the test below).
    st.none()
    | st.booleans()
    | st.integers(-30, 30)
    | st.floats(-3, 3).filter(lambda f: not f.is_integer())
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=3), inner, max_size=17),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(SIMPLE_CHECKS)), value=json_values)
def test_the_contracts_fast_checks_agree_with_a_real_json_schema_validator(name, value):
    # Given any JSON value for any simple field
    # When the contract's compiled check and jsonschema (Draft 2020-12) judge it against the same schema
    verdict = jsonschema_rs.Draft202012Validator(FIELDS[name].schema).is_valid(value)
    # Then they agree (so openapi.yaml, which publishes that schema, tells clients the truth)
    assert SIMPLE_CHECKS[name](value) == verdict, (name, value)


def test_an_integral_float_is_not_an_integer_as_bedrock_deserialises_it():
    # Given max_tokens sent as 2.0 (Bedrock's serde deserialiser refuses a float for an integer)
    # Then the gateway refuses it up front too
    assert rejected(body(max_tokens=2.0)).param == "max_tokens"


def test_values_at_the_contracts_limits_are_accepted_and_one_past_them_refused():
    # Given a user and a metadata pair exactly as long as the contract allows, and one character longer
    longest = body(user="u" * 256, metadata={"k" * 64: "v" * 256})
    # Then the longest are accepted as sent
    assert parse_chat_request(longest)["metadata"] == longest["metadata"]
    # And one more character, or an empty key, is a 400 naming the field
    assert rejected(body(user="u" * 257)).param == "user"
    assert rejected(body(metadata={"k" * 65: "v"})).param == "metadata"
    assert rejected(body(metadata={"k": "v" * 257})).param == "metadata"
    assert rejected(body(metadata={"": "v"})).param == "metadata"


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_options_with_include_usage_are_accepted(include_usage):
    # Given a streaming request asking for (or declining) the usage chunk
    request = body(stream=True, stream_options={"include_usage": include_usage})
    # Then the contract accepts it as sent
    assert parse_chat_request(request)["stream_options"] == {"include_usage": include_usage}
