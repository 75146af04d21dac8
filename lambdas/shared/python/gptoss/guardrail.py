"""Guardrail configuration and how it is expressed to each Bedrock operation and in responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INTERVENED = "INTERVENED"
NONE = "NONE"


@dataclass(frozen=True)
class GuardrailConfig:
    """The guardrail a deployment applies to every model call."""

    identifier: str
    version: str
    trace: bool = True

    def converse_config(self) -> dict[str, str]:
        """The `guardrailConfig` parameter of Converse/ConverseStream."""
        return {
            "guardrailIdentifier": self.identifier,
            "guardrailVersion": self.version,
            "trace": "enabled" if self.trace else "disabled",
        }

    def invoke_kwargs(self) -> dict[str, str]:
        """Extra keyword arguments for boto3 `invoke_model` / `invoke_model_with_response_stream`."""
        return {
            "guardrailIdentifier": self.identifier,
            "guardrailVersion": self.version,
            "trace": "ENABLED" if self.trace else "DISABLED",
        }


def guardrail_field(action: str, trace: dict[str, Any] | None) -> dict[str, Any]:
    """The documented top-level `guardrail` field of a completion: `{"action": ..., "trace": {...}}`."""
    return {
        "action": INTERVENED if action.upper() in (INTERVENED, "GUARDRAIL_INTERVENED") else NONE,
        "trace": trace or {},
    }
