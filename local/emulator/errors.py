"""Bedrock exceptions as the emulator returns them: HTTP status, `x-amzn-ErrorType` header, `{"message": ...}` body."""

import uuid

from starlette.responses import JSONResponse

STATUS_BY_EXCEPTION: dict[str, int] = {
    "ValidationException": 400,
    "ServiceQuotaExceededException": 400,
    "ConflictException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ModelStreamErrorException": 424,
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}

DEFAULT_MESSAGES: dict[str, str] = {
    "ValidationException": "Malformed input request, please reformat your input and try again. [emulated]",
    "ServiceQuotaExceededException": "Your request exceeded your service quota. [emulated]",
    "ConflictException": "The request conflicts with the current state of the resource. [emulated]",
    "AccessDeniedException": "You don't have access to the model with the specified model ID. [emulated]",
    "ResourceNotFoundException": "The specified resource was not found. [emulated]",
    "ModelTimeoutException": "Model has timed out in processing the request. [emulated]",
    "ModelErrorException": "The model returned an error while processing the request. [emulated]",
    "ModelStreamErrorException": "The model returned an error while streaming the response. [emulated]",
    "ThrottlingException": "Too many requests, please wait before trying again. [emulated]",
    "ModelNotReadyException": "The model is not ready to serve inference requests. [emulated]",
    "InternalServerException": "The server encountered an internal error. [emulated]",
    "ServiceUnavailableException": "The service is temporarily unavailable. [emulated]",
}

CONTEXT_LENGTH_MESSAGE = "Input is too long for requested model. [emulated]"
INVALID_MODEL_MESSAGE = "The provided model identifier is invalid."

# Names of the exception members of the ResponseStream / ConverseStreamOutput unions (mid-stream errors).
STREAM_EXCEPTIONS: frozenset[str] = frozenset(
    {
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "modelTimeoutException",
        "serviceUnavailableException",
    }
)


class BedrockError(Exception):
    """A Bedrock service exception; `code` is the exception name, e.g. ThrottlingException."""

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in STATUS_BY_EXCEPTION:
            raise ValueError(f"unknown Bedrock exception {code!r}")
        self.code = code
        self.status = STATUS_BY_EXCEPTION[code]
        self.message = message or DEFAULT_MESSAGES[code]
        super().__init__(f"{code}: {self.message}")


def validation(message: str) -> BedrockError:
    return BedrockError("ValidationException", message)


def error_response(error: BedrockError) -> JSONResponse:
    headers = {"x-amzn-ErrorType": error.code, "x-amzn-RequestId": str(uuid.uuid4())}
    return JSONResponse({"message": error.message}, status_code=error.status, headers=headers)


def stream_exception_name(code: str) -> str:
    """`ThrottlingException` → `throttlingException`; unknown names fall back to modelStreamErrorException."""
    name = code[:1].lower() + code[1:]
    return name if name in STREAM_EXCEPTIONS else "modelStreamErrorException"
