"""The deployment's guardrail reaches Bedrock in the shape each operation validates, and its verdict reaches clients."""

import botocore.session
import pytest
from botocore.validate import ParamValidator
from gptoss.guardrail import GuardrailConfig, guardrail_field

SERVICE = botocore.session.get_session().get_service_model("bedrock-runtime")


def invoke_params(guardrail: GuardrailConfig) -> dict:
    return {"modelId": "openai.gpt-oss-120b-1:0", "body": b"{}", **guardrail.invoke_kwargs()}


@pytest.mark.parametrize(("trace", "sent"), [(True, "ENABLED"), (False, "DISABLED")])
def test_invoke_model_calls_carry_the_guardrail_and_its_trace_setting(trace, sent):
    # Given a deployment guardrail with trace on or off
    guardrail = GuardrailConfig("abc123def", "7", trace=trace)
    # When the InvokeModel call (whole and streamed) is built
    params = invoke_params(guardrail)
    # Then Bedrock is asked to apply exactly that guardrail version, with the trace setting in Bedrock's spelling
    assert params["guardrailIdentifier"] == "abc123def"
    assert params["guardrailVersion"] == "7"
    assert params["trace"] == sent
    for operation in ("InvokeModel", "InvokeModelWithResponseStream"):
        report = ParamValidator().validate(params, SERVICE.operation_model(operation).input_shape)
        assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("action", ["INTERVENED", "intervened", "GUARDRAIL_INTERVENED"])
def test_every_spelling_of_an_intervention_is_reported_as_intervened(action):
    # Given a guardrail verdict as InvokeModel ("INTERVENED") or ApplyGuardrail ("GUARDRAIL_INTERVENED") spell it
    # When it becomes the completion's guardrail field
    field = guardrail_field(action, {"input": {"g1": {}}})
    # Then the client sees the documented action and the trace
    assert field == {"action": "INTERVENED", "trace": {"input": {"g1": {}}}}


def test_a_verdict_without_intervention_or_trace_is_none_with_an_empty_trace():
    # Given a guardrail that let the answer through and sent no trace
    # Then the client still gets a well-formed field: action NONE and an empty trace object
    assert guardrail_field("NONE", None) == {"action": "NONE", "trace": {}}
