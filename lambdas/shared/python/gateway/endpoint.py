"""Running a route: errors become OpenAI error responses, streams become SSE, every request is logged once, and no
answer leaves the connection silent for longer than the idle limit of the proxy in front (API Gateway: 5 minutes)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from gptoss.errors import GatewayError
from gptoss.sse import DONE, sse_data, sse_error
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.bedrock import EventStream
from gateway.http import SSE_HEADERS, error_response, internal_error, json_bytes
from gateway.observability import RequestRecord, logger

CLIENT_CLOSED = 499  # logged status of a stream whose client went away (nginx's convention)
# What a held answer sends while it waits: JSON allows whitespace before a value, SSE ignores comment lines.
JSON_KEEPALIVE = b" "
SSE_KEEPALIVE = b": keep-alive\n\n"
# A held answer sends a keep-alive byte whenever this share of the idle limit has passed without one.
KEEPALIVE_SHARE = 0.75

Outcome = Response | GatewayError


class StreamTranslator(Protocol):
    """What both stream translators (`gptoss.invoke`, `gptoss.converse`) offer: one contract, learned once."""

    usage: dict[str, Any] | None
    finish_reason: str | None

    @property
    def done(self) -> bool: ...

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]: ...

    def finish(self) -> list[dict[str, Any]]: ...


async def translated(
    events: EventStream,
    translator: StreamTranslator,
    decode: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> AsyncIterator[dict[str, Any]]:
    """The caller's chunks for a Bedrock stream: each event (`decode`d; None skips it) through the translator, then
    its trailing chunks. Once the translator is `done` (a stop string reached) the upstream stream is closed."""
    async for event in events:
        payload = decode(event)
        if payload is not None:
            for chunk in translator.feed(payload):
                yield chunk
        if translator.done:
            events.close()
            break
    for chunk in translator.finish():
        yield chunk


async def sse_body(
    record: RequestRecord,
    chunks: AsyncIterator[dict[str, Any]],
    *,
    close: Callable[[], None],
    usage: Callable[[], dict[str, Any] | None],
    encode: Callable[[dict[str, Any]], bytes] = sse_data,
    error_events: Callable[[GatewayError], bytes] | None = None,
    done: bytes = DONE,
) -> AsyncIterator[bytes]:
    """SSE events for `chunks`, then `done` (`[DONE]`); the request is logged and measured (with `usage()`) at the end.

    `encode` frames one chunk and `error_events` an error (default: the OpenAI error object); the Responses API
    frames its own events and has no `[DONE]`.

    Whatever fails while the client is listening, the stream ends with an error event and `[DONE]`, never mid-way.
    Only cancellation (Starlette cancels the body when the client disconnects) ends it early, logged as 499.
    The log line and metrics are written after `[DONE]` but before the response's final (empty) chunk, so the
    Lambda Web Adapter keeps the invocation open until they are out: work after the last byte is not safe there,
    the execution environment may be frozen at once.
    """
    status = 200
    on_error = error_events or _error_event
    try:
        try:
            async for chunk in chunks:
                guardrail = chunk.get("guardrail")
                if isinstance(guardrail, dict):
                    record.guardrail_action = guardrail.get("action")
                record.mark_first_chunk()
                yield encode(chunk)
        except GatewayError as error:
            status = error.status
            record.record_error(error)
            yield on_error(error)
        except Exception:
            status = 500
            logger.exception("stream failed", extra={"request_id": record.request_id})
            yield on_error(internal_error())
        if done:
            yield done
    except BaseException:
        status = CLIENT_CLOSED
        record.error = {"type": "client_closed", "code": None, "message": "the client went away mid-stream"}
        raise
    finally:
        _settle(record, status, close, usage)


def _error_event(error: GatewayError) -> bytes:
    """The SSE error event; a message UTF-8 cannot carry (a lone surrogate echoed back) is sent \\u-escaped."""
    try:
        return sse_error(error)
    except UnicodeEncodeError:
        return b"data: " + json.dumps(error.to_body(), separators=(",", ":")).encode("ascii") + b"\n\n"


def _settle(
    record: RequestRecord, status: int, close: Callable[[], None], usage: Callable[[], dict[str, Any] | None]
) -> None:
    """Release the Bedrock stream, then log and measure; a failure here is logged, never raised into the response."""
    try:
        close()
        record.record_usage(usage())
    except Exception:
        logger.exception("stream cleanup failed", extra={"request_id": record.request_id})
    _finish(record, status)


def _finish(record: RequestRecord, status: int) -> None:
    try:
        record.finish(status)
    except Exception:
        logger.exception("request accounting failed", extra={"request_id": record.request_id})


class SettledResponse(Response):
    """A complete (non-streamed) response that logs and measures its request once the body is out.

    The body goes out first (its Content-Length tells the client it has everything), then `settle` runs, then the
    response ends: the client does not wait for the log line and metrics, yet the Lambda Web Adapter keeps the
    invocation open until they are written (as `sse_body` does for streams).
    """

    def __init__(self, response: Response, settle: Callable[[], None]) -> None:
        self.status_code = response.status_code
        self.body = response.body
        self.raw_headers = response.raw_headers
        self.background = None
        self._settle = settle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": self.body, "more_body": True})
        finally:
            self._settle()
        await send({"type": "http.response.body", "body": b""})


def keepalive_interval(idle_limit: float) -> float:
    """Seconds a response may stay silent: a safe share of the proxy's idle limit."""
    return idle_limit * KEEPALIVE_SHARE


async def respond(record: RequestRecord, work: Callable[[], Awaitable[Response]], *, idle_limit: float) -> Response:
    """Run a route's work; a GatewayError becomes its OpenAI error response, anything else a bare 500 object.

    An answer ready within `keepalive_interval(idle_limit)` goes out as usual, with its own status. A slower one is
    held (`HeldResponse`): status 200 is committed and keep-alive bytes flow until it is ready.
    A complete response is logged and measured once its body is sent; a stream when it ends (`sse_body`).
    """
    outcome = asyncio.ensure_future(_attempt(record, work))
    interval = keepalive_interval(idle_limit)
    try:
        await asyncio.wait((outcome,), timeout=interval)
    except asyncio.CancelledError:
        outcome.cancel()
        raise
    if outcome.done():
        return _deliver(record, outcome.result())
    return HeldResponse(record, outcome, interval)


async def _attempt(record: RequestRecord, work: Callable[[], Awaitable[Response]]) -> Outcome:
    try:
        return await work()
    except GatewayError as error:
        record.record_error(error)
        return error
    except Exception:
        logger.exception("request failed", extra={"request_id": record.request_id, "route": record.route})
        return internal_error()


def _deliver(record: RequestRecord, outcome: Outcome) -> Response:
    response = error_response(outcome) if isinstance(outcome, GatewayError) else outcome
    if isinstance(response, StreamingResponse):
        return response
    status = response.status_code
    return SettledResponse(response, lambda: _finish(record, status))


class HeldResponse(Response):
    """An answer that is not ready when the connection would otherwise stay silent too long.

    Status 200 and the headers go out now, then a keep-alive byte every `interval` seconds: a space before the JSON
    body (JSON allows leading whitespace, so every JSON parser, the OpenAI SDKs' included, reads the body as usual)
    or an SSE comment line before the events. When the work finishes its answer follows. The status can no longer
    change, so a failure is sent as the OpenAI error object (JSON) or as the error event and `[DONE]` (SSE), and
    logged with its real status.
    """

    def __init__(self, record: RequestRecord, outcome: asyncio.Future[Outcome], interval: float) -> None:
        self.status_code = 200
        self.background = None
        self._record = record
        self._outcome = outcome
        self._interval = interval
        self._sse = record.stream
        media_type = "text/event-stream" if self._sse else "application/json"
        self.raw_headers = [(b"content-type", media_type.encode())]
        if self._sse:
            self.raw_headers += [(name.encode(), value.encode()) for name, value in SSE_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        keepalive = SSE_KEEPALIVE if self._sse else JSON_KEEPALIVE
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": keepalive, "more_body": True})
        while not self._outcome.done():
            await asyncio.wait((self._outcome,), timeout=self._interval)
            if not self._outcome.done():
                await send({"type": "http.response.body", "body": keepalive, "more_body": True})
        outcome = self._outcome.result()
        if isinstance(outcome, StreamingResponse):
            async for chunk in outcome.body_iterator:  # sse_body logs and measures the request itself
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            status, body = self._final(outcome)
            try:
                await send({"type": "http.response.body", "body": body, "more_body": True})
            finally:
                _finish(self._record, status)
        await send({"type": "http.response.body", "body": b""})

    def _final(self, outcome: Outcome) -> tuple[int, bytes]:
        """The logged status and the bytes that complete the held body."""
        if isinstance(outcome, GatewayError):
            return outcome.status, _error_event(outcome) + DONE if self._sse else json_bytes(outcome.to_body())
        return outcome.status_code, bytes(outcome.body)
