"""Template choices that only show in a real account: which layer's files win, where the state machine logs, the
account-wide API Gateway CloudWatch role, and the idle limit handed to the API functions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.synthesis import Synth, synthesize
from tests.infra.template_helpers import functions_by_name

PUSH_TO_CLOUDWATCH = "AmazonAPIGatewayPushToCloudWatchLogs"


@pytest.fixture(scope="module")
def centrally_managed(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The stack for an account whose API Gateway logging role is managed centrally, behind a stricter proxy."""
    return synthesize(tmp_path_factory.mktemp("central"), {"api": {"cloudwatch_role": False, "idle_limit_seconds": 60}})


def layer_kind(layer: Any) -> str:
    text = json.dumps(layer)
    for marker, kind in (
        ("LambdaAdapterLayer", "web_adapter"),
        ("AWSLambdaPowertoolsPython", "powertools"),
        ("LayersDependencies", "dependencies"),
        ("LayersShared", "shared"),
    ):
        if marker in text:
            return kind
    raise AssertionError(f"unknown layer {text}")


def test_pinned_dependencies_are_extracted_after_the_public_powertools_layer(synth: Synth) -> None:
    # Given every function of the stack that uses layers
    functions = {name: props for name, (_, props) in functions_by_name(synth.resources).items() if props.get("Layers")}
    assert {"chat", "converse"} <= set(functions) and len(functions) > 2
    for name, props in functions.items():
        kinds = [layer_kind(layer) for layer in props["Layers"]]
        # Then Lambda extracts Powertools first and the pinned dependencies over it (a later layer's file wins),
        # and the gateway's own code last
        expected = ["powertools", "dependencies", "shared"]
        assert kinds in (expected, ["web_adapter", *expected]), (name, kinds)
    # And the API functions, which run under the Web Adapter, have it
    assert layer_kind(functions["chat"]["Layers"][0]) == "web_adapter"


def test_state_machine_logs_under_aws_vendedlogs_with_a_name_new_to_each_stack(synth: Synth) -> None:
    # Given the batch state machine's log destination
    (machine,) = synth.of_type("AWS::StepFunctions::StateMachine").values()
    destination = machine["Properties"]["LoggingConfiguration"]["Destinations"][0]
    group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    name = synth.resources[group_id]["Properties"]["LogGroupName"]
    # Then its log group lives under /aws/vendedlogs/states/, named after the stack and its GUID (a group retained
    # from a destroyed stack cannot collide with the next deploy's)
    parts = name["Fn::Join"][1]
    assert parts[0] == "/aws/vendedlogs/states/"
    assert {"Ref": "AWS::StackName"} in parts
    assert "AWS::StackId" in json.dumps(parts)


def test_the_account_cloudwatch_role_is_created_by_default(synth: Synth) -> None:
    # Given the shipped cdk.json (api.cloudwatch_role true)
    (account,) = synth.of_type("AWS::ApiGateway::Account").values()
    # Then the stack sets the Region's API Gateway logging role to one it creates (kept on stack deletion)
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = synth.resources[role_id]
    assert PUSH_TO_CLOUDWATCH in json.dumps(role["Properties"]["ManagedPolicyArns"])
    assert role["DeletionPolicy"] == "Retain"


def test_a_centrally_managed_account_keeps_its_own_cloudwatch_role(centrally_managed: Synth) -> None:
    # Given api.cloudwatch_role false
    # Then the stack neither creates a logging role nor touches the account setting
    assert not centrally_managed.of_type("AWS::ApiGateway::Account")
    assert PUSH_TO_CLOUDWATCH not in json.dumps(centrally_managed.of_type("AWS::IAM::Role"))
    # And the stage still writes access logs (through the account's existing role)
    (stage,) = centrally_managed.of_type("AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["AccessLogSetting"]["DestinationArn"]


def test_the_idle_limit_reaches_the_api_functions(synth: Synth, centrally_managed: Synth) -> None:
    # Given the shipped cdk.json and one with api.idle_limit_seconds 60
    for template, expected in ((synth, "300"), (centrally_managed, "60")):
        functions = functions_by_name(template.resources)
        # Then both API functions get it as IDLE_LIMIT_SECONDS, which they validate at cold start
        for name in ("chat", "converse"):
            assert functions[name][1]["Environment"]["Variables"]["IDLE_LIMIT_SECONDS"] == expected
