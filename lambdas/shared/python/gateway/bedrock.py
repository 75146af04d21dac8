"""Calling Bedrock from async routes: blocking boto3 work runs in the thread pool, errors become GatewayErrors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from anyio import CancelScope
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from gptoss.errors import GatewayError, from_bedrock_error

from gateway.param_errors import from_param_validation

_END = object()
# Blocking boto3 work runs here: a plain executor hop costs less than anyio's worker threads and capacity limiter.
# As many threads as the Bedrock client's connection pool (gateway.aws), started on demand.
_EXECUTOR = ThreadPoolExecutor(max_workers=32, thread_name_prefix="bedrock")
_T = TypeVar("_T")


async def in_thread(function: Callable[..., _T], *args: Any) -> _T:
    """`function(*args)` in the Bedrock thread pool. A cancellation waits for it to return (as anyio's to_thread
    does), so a stream is never closed while a thread still reads it."""
    future = asyncio.get_running_loop().run_in_executor(_EXECUTOR, function, *args)
    with CancelScope(shield=True):
        return await future


def _to_gateway_error(exc: Exception) -> GatewayError | None:
    """The OpenAI-shaped error for a boto3/botocore failure, or None when `exc` is not one."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return from_bedrock_error(str(error.get("Code", "")), str(error.get("Message", "")))
    if isinstance(exc, ParamValidationError):
        return from_param_validation(str(exc.kwargs.get("report", "")))
    if isinstance(exc, ReadTimeoutError):
        return from_bedrock_error("ModelTimeoutException", "Bedrock did not answer within the read timeout.")
    if isinstance(exc, ConnectTimeoutError | EndpointConnectionError):
        return from_bedrock_error("ServiceUnavailableException", "Could not connect to Bedrock.")
    if isinstance(exc, NoCredentialsError):
        return GatewayError(500, "The gateway has no AWS credentials.", type="api_error", code="no_credentials")
    return None


@contextmanager
def gateway_errors() -> Iterator[None]:
    """Re-raise a boto3/botocore failure as its GatewayError; anything else passes through unchanged."""
    try:
        yield
    except Exception as exc:
        error = _to_gateway_error(exc)
        if error is None:
            raise
        raise error from None


async def call(operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """Run one blocking Bedrock call off the event loop."""
    with gateway_errors():
        return await in_thread(partial(operation, **kwargs))


class EventStream:
    """A Bedrock response stream opened (call + first event) in one thread hop, then read incrementally.

    Errors raised before the first event surface from `open` (so the route can still answer with an HTTP
    status); errors after that surface while iterating.
    """

    def __init__(self, events: Iterator[dict[str, Any]], raw: Any, first: object) -> None:
        self._events = events
        self._raw = raw
        self._first = first

    @classmethod
    async def open(cls, operation: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> EventStream:
        def _open() -> EventStream:
            raw = operation(**kwargs)[key]
            events = iter(raw)
            return cls(events, raw, next(events, _END))

        with gateway_errors():
            return await in_thread(_open)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        if self._first is _END:
            return
        yield self._first  # type: ignore[misc]
        while True:
            with gateway_errors():
                event = await in_thread(next, self._events, _END)
            if event is _END:
                return
            yield event

    def close(self) -> None:
        """Release the HTTP connection (e.g. when the client went away mid-stream)."""
        close = getattr(self._raw, "close", None)
        if close is not None:
            close()
