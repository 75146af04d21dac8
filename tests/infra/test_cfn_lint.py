"""The synthesized template is cfn-lint clean in every Region where gpt-oss is offered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.infra.synthesis import Synth

# CDK itself emits DependsOn entries that W3005 calls redundant; nothing else is ignored.
IGNORED_CHECKS = ("W3005",)


def test_template_passes_cfn_lint_in_all_gpt_oss_regions(synth: Synth) -> None:
    # Given the synthesized template and the configured gpt-oss Regions (at least the three main ones)
    regions = synth.config.regions
    assert {"us-west-2", "us-east-1", "eu-west-1"} <= set(regions)
    # When cfn-lint checks it against each Region's resource specification
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    command = [str(cfn_lint), "--regions", *regions, "--ignore-checks", *IGNORED_CHECKS]
    result = subprocess.run(
        [*command, "--", str(synth.template_path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    # Then it reports nothing
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
