"""Running a route: errors become OpenAI error responses, streams become SSE, every request is logged once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from gptoss.errors import GatewayError
from gptoss.sse import DONE, sse_data, sse_error
from starlette.responses import Response, StreamingResponse

from gateway.http import error_response, internal_error
from gateway.observability import RequestRecord, logger


async def sse_body(
    record: RequestRecord,
    chunks: AsyncIterator[dict[str, Any]],
    *,
    close: Callable[[], None],
    usage: Callable[[], dict[str, Any] | None],
) -> AsyncIterator[bytes]:
    """SSE events for `chunks`, then `[DONE]`; the request is logged and measured (with `usage()`) at the end."""
    status = 200
    try:
        async for chunk in chunks:
            guardrail = chunk.get("guardrail")
            if isinstance(guardrail, dict):
                record.guardrail_action = guardrail.get("action")
            record.mark_first_chunk()
            yield sse_data(chunk)
        yield DONE
    except GatewayError as error:
        status = error.status
        record.error = {"type": error.type, "code": error.code, "message": error.message}
        yield sse_error(error)
        yield DONE
    except Exception:
        status = 500
        logger.exception("stream failed", extra={"request_id": record.request_id})
        yield sse_error(internal_error())
        yield DONE
    finally:
        close()
        record.record_usage(usage())
        record.finish(status)


async def respond(record: RequestRecord, work: Callable[[], Awaitable[Response]]) -> Response:
    """Run a route's work; a GatewayError becomes its OpenAI error response, anything else a bare 500 object."""
    try:
        response = await work()
    except GatewayError as error:
        record.error = {"type": error.type, "code": error.code, "message": error.message}
        record.finish(error.status)
        return error_response(error)
    except Exception:
        logger.exception("request failed", extra={"request_id": record.request_id, "route": record.route})
        record.finish(500)
        return error_response(internal_error())
    if not isinstance(response, StreamingResponse):
        record.finish(response.status_code)
    return response
