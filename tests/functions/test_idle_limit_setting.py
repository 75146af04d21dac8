"""IDLE_LIMIT_SECONDS (from cdk.json api.idle_limit_seconds) is validated at cold start like every other setting."""

from __future__ import annotations

import pytest
from chat_api import create_app
from gateway.settings import Settings, SettingsError
from starlette.testclient import TestClient

MODELS = {"ENABLED_MODELS": "openai.gpt-oss-20b-1:0"}


def test_the_idle_limit_defaults_to_api_gateways_five_minutes() -> None:
    # Given no IDLE_LIMIT_SECONDS, Then API Gateway's Regional idle timeout; Given one, Then that
    assert Settings.from_env(MODELS).idle_limit == 300.0
    assert Settings.from_env({**MODELS, "IDLE_LIMIT_SECONDS": "60"}).idle_limit == 60.0


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_bad_idle_limit_stops_the_function_at_cold_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    # Given a function whose environment carries a bad idle limit
    monkeypatch.setenv("ENABLED_MODELS", MODELS["ENABLED_MODELS"])
    monkeypatch.setenv("IDLE_LIMIT_SECONDS", value)
    # When the app starts (the Lambda Web Adapter's readiness check waits for this), Then it fails naming the variable
    with pytest.raises(SettingsError, match="IDLE_LIMIT_SECONDS must be a positive float"), TestClient(create_app()):
        pass
