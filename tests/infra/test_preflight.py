"""`make preflight` against a stubbed account: every AWS call is checked against botocore's service model by Stubber
(parameters and responses), and each case shows the line a deployer would read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber

from infra import preflight
from infra.config import GPT_OSS_20B, GPT_OSS_120B
from infra.preflight import FAIL, OK, SKIP, WARN, Check, Target, load_target, render, run_checks
from tests.infra.synthesis import shipped_context

ACCOUNT = "123456789012"
REGION = "us-west-2"
SERVICES = ("sts", "ssm", "lambda", "bedrock", "apigateway", "service-quotas")
WEB_ADAPTER = "arn:aws:lambda:{region}:753240598075:layer:LambdaAdapterLayerArm64:{version}"
POWERTOOLS = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:{version}"
QUOTA_MODEL_NAMES = {GPT_OSS_20B: "OpenAI GPT OSS 20b", GPT_OSS_120B: "OpenAI GPT OSS 120b"}


class Account:
    """Stubbed clients for one Region; `expect_*` queue the responses of a healthy account, tests override some."""

    def __init__(self, region: str) -> None:
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=region)
        self.region = region
        self.clients: dict[str, BaseClient] = {name: session.client(name) for name in SERVICES}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def client(self, service: str) -> BaseClient:
        return self.clients[service]

    def identity(self) -> None:
        arn = f"arn:aws:iam::{ACCOUNT}:user/deployer"
        self.stubs["sts"].add_response("get_caller_identity", {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": arn})

    def bootstrap(self, version: str = "30") -> None:
        name = "/cdk-bootstrap/hnb659fds/version"
        self.stubs["ssm"].add_response(
            "get_parameter", {"Parameter": {"Name": name, "Type": "String", "Value": version}}, {"Name": name}
        )

    def layer(self, template: str, version: int, **overrides: Any) -> None:
        arn = template.format(region=self.region, version=version)
        found = {"LayerVersionArn": arn, "Version": version, "CompatibleArchitectures": ["arm64"], **overrides}
        self.stubs["lambda"].add_response("get_layer_version_by_arn", found, {"Arn": arn})

    def missing_layer(self, template: str, version: int, code: str = "ResourceNotFoundException") -> None:
        arn = template.format(region=self.region, version=version)
        self.stubs["lambda"].add_client_error(
            "get_layer_version_by_arn", code, "not found", 404, expected_params={"Arn": arn}
        )

    def model(self, model: str, **availability: str) -> None:
        arn = f"arn:aws:bedrock:{self.region}::foundation-model/{model}"
        details = {"modelArn": arn, "modelId": model, "modelLifecycle": {"status": "ACTIVE"}}
        self.stubs["bedrock"].add_response(
            "get_foundation_model", {"modelDetails": details}, {"modelIdentifier": model}
        )
        answer = {
            "modelId": model,
            "agreementAvailability": {"status": "AVAILABLE"},
            "authorizationStatus": "AUTHORIZED",
            "entitlementAvailability": "AVAILABLE",
            "regionAvailability": "AVAILABLE",
            **availability,
        }
        self.stubs["bedrock"].add_response("get_foundation_model_availability", answer, {"modelId": model})

    def guardrails(self) -> None:
        self.stubs["bedrock"].add_response("list_guardrails", {"guardrails": []}, {"maxResults": 1})

    def logging_role(self, arn: str | None = None) -> None:
        self.stubs["apigateway"].add_response("get_account", {"cloudwatchRoleArn": arn} if arn else {}, {})

    def quotas(self, minimum: float = 100, maximum: float = 50_000, operation: str = "list_service_quotas") -> None:
        quotas = []
        for name in QUOTA_MODEL_NAMES.values():
            quotas += [
                quota(f"Minimum number of records per batch inference job for {name}", minimum),
                quota(f"Records per batch inference job for {name}", maximum),
                quota(f"Records per input file per batch inference job for {name}", maximum),
                quota(f"On-demand InvokeModel tokens per minute for {name}", 1_000_000),
            ]
        self.stubs["service-quotas"].add_response(operation, {"Quotas": quotas}, {"ServiceCode": "bedrock"})

    def healthy(self, **replaced: Callable[[], object]) -> None:
        """Queue a bootstrapped account with both layers, both models granted, guardrails and Bedrock's default
        quotas; a step named in `replaced` runs its replacement instead, in the same place (calls to one client
        are answered in order)."""
        steps: dict[str, Callable[[], object]] = {
            "identity": self.identity,
            "bootstrap": self.bootstrap,
            "web_adapter": lambda: self.layer(WEB_ADAPTER, 30),
            "powertools": lambda: self.layer(POWERTOOLS, 27, CompatibleRuntimes=["python3.13"]),
            "models": lambda: [self.model(model) for model in (GPT_OSS_20B, GPT_OSS_120B)],
            "guardrails": self.guardrails,
            "logging_role": self.logging_role,
            "quotas": self.quotas,
        }
        for name, step in steps.items():
            replaced.get(name, step)()


def quota(name: str, value: float) -> dict[str, Any]:
    return {"ServiceCode": "bedrock", "QuotaName": name, "Value": value}


@pytest.fixture
def account() -> Iterator[Account]:
    """The stubbed account; on exit every queued call must have been made, with exactly the expected parameters."""
    stubbed = Account(REGION)
    with ExitStack() as stack:
        for stub in stubbed.stubs.values():
            stack.enter_context(stub)
        yield stubbed
        for stub in stubbed.stubs.values():
            stub.assert_no_pending_responses()


def no_access_to(account: Account, denied: str) -> None:
    """Both models offered; `denied` without model access for this account."""
    for model in (GPT_OSS_20B, GPT_OSS_120B):
        account.model(model, **({"entitlementAvailability": "NOT_AVAILABLE"} if model == denied else {}))


def target(region: str = REGION, **gptoss: Any) -> Target:
    context = shipped_context()
    context["gptoss"] = {**context["gptoss"], **gptoss}
    return load_target(context, region)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_a_ready_account_passes_every_check(account: Account) -> None:
    # Given a bootstrapped account with the layers published, model access and Bedrock's default batch quotas
    account.healthy()
    # When the preflight runs with the shipped cdk.json
    checks = run_checks(target(), account.client)
    # Then one line per check, every one ok, and the verdict says so
    assert [check.name for check in checks] == [
        "credentials",
        f"Region {REGION}",
        "CDK bootstrap",
        "Web Adapter layer v30",
        "Powertools layer v27",
        f"model {GPT_OSS_20B}",
        f"model {GPT_OSS_120B}",
        "Bedrock guardrails",
        "API Gateway logging role",
        f"batch quotas {GPT_OSS_20B}",
        f"batch quotas {GPT_OSS_120B}",
    ]
    assert {check.result for check in checks} == {OK}, render(checks)
    table = render(checks)
    assert table.splitlines()[-1] == "preflight: ready to deploy (0 warnings)"
    assert len(table.splitlines()) == len(checks) + 2


def test_no_model_access_fails_naming_the_model_and_the_fix(account: Account) -> None:
    # Given an account without access to gpt-oss-120b
    account.healthy(models=lambda: no_access_to(account, GPT_OSS_120B))
    # When the preflight runs
    checks = by_name(run_checks(target(), account.client))
    # Then that model's line fails with the fix, the other model is fine, and the verdict counts the failure
    assert checks[f"model {GPT_OSS_120B}"].result == FAIL
    assert "no model access" in checks[f"model {GPT_OSS_120B}"].detail
    assert "request it in the Bedrock console (Model access)" in checks[f"model {GPT_OSS_120B}"].detail
    assert checks[f"model {GPT_OSS_20B}"].result == OK
    assert render(list(checks.values())).splitlines()[-1].startswith("preflight: 1 failed")


@pytest.mark.parametrize(
    ("availability", "expected"),
    [
        ({"authorizationStatus": "NOT_AUTHORIZED"}, "not authorized"),
        ({"regionAvailability": "NOT_AVAILABLE"}, f"not available in {REGION}"),
        ({"agreementAvailability": {"status": "PENDING"}}, "agreement is PENDING"),
        ({"agreementAvailability": {"status": "ERROR", "errorMessage": "payment"}}, "agreement is ERROR: payment"),
    ],
)
def test_every_way_a_model_can_be_out_of_reach_fails(
    account: Account, availability: dict[str, Any], expected: str
) -> None:
    # Given one availability answer that blocks invocation
    account.healthy(models=lambda: (account.model(GPT_OSS_20B, **availability), account.model(GPT_OSS_120B)))
    # When checked, Then the model's line fails saying why
    check = by_name(run_checks(target(), account.client))[f"model {GPT_OSS_20B}"]
    assert (check.result, expected in check.detail) == (FAIL, True), check


def test_a_missing_layer_version_fails_and_says_which_version_to_set(account: Account) -> None:
    # Given a Region where Web Adapter v30 is not published (nor 31..33, 29) but v28 is
    def web_adapter() -> None:
        account.missing_layer(WEB_ADAPTER, 30, code="AccessDeniedException")  # how a missing public version reads
        for version in (33, 32, 31, 29):
            account.missing_layer(WEB_ADAPTER, version)
        account.layer(WEB_ADAPTER, 28)

    account.healthy(web_adapter=web_adapter)
    # When the preflight runs
    checks = by_name(run_checks(target(), account.client))
    # Then the Web Adapter line fails and names the cdk.json key and the version to set
    check = checks["Web Adapter layer v30"]
    assert check.result == FAIL
    assert check.detail == f"not published in {REGION}; set layers.web_adapter_version to 28 in cdk.json"
    assert checks["Powertools layer v27"].result == OK


def test_a_layer_with_no_version_nearby_fails_without_guessing(account: Account) -> None:
    # Given a Powertools layer with no version anywhere near the configured one
    versions = (27, 30, 29, 28, 26, 25, 24, 23, 22, 21)
    account.healthy(powertools=lambda: [account.missing_layer(POWERTOOLS, version) for version in versions])
    # When checked, Then it fails and sends the deployer to the layer's documentation
    check = by_name(run_checks(target(), account.client))["Powertools layer v27"]
    assert check.result == FAIL and check.detail.endswith("nor any version 21..30; check the layer's documentation")


def test_a_layer_for_the_wrong_architecture_or_runtime_fails(account: Account) -> None:
    # Given layers that exist but for x86_64 / Python 3.12
    account.healthy(
        web_adapter=lambda: account.layer(WEB_ADAPTER, 30, CompatibleArchitectures=["x86_64"]),
        powertools=lambda: account.layer(POWERTOOLS, 27, CompatibleRuntimes=["python3.12"]),
    )
    checks = by_name(run_checks(target(), account.client))
    # Then both fail saying what they were built for
    assert checks["Web Adapter layer v30"].detail.startswith("built for x86_64, not arm64")
    assert checks["Powertools layer v27"].detail.startswith("made for python3.12, not python3.13")


def test_an_unsupported_region_fails_the_region_and_the_models() -> None:
    # Given a Region where gpt-oss is not offered (Bedrock answers that the model id is invalid there)
    stubbed = Account("ca-central-1")
    with ExitStack() as stack:
        for stub in stubbed.stubs.values():
            stack.enter_context(stub)

        def models() -> None:
            for model in (GPT_OSS_20B, GPT_OSS_120B):
                stubbed.stubs["bedrock"].add_client_error(
                    "get_foundation_model",
                    "ValidationException",
                    "The provided model identifier is invalid.",
                    400,
                    expected_params={"modelIdentifier": model},
                )

        def quotas() -> None:  # no batch quota names the models, applied or default
            for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
                stubbed.stubs["service-quotas"].add_response(operation, {"Quotas": []}, {"ServiceCode": "bedrock"})

        stubbed.healthy(models=models, quotas=quotas)
        # When the preflight runs
        checks = by_name(run_checks(target("ca-central-1"), stubbed.client))
        for stub in stubbed.stubs.values():
            stub.assert_no_pending_responses()
    # Then the Region and both models fail, and the quota lines warn instead of inventing numbers
    assert checks["Region ca-central-1"].result == FAIL
    assert "deploy to one of us-east-1" in checks["Region ca-central-1"].detail
    for model in (GPT_OSS_20B, GPT_OSS_120B):
        assert checks[f"model {model}"] == Check(
            f"model {model}", FAIL, "not offered in ca-central-1; disable it (models.enabled) or deploy elsewhere"
        )
        assert checks[f"batch quotas {model}"].result == WARN


def test_an_environment_that_is_not_bootstrapped_fails_with_the_command_to_run(account: Account) -> None:
    # Given no CDK bootstrap parameter
    name = "/cdk-bootstrap/hnb659fds/version"
    ssm = account.stubs["ssm"]
    account.healthy(
        bootstrap=lambda: ssm.add_client_error(
            "get_parameter", "ParameterNotFound", "", 400, expected_params={"Name": name}
        )
    )
    check = by_name(run_checks(target(), account.client))["CDK bootstrap"]
    # Then the line fails with the exact bootstrap command for this account and Region
    assert check.result == FAIL and check.detail.endswith(f"run: npx cdk bootstrap aws://{ACCOUNT}/{REGION}")


def test_an_old_bootstrap_and_a_custom_qualifier_are_checked(account: Account) -> None:
    # Given cdk.json naming a custom bootstrap qualifier, whose stack is older than the template requires
    name = "/cdk-bootstrap/team42/version"
    parameter = {"Parameter": {"Name": name, "Type": "String", "Value": "5"}}
    account.healthy(bootstrap=lambda: account.stubs["ssm"].add_response("get_parameter", parameter, {"Name": name}))
    context = {**shipped_context(), "@aws-cdk/core:bootstrapQualifier": "team42"}
    check = by_name(run_checks(load_target(context, REGION), account.client))["CDK bootstrap"]
    assert check.result == FAIL and check.detail.startswith("bootstrap version 5 < 6")


def test_batch_quotas_tighter_than_cdk_json_fail_with_the_values_to_set(account: Account) -> None:
    # Given an account whose batch jobs need at least 1,000 records and take at most 10,000
    account.healthy(quotas=lambda: account.quotas(minimum=1000, maximum=10_000))
    check = by_name(run_checks(target(), account.client))[f"batch quotas {GPT_OSS_120B}"]
    # Then the shipped 100..50,000 fails, naming both keys and the account's values
    assert check.result == FAIL
    assert "set batch.min_records to at least 1000" in check.detail
    assert "set batch.max_records to at most 10000" in check.detail


def test_default_quotas_are_used_when_none_are_applied(account: Account) -> None:
    # Given an account with no applied batch quotas, only AWS's defaults
    def quotas() -> None:
        account.stubs["service-quotas"].add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "bedrock"})
        account.quotas(operation="list_aws_default_service_quotas")

    account.healthy(quotas=quotas)
    check = by_name(run_checks(target(), account.client))[f"batch quotas {GPT_OSS_20B}"]
    assert check == Check(f"batch quotas {GPT_OSS_20B}", OK, "account allows 100..50,000 records; cdk.json 100..50,000")


def test_a_disabled_guardrail_is_not_checked_and_a_central_logging_role_must_exist(account: Account) -> None:
    # Given cdk.json with the guardrail off and the API Gateway logging role managed centrally, but not set
    account.healthy(guardrails=lambda: None)
    config = target(guardrail={"enabled": False}, api={"cloudwatch_role": False})
    checks = by_name(run_checks(config, account.client))
    # Then guardrails are skipped (no call), and the missing account role fails: the stage's logging would
    assert checks["Bedrock guardrails"].result == SKIP
    assert checks["API Gateway logging role"].result == FAIL
    assert "api.cloudwatch_role true" in checks["API Gateway logging role"].detail


def test_replacing_another_account_logging_role_is_a_warning(account: Account) -> None:
    # Given an account whose API Gateway logging role was set by someone else
    other = f"arn:aws:iam::{ACCOUNT}:role/platform-apigw-logs"
    account.healthy(logging_role=lambda: account.logging_role(other))
    check = by_name(run_checks(target(), account.client))["API Gateway logging role"]
    # Then the deployer learns the stack would replace it, and how to keep it
    assert check.result == WARN and other in check.detail and "api.cloudwatch_role false" in check.detail


def test_unexpected_aws_errors_become_their_own_failed_line(account: Account) -> None:
    # Given credentials not allowed to list guardrails
    bedrock = account.stubs["bedrock"]
    account.healthy(
        guardrails=lambda: bedrock.add_client_error(
            "list_guardrails", "AccessDeniedException", "no bedrock:ListGuardrails"
        )
    )
    check = by_name(run_checks(target(), account.client))["Bedrock guardrails"]
    # Then that line fails with AWS's own words, and the preflight still checks everything else
    assert check == Check("Bedrock guardrails", FAIL, "AccessDeniedException: no bedrock:ListGuardrails")


def test_without_credentials_there_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a machine with no AWS credentials at all
    session = boto3.session.Session(region_name=REGION)
    monkeypatch.setattr(session._session, "get_credentials", lambda: None)
    # When the preflight runs, Then it stops at the first line and says what to do
    (check,) = run_checks(target(), session.client)
    assert (check.name, check.result) == ("credentials", FAIL)
    assert "configure AWS credentials" in check.detail


def test_main_prints_the_table_and_exits_non_zero_on_a_failure(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given `make preflight` in an account without access to one model
    account.healthy(models=lambda: no_access_to(account, GPT_OSS_120B))

    class Session:
        region_name = REGION

        def __init__(self, **kwargs: Any) -> None:
            pass

        client = staticmethod(account.client)

    monkeypatch.setattr(preflight.boto3.session, "Session", Session)
    # When it runs, Then it prints the table and exits 1 (make deploy stops before cdk deploy)
    assert preflight.main([]) == 1
    output = capsys.readouterr().out
    failed = next(line for line in output.splitlines() if GPT_OSS_120B in line and FAIL in line)
    assert "no model access for this account" in failed


def test_main_refuses_to_guess_a_region(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Given no Region anywhere, When the preflight starts, Then it asks for one instead of checking a default
    monkeypatch.setattr(preflight.boto3.session, "Session", lambda **kwargs: type("S", (), {"region_name": None})())
    assert preflight.main([]) == 1
    assert "no AWS Region configured" in capsys.readouterr().err
