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


def log_group(scope: Construct, construct_id: str, config: GatewayConfig) -> logs.LogGroup:
    """A log group with the configured retention and removal policy (every log group of the gateway is one)."""
    return logs.LogGroup(scope, construct_id, retention=retention(config), removal_policy=removal_policy(config))
