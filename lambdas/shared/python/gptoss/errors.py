"""OpenAI-style errors raised by the gateway, and the mapping from Bedrock exceptions to them.

Error bodies follow OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so the official SDKs raise
their own exception classes (`BadRequestError`, `RateLimitError`, ...). Messages never carry a stack trace.
"""

from __future__ import annotations

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

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

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


def _with_detail(summary: str, message: str) -> str:
    detail = message.strip()
    return f"{summary}: {detail}" if detail else summary


def from_bedrock_error(error_code: str, message: str) -> GatewayError:
    """Map a Bedrock runtime exception (ClientError code or stream exception name) to an OpenAI-style error."""
    code = _normalise_code(error_code)
    if code == "ValidationException":
        if is_context_length_message(message):
            return GatewayError(
                400,
                _with_detail("The request exceeds the model's context window", message),
                param="messages",
                code="context_length_exceeded",
            )
        return GatewayError(400, _with_detail("Invalid request", message))
    if code == "ThrottlingException":
        return GatewayError(
            429,
            _with_detail("Rate limit reached, retry shortly", message),
            type="rate_limit_error",
            code="rate_limit_exceeded",
            headers={"Retry-After": "1"},
        )
    if code == "ServiceQuotaExceededException":
        return GatewayError(
            429,
            _with_detail("Quota exceeded", message),
            type="insufficient_quota",
            code="insufficient_quota",
            headers={"Retry-After": "1"},
        )
    if code == "AccessDeniedException":
        return GatewayError(403, _with_detail("Access denied", message), type="permission_error")
    if code == "ResourceNotFoundException":
        return GatewayError(404, _with_detail("Model not found", message), param="model", code="model_not_found")
    if code == "ModelTimeoutException":
        return GatewayError(504, _with_detail("The model timed out", message), type="api_error", code="timeout")
    if code in ("ModelNotReadyException", "ServiceUnavailableException"):
        return GatewayError(
            503,
            _with_detail("The model is temporarily unavailable", message),
            type="api_error",
            code="service_unavailable",
            headers={"Retry-After": "1"},
        )
    if code in ("ModelErrorException", "ModelStreamErrorException"):
        return GatewayError(
            502, _with_detail("The model returned an error", message), type="api_error", code="model_error"
        )
    if code == "InternalServerException":
        return GatewayError(500, _with_detail("Upstream internal error", message), type="api_error")
    return GatewayError(502, "upstream error", type="api_error")
