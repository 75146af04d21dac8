"""OpenAI-style errors raised by the gateway, and the mapping from Bedrock exceptions to them.

Error bodies follow OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so the official SDKs raise
their own exception classes (`BadRequestError`, `RateLimitError`, ...). Messages never carry a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONTEXT_LENGTH_MARKERS: tuple[str, ...] = (
    "input is too long",
    "too many tokens",
    "too many input tokens",
    "maximum context length",
    "prompt is too long",
    "exceeds the context window",
    "context window",
    "context length",
)


class GatewayError(Exception):
    """An error the gateway returns to its caller as an OpenAI error object with an HTTP status."""

    status: int
    message: str
    type: str
    param: str | None
    code: str | None
    headers: dict[str, str]
    quotes_request: bool  # the message may quote the caller's request (e.g. prompt text): not for logs

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        quotes_request: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        self.quotes_request = quotes_request

    def to_body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def __repr__(self) -> str:
        fields = f"type={self.type!r}, param={self.param!r}, code={self.code!r}"
        return f"GatewayError({self.status}, {self.message!r}, {fields})"


def invalid_request(message: str, param: str | None = None, code: str | None = None) -> GatewayError:
    """A 400 `invalid_request_error`, naming the offending request parameter when there is one."""
    return GatewayError(400, message, param=param, code=code)


def model_not_found(name: str) -> GatewayError:
    """A 404 for a model that does not exist or is not enabled in this deployment."""
    return GatewayError(
        404,
        f"The model '{name}' does not exist or is not enabled on this gateway.",
        param="model",
        code="model_not_found",
    )


def is_context_length_message(message: str) -> bool:
    """True when a Bedrock validation message says the prompt does not fit the model's context window."""
    lowered = message.lower()
    return any(marker in lowered for marker in CONTEXT_LENGTH_MARKERS)


def _normalise_code(error_code: str) -> str:
    """Stream exception events are lowerCamelCase (`throttlingException`); ClientError codes are PascalCase."""
    return error_code[:1].upper() + error_code[1:] if error_code else error_code


@dataclass(frozen=True)
class _Mapped:
    """How one Bedrock exception reaches the caller: status, a summary put before Bedrock's message, type and code."""

    status: int
    summary: str
    type: str = "api_error"
    code: str | None = None
    param: str | None = None
    retry_after: bool = False


_BEDROCK_ERRORS: dict[str, _Mapped] = {
    "ValidationException": _Mapped(400, "Invalid request", type="invalid_request_error"),
    "ThrottlingException": _Mapped(
        429, "Rate limit reached, retry shortly", type="rate_limit_error", code="rate_limit_exceeded", retry_after=True
    ),
    "ServiceQuotaExceededException": _Mapped(
        429, "Quota exceeded", type="insufficient_quota", code="insufficient_quota", retry_after=True
    ),
    "AccessDeniedException": _Mapped(403, "Access denied", type="permission_error"),
    "ResourceNotFoundException": _Mapped(
        404, "Model not found", type="invalid_request_error", code="model_not_found", param="model"
    ),
    "ModelTimeoutException": _Mapped(504, "The model timed out", code="timeout"),
    "ModelNotReadyException": _Mapped(
        503, "The model is temporarily unavailable", code="service_unavailable", retry_after=True
    ),
    "ServiceUnavailableException": _Mapped(
        503, "The model is temporarily unavailable", code="service_unavailable", retry_after=True
    ),
    "ModelErrorException": _Mapped(502, "The model returned an error", code="model_error"),
    "ModelStreamErrorException": _Mapped(502, "The model returned an error", code="model_error"),
    "InternalServerException": _Mapped(500, "Upstream internal error"),
}
_CONTEXT_LENGTH = _Mapped(
    400,
    "The request exceeds the model's context window",
    type="invalid_request_error",
    code="context_length_exceeded",
    param="messages",
)


def from_bedrock_error(error_code: str, message: str) -> GatewayError:
    """Map a Bedrock runtime exception (ClientError code or stream exception name) to an OpenAI-style error.

    Bedrock's own message follows the summary. A validation message may quote the request, so it is marked
    `quotes_request` (request logs leave it out unless LOG_PROMPTS).
    """
    code = _normalise_code(error_code)
    mapped = _BEDROCK_ERRORS.get(code)
    if mapped is None:
        return GatewayError(502, "upstream error", type="api_error")
    validation = code == "ValidationException"
    if validation and is_context_length_message(message):
        mapped = _CONTEXT_LENGTH
    detail = message.strip()
    return GatewayError(
        mapped.status,
        f"{mapped.summary}: {detail}" if detail else mapped.summary,
        type=mapped.type,
        param=mapped.param,
        code=mapped.code,
        headers={"Retry-After": "1"} if mapped.retry_after else None,
        quotes_request=validation,
    )
