"""One synthesized app per session: synthesis costs seconds, every infra test reads the same template."""

from __future__ import annotations

import pytest

from tests.infra.synthesis import Synth, synthesize


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))
