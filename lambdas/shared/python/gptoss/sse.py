"""Server-sent events framing for streamed chat completions."""

from __future__ import annotations

import json
from typing import Any

from gptoss.errors import GatewayError

DONE: bytes = b"data: [DONE]\n\n"


def sse_data(payload: dict[str, Any]) -> bytes:
    """One SSE `data:` event carrying `payload` as compact JSON."""
    return b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n\n"


def sse_error(error: GatewayError) -> bytes:
    """The error event for a stream that already started: the OpenAI error object (the caller then sends DONE)."""
    return sse_data(error.to_body())
