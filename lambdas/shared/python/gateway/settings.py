"""API function settings, read from the environment once at cold start and validated."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from gptoss.errors import GatewayError
from gptoss.guardrail import GuardrailConfig
from gptoss.models import KNOWN_MODELS, resolve_model

# Environment variable ("true"/"false") that lets callers set each of `gptoss.trust.OPT_IN_MEMBERS`.
OPT_IN_VARIABLES: dict[str, str] = {
    "serviceTier": "ALLOW_SERVICE_TIER",
    "performanceConfig": "ALLOW_PERFORMANCE_CONFIG",
}


class SettingsError(ValueError):
    """A function environment variable is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Settings:
    enabled_models: tuple[str, ...]
    guardrail: GuardrailConfig | None = None
    log_prompts: bool = False
    read_timeout: float = 900.0
    connect_timeout: float = 5.0
    max_attempts: int = 2
    max_request_bytes: int = 1_048_576
    responses_table: str | None = None  # the DynamoDB table of stored Responses; None: nothing can be stored
    responses_ttl_days: int = 30
    # Native Converse members a caller may set only when the deployment allows them (`gptoss.trust.OPT_IN_MEMBERS`).
    caller_opt_ins: frozenset[str] = frozenset()
    # Seconds the proxy in front lets a response stay silent (API Gateway REST, Regional: 5 minutes).
    idle_limit: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            enabled_models=_models(env.get("ENABLED_MODELS", "")),
            guardrail=_guardrail(env),
            log_prompts=_flag(env, "LOG_PROMPTS", default=False),
            read_timeout=_number(env, "BEDROCK_READ_TIMEOUT_SECONDS", 900.0, float),
            connect_timeout=_number(env, "BEDROCK_CONNECT_TIMEOUT_SECONDS", 5.0, float),
            max_attempts=int(_number(env, "BEDROCK_MAX_ATTEMPTS", 2, int)),
            max_request_bytes=int(_number(env, "MAX_REQUEST_BYTES", 1_048_576, int)),
            responses_table=env.get("RESPONSES_TABLE", "").strip() or None,
            responses_ttl_days=int(_number(env, "RESPONSES_TTL_DAYS", 30, int)),
            caller_opt_ins=frozenset(
                member for member, variable in OPT_IN_VARIABLES.items() if _flag(env, variable, default=False)
            ),
            idle_limit=_number(env, "IDLE_LIMIT_SECONDS", 300.0, float),
        )


def _models(raw: str) -> tuple[str, ...]:
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        raise SettingsError("ENABLED_MODELS must list at least one model id, e.g. " + ",".join(KNOWN_MODELS))
    resolved: list[str] = []
    for name in names:
        try:
            model_id = resolve_model(name, KNOWN_MODELS)
        except GatewayError:
            raise SettingsError(f"ENABLED_MODELS: unknown model {name!r}; known: {', '.join(KNOWN_MODELS)}") from None
        if model_id not in resolved:
            resolved.append(model_id)
    return tuple(resolved)


def _guardrail(env: Mapping[str, str]) -> GuardrailConfig | None:
    identifier = env.get("GUARDRAIL_ID", "").strip()
    version = env.get("GUARDRAIL_VERSION", "").strip()
    if bool(identifier) != bool(version):
        raise SettingsError("GUARDRAIL_ID and GUARDRAIL_VERSION must be set together (or neither)")
    trace = env.get("GUARDRAIL_TRACE", "enabled").strip().lower()
    if trace not in ("enabled", "disabled"):
        raise SettingsError(f"GUARDRAIL_TRACE must be 'enabled' or 'disabled', got {trace!r}")
    if not identifier:
        return None
    return GuardrailConfig(identifier=identifier, version=version, trace=trace == "enabled")


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("true", "false"):
        raise SettingsError(f"{name} must be 'true' or 'false', got {raw!r}")
    return raw == "true"


def _number(env: Mapping[str, str], name: str, default: float, kind: type[int] | type[float]) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a positive {kind.__name__}, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be a positive {kind.__name__}, got {raw!r}")
    return value
