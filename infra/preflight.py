"""``make preflight``: read-only checks of the target account and Region before ``cdk deploy``.

Runs on the deployer's machine with the deployer's credentials and Region (the ones ``cdk deploy`` uses), calls only
read-only APIs, and prints one line per check: what was checked, ``ok``/``WARN``/``FAIL``/``skip``, and what was
found or how to fix it. Exits 1 when any check failed (the deploy, or a feature, would fail), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from infra.config import CONTEXT_KEY, STACK_NAME, GatewayConfig, load_config, stack_name

OK, WARN, FAIL, SKIP = "ok", "WARN", "FAIL", "skip"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUALIFIER = "hnb659fds"
QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"
# The synthesized template's CheckBootstrapVersion rule refuses bootstrap stacks older than this.
MIN_BOOTSTRAP_VERSION = 6
# When a configured layer version is missing: versions tried, newest first, to say which one to set instead.
LAYER_PROBE_ABOVE = 3
LAYER_PROBE_BELOW = 6
_LAYER_MISSING = ("ResourceNotFoundException", "AccessDeniedException")
_MODEL_MISSING = ("ResourceNotFoundException", "ValidationException")

Clients = Callable[[str], BaseClient]


@dataclass(frozen=True)
class Check:
    """One line of the table: what was checked, the result, and what was found or how to fix it."""

    name: str
    result: str
    detail: str


@dataclass(frozen=True)
class Target:
    """Where the stack would go: the Region, the cdk.json configuration, the bootstrap qualifier, the stack name."""

    region: str
    config: GatewayConfig
    qualifier: str = DEFAULT_QUALIFIER
    stack_name: str = STACK_NAME


def run_checks(target: Target, clients: Clients) -> list[Check]:
    """Every check, in the order a person fixes them. Without credentials there is nothing else to check."""
    try:
        identity = clients("sts").get_caller_identity()
    except (NoCredentialsError, ClientError, BotoCoreError) as error:
        return [Check("credentials", FAIL, f"{_reason(error)}; configure AWS credentials (e.g. AWS_PROFILE)")]
    checks = [Check("credentials", OK, f"account {identity['Account']} as {identity['Arn']}")]
    checks.append(_region(target))
    checks.append(_guarded("CDK bootstrap", lambda: _bootstrap(target, clients("ssm"), identity["Account"])))
    config = target.config
    layers = config.layers
    lambda_client = clients("lambda")
    for layer in (
        _Layer("Web Adapter layer", "web_adapter_version", layers.web_adapter_arn, layers.web_adapter_version),
        _Layer("Powertools layer", "powertools_version", layers.powertools_arn, layers.powertools_version),
    ):
        checks.append(_guarded(layer.label, partial(_layer, layer, target.region, lambda_client)))
    bedrock = clients("bedrock")
    for model in config.models.enabled:
        checks.append(_guarded(f"model {model}", partial(_model, model, target.region, bedrock)))
    checks.append(_guarded("Bedrock guardrails", lambda: _guardrails(config, target.region, bedrock)))
    checks.append(_guarded("API Gateway logging role", lambda: _cloudwatch_role(target, clients("apigateway"))))
    checks.extend(_batch_quotas(config, clients("service-quotas")))
    return checks


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """Run one check; an AWS error it did not expect becomes its FAIL line instead of ending the preflight."""
    try:
        return check()
    except (ClientError, BotoCoreError) as error:
        return Check(name, FAIL, _reason(error))


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Code', 'Error')}: {info.get('Message', '')}".rstrip(": ")
    return str(error)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _region(target: Target) -> Check:
    regions = target.config.regions
    if target.region in regions:
        return Check(f"Region {target.region}", OK, "gpt-oss is served in-Region here")
    return Check(
        f"Region {target.region}",
        FAIL,
        f"gpt-oss is not served in-Region here; deploy to one of {', '.join(regions)} (cdk.json gptoss.regions)",
    )


def _bootstrap(target: Target, ssm: BaseClient, account: str) -> Check:
    name = f"/cdk-bootstrap/{target.qualifier}/version"
    fix = f"run: npx cdk bootstrap aws://{account}/{target.region}"
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as error:
        if _error_code(error) != "ParameterNotFound":
            raise
        return Check("CDK bootstrap", FAIL, f"{name} not found: this environment is not bootstrapped; {fix}")
    version = int(value) if value.isdigit() else 0
    if version < MIN_BOOTSTRAP_VERSION:
        return Check("CDK bootstrap", FAIL, f"bootstrap version {value} < {MIN_BOOTSTRAP_VERSION}; {fix}")
    return Check("CDK bootstrap", OK, f"version {version} (qualifier {target.qualifier})")


@dataclass(frozen=True)
class _Layer:
    """A public layer named in cdk.json: ``key`` is its version's key under ``layers``."""

    name: str
    key: str
    arn_template: str
    version: int

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def arn(self, region: str, version: int | None = None) -> str:
        return self.arn_template.format(region=region, version=self.version if version is None else version)


def _layer(layer: _Layer, region: str, client: BaseClient) -> Check:
    found = _layer_version(client, layer.arn(region))
    if found is None:
        return Check(layer.label, FAIL, _missing_layer_fix(layer, region, client))
    architectures = found.get("CompatibleArchitectures") or []
    if architectures and "arm64" not in architectures:
        arn_key = layer.key.replace("_version", "_arn")
        return Check(layer.label, FAIL, f"built for {', '.join(architectures)}, not arm64; check layers.{arn_key}")
    runtimes = found.get("CompatibleRuntimes") or []
    if runtimes and "python3.13" not in runtimes:
        return Check(layer.label, FAIL, f"made for {', '.join(runtimes)}, not python3.13; check layers.{layer.key}")
    return Check(layer.label, OK, f"published in {region} for arm64")


def _layer_version(client: BaseClient, arn: str) -> dict[str, Any] | None:
    """The layer version, or None when it does not exist here (a public layer's missing version reads as denied)."""
    try:
        return client.get_layer_version_by_arn(Arn=arn)
    except ClientError as error:
        if _error_code(error) in _LAYER_MISSING:
            return None
        raise


def _missing_layer_fix(layer: _Layer, region: str, client: BaseClient) -> str:
    """Which version to set instead: the newest one published near the configured one."""
    version = layer.version
    above = range(version + LAYER_PROBE_ABOVE, version, -1)
    below = range(version - 1, max(version - LAYER_PROBE_BELOW, 1) - 1, -1)
    for candidate in (*above, *below):
        if _layer_version(client, layer.arn(region, candidate)) is not None:
            return f"not published in {region}; set layers.{layer.key} to {candidate} in cdk.json"
    lowest = below[-1] if below else version
    return f"not published in {region}, nor any version {lowest}..{above[0]}; check the layer's documentation"


def _model(model: str, region: str, bedrock: BaseClient) -> Check:
    name = f"model {model}"
    try:
        details = bedrock.get_foundation_model(modelIdentifier=model)["modelDetails"]
    except ClientError as error:
        if _error_code(error) not in _MODEL_MISSING:
            raise
        return Check(name, FAIL, f"not offered in {region}; disable it (models.enabled) or deploy elsewhere")
    availability = bedrock.get_foundation_model_availability(modelId=model)
    problem = _access_problem(availability, region)
    if problem:
        return Check(name, FAIL, problem)
    lifecycle = details.get("modelLifecycle", {}).get("status", "ACTIVE")
    if lifecycle != "ACTIVE":
        return Check(name, WARN, f"invocable, but its lifecycle is {lifecycle}: plan a move to its successor")
    return Check(name, OK, "offered here and invocable by this account")


def _access_problem(availability: Mapping[str, Any], region: str) -> str | None:
    """Why the account cannot invoke the model, from GetFoundationModelAvailability; None when it can."""
    if availability.get("regionAvailability") == "NOT_AVAILABLE":
        return f"not available in {region}; disable it (models.enabled) or deploy elsewhere"
    if availability.get("authorizationStatus") == "NOT_AUTHORIZED":
        return "this account is not authorized to use it (an SCP or IAM policy denies it); ask your AWS admin"
    if availability.get("entitlementAvailability") == "NOT_AVAILABLE":
        return "no model access for this account; request it in the Bedrock console (Model access)"
    agreement = availability.get("agreementAvailability") or {}
    status = agreement.get("status", "AVAILABLE")
    if status != "AVAILABLE":
        reason = agreement.get("errorMessage") or "accept its offer in the Bedrock console (Model access)"
        return f"model agreement is {status}: {reason}"
    return None


def _guardrails(config: GatewayConfig, region: str, bedrock: BaseClient) -> Check:
    if not config.guardrail.enabled:
        return Check("Bedrock guardrails", SKIP, "guardrail.enabled is false")
    bedrock.list_guardrails(maxResults=1)
    return Check("Bedrock guardrails", OK, f"available in {region}")


def _cloudwatch_role(target: Target, apigateway: BaseClient) -> Check:
    name = "API Gateway logging role"
    current = apigateway.get_account().get("cloudwatchRoleArn")
    if not target.config.api.cloudwatch_role:
        if current:
            return Check(name, OK, f"account role kept: {current}")
        return Check(
            name,
            FAIL,
            "the account has none, so the stage's logging fails; have it set centrally or set api.cloudwatch_role true",
        )
    role_name = current.rsplit("/", 1)[-1] if current else ""
    if current and not role_name.startswith(target.stack_name):
        return Check(name, WARN, f"deploy replaces the account's {current}; set api.cloudwatch_role false to keep it")
    return Check(name, OK, "the stack sets the account's role (api.cloudwatch_role)")


@dataclass(frozen=True)
class _BatchQuotas:
    minimum: float | None = None
    maximum: float | None = None

    @property
    def found(self) -> bool:
        return self.minimum is not None or self.maximum is not None


def _batch_quotas(config: GatewayConfig, quotas_client: BaseClient) -> list[Check]:
    try:
        quotas = _bedrock_quotas(quotas_client, "list_service_quotas")
        if not any(_matching(quotas, model).found for model in config.models.enabled):
            quotas = _bedrock_quotas(quotas_client, "list_aws_default_service_quotas")
    except (ClientError, BotoCoreError) as error:
        return [Check("batch quotas", FAIL, _reason(error))]
    return [_batch_check(config, model, _matching(quotas, model)) for model in config.models.enabled]


def _bedrock_quotas(client: BaseClient, operation: str) -> list[dict[str, Any]]:
    pages = client.get_paginator(operation).paginate(ServiceCode="bedrock")
    return [quota for page in pages for quota in page["Quotas"]]


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _model_key(model: str) -> str:
    """``openai.gpt-oss-120b-1:0`` → ``gptoss120b``, as it appears in quota names ("OpenAI GPT OSS 120b")."""
    return _normal(model.split(".", 1)[-1].rsplit("-", 1)[0])


def _matching(quotas: Iterable[Mapping[str, Any]], model: str) -> _BatchQuotas:
    """The batch record-count quotas naming this model: the minimum per job, and the tightest maximum."""
    key = _model_key(model)
    minimum: float | None = None
    maxima: list[float] = []
    for quota in quotas:
        name = _normal(str(quota.get("QuotaName", "")))
        if key not in name or "Value" not in quota:
            continue
        if name.startswith("minimumnumberofrecordsperbatchinferencejob"):
            minimum = float(quota["Value"])
        elif name.startswith(("recordsperbatchinferencejob", "recordsperinputfileperbatchinferencejob")):
            maxima.append(float(quota["Value"]))
    return _BatchQuotas(minimum, min(maxima) if maxima else None)


def _batch_check(config: GatewayConfig, model: str, quotas: _BatchQuotas) -> Check:
    name = f"batch quotas {model}"
    batch = config.batch
    if not quotas.found:
        return Check(name, WARN, "no batch quotas listed for this model; Bedrock's defaults assumed")
    problems = []
    if quotas.minimum is not None and batch.min_records < quotas.minimum:
        problems.append(f"set batch.min_records to at least {quotas.minimum:.0f} (the account's minimum)")
    if quotas.maximum is not None and batch.max_records > quotas.maximum:
        problems.append(
            f"set batch.max_records to at most {quotas.maximum:.0f} (the account's maximum) or request an increase"
        )
    if problems:
        return Check(name, FAIL, "; ".join(problems))
    bounds = f"{_shown(quotas.minimum)}..{_shown(quotas.maximum)}"
    return Check(name, OK, f"account allows {bounds} records; cdk.json {batch.min_records:,}..{batch.max_records:,}")


def _shown(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def render(checks: list[Check]) -> str:
    """The table a person reads first: one line per check, then the verdict."""
    width = max(len("CHECK"), *(len(check.name) for check in checks))
    lines = [f"{'CHECK':<{width}}  RESULT  DETAIL / HOW TO FIX"]
    lines += [f"{check.name:<{width}}  {check.result:<6}  {check.detail}" for check in checks]
    failed = sum(check.result == FAIL for check in checks)
    warned = sum(check.result == WARN for check in checks)
    verdict = f"{failed} failed: fix them before deploying" if failed else "ready to deploy"
    lines.append(f"preflight: {verdict} ({warned} warning{'s' if warned != 1 else ''})")
    return "\n".join(lines)


def load_target(context: Mapping[str, Any], region: str) -> Target:
    """The Target for cdk.json's ``context`` (validated like ``cdk synth`` does) in ``region``."""
    return Target(
        region=region,
        config=load_config(context.get(CONTEXT_KEY)),
        qualifier=str(context.get(QUALIFIER_CONTEXT) or DEFAULT_QUALIFIER),
        stack_name=stack_name(context.get),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--region", help="the Region to check (default: the one boto3 and cdk deploy resolve)")
    parser.add_argument("--profile", help="the AWS profile to use (default: boto3's usual resolution)")
    args = parser.parse_args(argv)
    # The Region cdk deploy picks: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's (boto3 skips AWS_REGION).
    region = args.region or os.environ.get("AWS_REGION") or None
    session = boto3.session.Session(profile_name=args.profile, region_name=region)
    if not session.region_name:
        print("preflight: no AWS Region configured; set AWS_REGION or pass --region", file=sys.stderr)
        return 1
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    target = load_target(context, session.region_name)
    checks = run_checks(target, session.client)
    print(render(checks))
    return 1 if any(check.result == FAIL for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
