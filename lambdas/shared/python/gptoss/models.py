"""The gpt-oss models the gateway knows, their accepted names, and OpenAI `model` objects for /v1/models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gptoss.errors import model_not_found

GPT_OSS_20B = "openai.gpt-oss-20b-1:0"
GPT_OSS_120B = "openai.gpt-oss-120b-1:0"
KNOWN_MODELS: tuple[str, ...] = (GPT_OSS_20B, GPT_OSS_120B)

# Both models were released on Bedrock on 2025-08-05 (00:00 UTC).
_RELEASED = 1754352000
OWNED_BY = "openai"


def _aliases(model_id: str) -> tuple[str, ...]:
    base = model_id.removeprefix("openai.").removesuffix("-1:0")
    return (base, f"openai/{base}", f"openai.{base}", model_id)


ALIASES: dict[str, str] = {alias.lower(): model_id for model_id in KNOWN_MODELS for alias in _aliases(model_id)}


def resolve_model(name: str, enabled: Sequence[str]) -> str:
    """Resolve an alias or Bedrock id (case-insensitive) to an enabled Bedrock model id, else a 404 model_not_found."""
    key = name.strip().lower()
    enabled_by_key = {model_id.lower(): model_id for model_id in enabled}
    model_id = ALIASES.get(key)
    if model_id is not None and model_id.lower() in enabled_by_key:
        return enabled_by_key[model_id.lower()]
    if key in enabled_by_key:
        return enabled_by_key[key]
    raise model_not_found(name)


def model_object(model_id: str) -> dict[str, Any]:
    """An OpenAI `model` object for a Bedrock model id."""
    return {"id": model_id, "object": "model", "created": _RELEASED, "owned_by": OWNED_BY}


def list_models(enabled: Sequence[str]) -> dict[str, Any]:
    """The /v1/models list of the enabled models, in configuration order."""
    return {"object": "list", "data": [model_object(model_id) for model_id in dict.fromkeys(enabled)]}


def retrieve_model(name: str, enabled: Sequence[str]) -> dict[str, Any]:
    """The /v1/models/{model} object; accepts the same aliases as chat requests."""
    return model_object(resolve_model(name, enabled))
