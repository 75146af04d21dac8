"""cdk.json context → one validated config; a bad value fails synth naming the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.config import GPT_OSS_20B, GPT_OSS_120B, BatchConfig, ConfigError, GatewayConfig, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_cdk_json_is_valid_and_enables_both_models_with_a_guardrail() -> None:
    # Given the shipped cdk.json
    context = json.loads((ROOT / "cdk.json").read_text())["context"]["gptoss"]
    # When it is loaded
    config = load_config(context)
    # Then both gpt-oss models are served, 120b by default, behind a guardrail, prompts not logged
    assert config.models.enabled == (GPT_OSS_20B, GPT_OSS_120B)
    assert config.models.default == GPT_OSS_120B
    assert config.guardrail.enabled
    assert not config.observability.log_prompts
    assert config.removal_policy == "retain"


def test_missing_context_means_documented_defaults() -> None:
    # Given no gptoss context at all / When loaded / Then every section has its defaults
    config = load_config(None)
    assert config == GatewayConfig()
    assert config.batch == BatchConfig(
        min_records=100, max_records=50_000, max_file_bytes=1_000_000_000, job_timeout_hours=24
    )


def test_enabling_only_one_model_makes_it_the_default() -> None:
    # Given only 20b enabled and no explicit default / When loaded / Then 20b is the default
    assert load_config({"models": {"enabled": [GPT_OSS_20B]}}).models.default == GPT_OSS_20B


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"models": {"enabled": [GPT_OSS_20B, "x"]}},
            f'cdk.json context "gptoss.models.enabled"[1]: unknown model "x"; allowed: {GPT_OSS_20B}, {GPT_OSS_120B}',
        ),
        (
            {"models": {"enabled": [GPT_OSS_20B], "default": GPT_OSS_120B}},
            f'"gptoss.models.default": "{GPT_OSS_120B}" is not enabled',
        ),
        ({"models": {"enabled": []}}, '"gptoss.models.enabled": enable at least one model'),
        ({"models": {"enabled": [GPT_OSS_20B, GPT_OSS_20B]}}, '"gptoss.models.enabled"[1]: duplicate value'),
        (
            {"guardrail": {"content_filters": [{"type": "HATE", "input_strength": "MAX"}]}},
            '"gptoss.guardrail.content_filters"[0].input_strength: unknown value "MAX"; allowed: NONE, LOW, MEDIUM',
        ),
        (
            {"guardrail": {"content_filters": [{"type": "PROMPT_ATTACK"}]}},
            '"gptoss.guardrail.content_filters"[0].output_strength: must be "NONE" for PROMPT_ATTACK',
        ),
        ({"guardrail": {"pii_entities": [{"type": "SSN"}]}}, '"gptoss.guardrail.pii_entities"[0].type: unknown value'),
        (
            {"guardrail": {"pii_entities": [{"type": "EMAIL", "action": "MASK"}]}},
            '"gptoss.guardrail.pii_entities"[0].action: unknown value "MASK"; allowed: BLOCK, ANONYMIZE, NONE',
        ),
        (
            {"guardrail": {"denied_topics": [{"name": "Investment advice"}]}},
            '"gptoss.guardrail.denied_topics"[0].definition: required',
        ),
        ({"guardrail": {"blocked_input_message": ""}}, '"gptoss.guardrail.blocked_input_message": length must be'),
        ({"guardrail": {"enabled": "yes"}}, '"gptoss.guardrail.enabled": expected true or false'),
        ({"api": {"daily_quota": 0}}, '"gptoss.api.daily_quota": 0 is out of range; allowed: 1..100000000'),
        ({"api": {"throttle_rate_limit": 50, "throttle_burst_limit": 10}}, '"gptoss.api.throttle_burst_limit"'),
        ({"api": {"integration_timeout_seconds": 901}}, '"gptoss.api.integration_timeout_seconds": 901 is out of'),
        (
            {"api": {"idle_limit_seconds": 301}},
            '"gptoss.api.idle_limit_seconds": 301 is out of range; allowed: 10..300',
        ),
        ({"api": {"cloudwatch_role": "no"}}, '"gptoss.api.cloudwatch_role": expected true or false'),
        ({"functions": {"chat": {"memory_mb": 64}}}, '"gptoss.functions.chat.memory_mb": 64 is out of range'),
        ({"observability": {"log_retention_days": 31}}, '"gptoss.observability.log_retention_days": 31 is not'),
        (
            {"observability": {"alarm_email": "on-call team"}},
            "\"gptoss.observability.alarm_email\": 'on-call team' does",
        ),
        ({"observability": {"alarm_email": "Ops <ops@example.com>"}}, '"gptoss.observability.alarm_email": \'Ops <'),
        ({"batch": {"enabled": "no"}}, '"gptoss.batch.enabled": expected true or false'),
        (
            {"batch": {"job_timeout_hours": 200}},
            '"gptoss.batch.job_timeout_hours": 200 is out of range; allowed: 24..168',
        ),
        ({"batch": {"min_records": 10, "max_records": 5}}, '"gptoss.batch.max_records": must be >= min_records'),
        ({"removal_policy": "delete"}, '"gptoss.removal_policy": unknown value "delete"; allowed: retain, destroy'),
        ({"regions": ["Oregon"]}, "\"gptoss.regions\"[0]: 'Oregon' does not match"),
        ({"modles": {}}, '"gptoss.modles": unknown key; allowed: models, guardrail'),
        ({"api": []}, '"gptoss.api": expected an object, got list'),
        ({"api": {"allow_service_tier": "flex"}}, '"gptoss.api.allow_service_tier": expected true or false'),
    ],
)
def test_bad_values_are_rejected_naming_the_key(context: dict[str, Any], message: str) -> None:
    # Given a context with one bad value / When loaded / Then the error names the cdk.json key and what is allowed
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    assert message in str(raised.value)
    assert str(raised.value).startswith("cdk.json context ")


def test_config_is_frozen() -> None:
    # Given a loaded config / When code tries to change it / Then it cannot
    config = load_config(None)
    with pytest.raises(AttributeError):
        config.models.default = GPT_OSS_20B  # type: ignore[misc]


def test_app_fails_fast_with_a_clean_message_and_non_zero_exit() -> None:
    # Given a bad value passed as CLI context (the CDK CLI hands context to the app via CDK_CONTEXT_JSON)
    environment = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({"gptoss": {"models": {"enabled": ["openai.gpt-oss-7b"]}}}),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    # When app.py runs
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    # Then it exits non-zero with one line naming the key, no traceback
    assert result.returncode == 2
    assert 'error: cdk.json context "gptoss.models.enabled"[0]: unknown model "openai.gpt-oss-7b"' in result.stderr
    assert "Traceback" not in result.stderr
