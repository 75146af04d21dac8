"""Starlette helpers: bounded JSON body reading, JSON and SSE responses, OpenAI-shaped error handlers."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import AsyncIterator, Mapping

from gptoss import json_limits
from gptoss.errors import GatewayError, invalid_request
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def _default(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_bytes(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_default).encode("utf-8")


def json_response(payload: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json_bytes(payload), status_code=status, headers=headers, media_type="application/json")


def error_response(error: GatewayError) -> Response:
    return json_response(error.to_body(), status=error.status, headers=error.headers or None)


def internal_error() -> GatewayError:
    return GatewayError(500, "The gateway hit an unexpected error.", type="api_error", code="internal_error")


def sse_response(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)


async def read_json(request: Request, max_bytes: int) -> object:
    """The request body decoded as JSON: 413 above `max_bytes`, 400 when empty, not JSON, or nested deeper than
    `gptoss.json_limits.MAX_JSON_DEPTH`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise invalid_request("The request body is empty; send a JSON object.")
    try:
        # Strict UTF-8 first: json.loads(bytes) would let an encoded surrogate (b"\xed\xa0\x80") through unchecked.
        body = json_limits.loads(raw.decode("utf-8-sig"))
    except json_limits.JsonTooDeep as exc:
        raise invalid_request(
            f"The request body is nested too deeply: {exc.msg} (at character {exc.pos}); "
            "flatten the value or send it as a string.",
            param=exc.field,
            code="json_too_deep",
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_request(f"The request body is not valid JSON: {exc}.", code="invalid_json") from None
    if b"\\u" in raw:  # only escapes can smuggle in lone surrogates, which no UTF-8 consumer accepts
        try:
            json_bytes(body)
        except UnicodeEncodeError:
            raise invalid_request("The request body contains invalid Unicode (a lone surrogate).") from None
    return body


def _too_large(max_bytes: int) -> GatewayError:
    return GatewayError(413, f"The request body is larger than {max_bytes} bytes.", code="request_too_large")


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"Unknown route: {request.method} {request.url.path}"
        code = "not_found"
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
        code = "method_not_allowed"
    else:
        message, code = str(exc.detail), None
    return error_response(GatewayError(exc.status_code, message, code=code, headers=dict(exc.headers or {})))


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return error_response(internal_error())


EXCEPTION_HANDLERS = {HTTPException: _http_exception, GatewayError: _gateway_error, Exception: _unexpected}
