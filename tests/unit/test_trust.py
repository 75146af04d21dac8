"""The trust boundary: callers cannot narrow or switch off the guardrail, nor pick billing options the deployment
did not allow. Every refusal is a 400 whose `param` names what was refused."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from gptoss.errors import GatewayError
from gptoss.guardrail import GuardrailConfig
from gptoss.models import GPT_OSS_20B
from gptoss.trust import (
    NATIVE_CONVERSE_MEMBERS,
    OPT_IN,
    OPT_IN_MEMBERS,
    PASS,
    native_converse_request,
    refuse_reserved_keys,
)

from tests.api_contract import openapi

GUARDRAIL = GuardrailConfig(identifier="gr-configured", version="7", trace=True)
HELLO = [{"role": "user", "content": [{"text": "Hello"}]}]
SERVICE_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")


def refused(call: Any, *args: Any, **kwargs: Any) -> GatewayError:
    with pytest.raises(GatewayError) as raised:
        call(*args, **kwargs)
    assert (raised.value.status, raised.value.type) == (400, "invalid_request_error")
    return raised.value


def native(body: dict[str, Any], opt_ins: tuple[str, ...] = ()) -> dict[str, Any]:
    return native_converse_request(body, model_id=GPT_OSS_20B, guardrail=GUARDRAIL, opt_ins=opt_ins)


@pytest.mark.parametrize("operation", ["Converse", "ConverseStream"])
def test_every_converse_request_member_has_a_decided_treatment(operation: str) -> None:
    # Given the Converse request shape of the botocore the functions run with
    members = set(SERVICE_MODEL.operation_model(operation).input_shape.members)
    # Then the native route's table decides exactly those members: a new one fails here until someone decides it
    assert set(NATIVE_CONVERSE_MEMBERS) == members


@pytest.mark.parametrize(
    "key", ["amazon-bedrock-guardrailConfig", "Amazon-Bedrock-GuardrailConfig", "amazon-bedrock-trace"]
)
def test_amazon_bedrock_members_are_refused_by_name(key: str) -> None:
    # Given a chat body carrying a Bedrock control member (e.g. a tagSuffix that narrows the guardrail)
    body = {"model": "gpt-oss-20b", "messages": [], key: {"tagSuffix": "x", "streamProcessingMode": "ASYNCHRONOUS"}}
    # When the trust boundary checks it
    error = refused(refuse_reserved_keys, body)
    # Then the 400 names the member
    assert error.param == key
    assert key in error.message


def test_ordinary_bodies_and_nested_lookalikes_pass() -> None:
    # Given a body whose tool schema legitimately has a property named like a Bedrock control
    schema = {"type": "object", "properties": {"amazon-bedrock-x": {"type": "string"}}}
    body = {"model": "m", "messages": [], "tools": [{"type": "function", "function": {"parameters": schema}}]}
    # Then only top-level members are Bedrock controls, and a non-object body is left to the request contract
    refuse_reserved_keys(body)
    refuse_reserved_keys([{"amazon-bedrock-guardrailConfig": {}}])


def test_a_native_body_gets_the_path_model_and_the_configured_guardrail_and_passes_botocore() -> None:
    # Given a native body using every member a caller may set, naming the model by alias
    body = {
        "modelId": "gpt-oss-20b",
        "messages": HELLO,
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 32},
        "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]},
        "outputConfig": {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{}"}}}},
        "additionalModelRequestFields": {"reasoning_effort": "low"},
        "additionalModelResponseFieldPaths": ["/x"],
        "requestMetadata": {"team": "a"},
    }
    # When it is turned into Converse arguments
    kwargs = native(body)
    # Then it is passed as sent, with the path's model id and the deployment's guardrail, and botocore accepts it
    assert kwargs == {**body, "modelId": GPT_OSS_20B, "guardrailConfig": GUARDRAIL.converse_config()}
    report = ParamValidator().validate(kwargs, SERVICE_MODEL.operation_model("Converse").input_shape)
    assert not report.has_errors(), report.generate_report()


def test_without_a_configured_guardrail_none_is_added() -> None:
    kwargs = native_converse_request({"messages": HELLO}, model_id=GPT_OSS_20B, guardrail=None)
    assert kwargs == {"messages": HELLO, "modelId": GPT_OSS_20B}


@pytest.mark.parametrize(
    ("member", "value", "wording"),
    [
        ("guardrailConfig", {"guardrailIdentifier": "other", "guardrailVersion": "1"}, "configured guardrail"),
        ("projectIdentifier", "proj-1", "project"),
        ("promptVariables", {"topic": {"text": "x"}}, "Prompt management"),
        ("modelId", "openai.gpt-oss-120b-1:0", "path names the model"),
        ("amazon-bedrock-guardrailConfig", {"tagSuffix": "x"}, "only this gateway sets"),
        ("bogus", 1, "Unknown parameter bogus"),
    ],
)
def test_members_the_deployment_decides_are_refused_by_name(member: str, value: object, wording: str) -> None:
    # Given a native body that tries to set a member the deployment owns (or one nobody decided)
    error = refused(native, {"messages": HELLO, member: value})
    # Then the 400 names it and says why
    assert error.param == member
    assert wording in error.message


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"messages": [{"role": "user", "content": [{"text": "a"}, {"guardContent": {"text": {"text": "b"}}}]}]},
            "messages[0].content[1].guardContent",
        ),
        (
            {"messages": HELLO, "system": [{"text": "s"}, {"guardContent": {"text": {"text": "b"}}}]},
            "system[1].guardContent",
        ),
    ],
    ids=["messages", "system"],
)
def test_guard_content_blocks_are_refused_wherever_they_are(body: dict[str, Any], param: str) -> None:
    # Given a body that wraps part of its text in guardContent (the guardrail would then check only that part)
    error = refused(native, body)
    # Then the block is refused by its position
    assert error.param == param
    assert "guardContent" in error.message


def test_bedrock_controls_inside_additional_model_request_fields_are_refused() -> None:
    body = {"messages": HELLO, "additionalModelRequestFields": {"amazon-bedrock-guardrailConfig": {"tagSuffix": "x"}}}
    error = refused(native, body)
    assert error.param == "additionalModelRequestFields.amazon-bedrock-guardrailConfig"


@pytest.mark.parametrize(
    ("member", "value"), [("serviceTier", {"type": "flex"}), ("performanceConfig", {"latency": "optimized"})]
)
def test_billing_members_need_the_deployment_to_allow_them(member: str, value: dict[str, str]) -> None:
    # Given a body choosing a billing option
    body = {"messages": HELLO, member: value}
    # When the deployment has not allowed it, it is refused by name
    error = refused(native, body)
    assert error.param == member
    assert "not enabled on this gateway" in error.message
    # And when it has, the option is passed on
    assert native(body, opt_ins=(member,))[member] == value
    assert member in OPT_IN_MEMBERS


def test_ill_shaped_messages_are_left_for_botocore_to_describe() -> None:
    # Given messages whose shape is wrong (botocore's validation names these precisely)
    body = {"messages": ["x", {"content": "y"}, {"content": [1, None]}], "system": "z"}
    # Then the trust boundary passes them through rather than failing on them
    assert native(body)["messages"] == body["messages"]


def test_the_openapi_document_lists_exactly_the_members_a_caller_may_send() -> None:
    # Given the documented native Converse request (modelId comes from the path)
    documented = set(openapi()["components"]["schemas"]["ConverseRequest"]["properties"])
    # Then it is the set of members the trust boundary passes on or lets a deployment allow
    sendable = {name for name, (kind, _) in NATIVE_CONVERSE_MEMBERS.items() if kind in (PASS, OPT_IN)}
    assert documented == sendable


def test_each_refusal_says_what_the_caller_can_do_instead() -> None:
    # Given bodies naming another model, choosing a billing option not allowed, and wrapping text in guardContent
    other_model = refused(native, {"messages": HELLO, "modelId": "openai.gpt-oss-120b-1:0"})
    billing = refused(native, {"messages": HELLO, "serviceTier": {"type": "flex"}})
    guarded = refused(native, {"messages": HELLO, "system": [{"guardContent": {"text": {"text": "b"}}}]})
    # Then each 400 says why, and what to do instead
    assert other_model.message == (
        f"modelId 'openai.gpt-oss-120b-1:0' in the body differs from the model in the path ({GPT_OSS_20B}); "
        "the path names the model."
    )
    assert billing.message == (
        "serviceTier is not enabled on this gateway: it changes what the account is billed. A platform team can "
        "allow it in the deployment's configuration."
    )
    assert guarded.message == (
        "system[0].guardContent is not accepted: a guardContent block would limit the guardrail to the wrapped "
        "text. Send the text as a plain text block; the configured guardrail checks all of it."
    )


def test_a_guard_content_block_after_an_ill_shaped_one_is_still_refused() -> None:
    # Given a system list whose first item is not a block, followed by a guardContent block
    body = {"messages": HELLO, "system": ["oops", {"guardContent": {"text": {"text": "b"}}}]}
    # Then the guardContent block is refused by its position, not left for botocore's shape error
    assert refused(native, body).param == "system[1].guardContent"
