"""cdk-nag v3 acknowledgements: every one names the rule (and finding, where the rule has several) and a reason."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

PLUGIN = "AwsSolutions"  # cdk-nag's AwsSolutionsChecks plugin name: acknowledgement ids are "<plugin>::<rule>"


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge ``rule_id`` (e.g. ``AwsSolutions-IAM5[Resource::*]``) for ``scope`` and everything under it."""
    if len(reason) < 40:
        raise ValueError(f"acknowledging {rule_id} needs a specific reason, got {reason!r}")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"{PLUGIN}::{rule_id}", reason=reason))
