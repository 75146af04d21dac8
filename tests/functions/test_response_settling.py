"""A complete (non-streamed) answer reaches the client before the request's log line and metrics are written, and
the response only ends once they are (the Lambda Web Adapter keeps the invocation open until then)."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import pytest
from chat_api import create_app
from gateway.observability import logger

from tests.functions.api_helpers import HELLO, bedrock_completion, invoke_response, stubbed

ROUTE = "/v1/chat/completions"


async def answer_then_log(app: Any, body: bytes) -> list[str]:
    """The ASGI events the server sees, in order, with a marker where the request log line was written."""
    events: list[str] = []

    class Marker(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == "request completed":
                events.append("logged")

    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            events.append(f"start {message['status']}")
        else:
            events.append("body" if message.get("body") else "end" if not message.get("more_body") else "empty")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": ROUTE,
        "raw_path": ROUTE.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }
    marker = Marker()
    logger.addHandler(marker)
    try:
        await app(scope, receive, send)
    finally:
        logger.removeHandler(marker)
    return events


@pytest.mark.parametrize("bedrock_fails", [False, True], ids=["answer", "error"])
def test_the_answer_is_sent_before_the_request_is_logged(bedrock_fails: bool) -> None:
    # Given Bedrock answers (or throttles)
    with stubbed(create_app, "chat") as (http, stubber):
        if bedrock_fails:
            stubber.add_client_error("invoke_model", "ThrottlingException", "slow down", 429)
        else:
            stubber.add_response("invoke_model", invoke_response(bedrock_completion("Hi")))
        # When the client asks
        events = anyio.run(answer_then_log, http.app, json.dumps(HELLO).encode())
    # Then the whole body goes out first, the request is logged, and only then does the response end
    assert events == [f"start {429 if bedrock_fails else 200}", "body", "logged", "end"]
