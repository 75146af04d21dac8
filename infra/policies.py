"""How long the gateway keeps what it writes: the removal policy of stateful resources and the log retention."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import LOG_RETENTION_DAYS, GatewayConfig


def removal_policy(config: GatewayConfig) -> cdk.RemovalPolicy:
    return cdk.RemovalPolicy.DESTROY if config.removal_policy == "destroy" else cdk.RemovalPolicy.RETAIN


def retention(config: GatewayConfig) -> logs.RetentionDays:
    """The configured log retention as the CDK enum (whose members are declared in ascending day order)."""
    members = [member for member in logs.RetentionDays if member is not logs.RetentionDays.INFINITE]
    return dict(zip(LOG_RETENTION_DAYS, members, strict=True))[config.observability.log_retention_days]


def log_group(scope: Construct, construct_id: str, config: GatewayConfig, *, name: str | None = None) -> logs.LogGroup:
    """A log group with the configured retention and removal policy (every log group of the gateway is one)."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        retention=retention(config),
        removal_policy=removal_policy(config),
    )


def vended_log_group_name(service: str, purpose: str) -> str:
    """``/aws/vendedlogs/<service>/<stack name>-<purpose>-<stack guid>``.

    Services delivering "vended logs" (Step Functions among them) list each log group in the account's CloudWatch
    Logs resource policy, capped at 5,120 characters; AWS advises this prefix, which one wildcard entry covers, so
    many state machines never exhaust it. The stack's GUID makes the name new on each stack creation, so
    a group retained from a destroyed stack never blocks the next deploy."""
    guid = cdk.Fn.select(2, cdk.Fn.split("/", cdk.Aws.STACK_ID))
    return f"/aws/vendedlogs/{service}/{cdk.Aws.STACK_NAME}-{purpose}-{guid}"
