"""cdk-nag AwsSolutionsChecks (a CDK validation plugin in cdk-nag 3) passes; every acknowledgement has a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.nag import acknowledge
from tests.infra.synthesis import Synth


def nag_report(synth: Synth) -> dict[str, Any]:
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    return next(plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "AwsSolutions")


def test_aws_solutions_checks_ran_and_left_no_unacknowledged_violation(synth: Synth) -> None:
    # Given the validation report written by synth (synth itself fails on an unacknowledged error)
    report = nag_report(synth)
    # Then AwsSolutions concluded success with no open violation
    assert report["conclusion"] == "success"
    assert report["violations"] == []
    # And it really evaluated the stack: the acknowledged findings are listed
    assert report["suppressedViolations"]


def test_every_acknowledged_finding_carries_a_specific_reason(synth: Synth) -> None:
    # Given the acknowledged findings
    suppressed = nag_report(synth)["suppressedViolations"]
    # Then each names its rule and gives a real reason
    for finding in suppressed:
        assert finding["ruleName"].startswith("AwsSolutions-"), finding
        assert len(finding["reason"]) >= 40, finding
    # And wildcard IAM findings are acknowledged one finding at a time, never the whole rule
    for finding in suppressed:
        if finding["ruleName"].startswith(("AwsSolutions-IAM4", "AwsSolutions-IAM5")):
            assert finding["acknowledgedId"].endswith("]"), finding


def test_acknowledging_without_a_real_reason_is_refused(synth: Synth) -> None:
    # Given a construct / When someone acknowledges a rule with a throwaway reason / Then it fails at synth
    with pytest.raises(ValueError, match="needs a specific reason"):
        acknowledge(synth.stack, "AwsSolutions-S1", "not needed")
