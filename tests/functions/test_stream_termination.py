"""Every stream the gateway starts ends with `[DONE]` (after an error event when something failed), whatever fails.

Bedrock is a fake client here: the failures under test (an error message UTF-8 cannot carry, a failing log/metrics
write after the last event) cannot be produced by the emulator on demand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import EventStreamError
from converse_api import create_app
from gateway.observability import RequestRecord
from starlette.testclient import TestClient

from tests.api_contract import assert_chunks, assert_openai_error, sse_events
from tests.functions.api_helpers import HELLO, ONLY_20B

ROUTE = "/converse/v1/chat/completions"


class FakeBedrock:
    """A bedrock-runtime stand-in whose ConverseStream yields two events, then optionally fails like Bedrock does."""

    def __init__(self, error_message: str | None = None) -> None:
        self._error_message = error_message

    def converse_stream(self, **kwargs: Any) -> dict[str, Any]:
        return {"stream": self._events()}

    def _events(self) -> Iterator[dict[str, Any]]:
        yield {"messageStart": {"role": "assistant"}}
        yield {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hello"}}}
        if self._error_message is not None:
            error = {"Error": {"Code": "ModelStreamErrorException", "Message": self._error_message}}
            raise EventStreamError(error, "ConverseStream")
        yield {"contentBlockStop": {"contentBlockIndex": 0}}
        yield {"messageStop": {"stopReason": "end_turn"}}
        yield {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}}


def stream(bedrock: FakeBedrock) -> list[Any]:
    with TestClient(create_app(settings=ONLY_20B, bedrock=bedrock)) as http:  # type: ignore[arg-type]
        response = http.post(ROUTE, json={**HELLO, "stream": True})
    assert response.status_code == 200
    return sse_events(response.text)


def test_a_mid_stream_error_whose_message_is_not_utf8_encodable_still_ends_with_error_then_done() -> None:
    # Given Bedrock fails mid-stream with a message echoing a lone surrogate (UTF-8 cannot encode it)
    bedrock = FakeBedrock(error_message="bad input \ud800 here")
    # When the client streams
    events = stream(bedrock)
    # Then the stream still ends with the OpenAI error event and [DONE] instead of being cut off
    assert events[-1] == "[DONE]"
    error = events[-2]["error"]
    assert error["type"] == "api_error"
    assert "bad input" in error["message"]


def test_a_failing_log_or_metrics_write_does_not_break_a_finished_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the per-request log/metrics write fails (e.g. a metrics validation error)
    def broken(self: RequestRecord, status: int) -> None:
        raise ValueError("metrics rejected")

    monkeypatch.setattr(RequestRecord, "finish", broken)
    # When the client streams
    events = stream(FakeBedrock())
    # Then it gets the whole, well-formed stream
    assert_chunks(events)


def test_a_body_with_an_encoded_surrogate_is_a_400_not_a_500() -> None:
    # Given a body whose raw bytes encode a lone surrogate (CESU-8 style, no \u escape)
    raw = b'{"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "a\xed\xa0\x80b"}]}'
    with TestClient(create_app(settings=ONLY_20B, bedrock=FakeBedrock())) as http:  # type: ignore[arg-type]
        # When it is posted
        response = http.post(ROUTE, content=raw, headers={"content-type": "application/json"})
    # Then it is a 400 OpenAI error, like any other body that is not valid UTF-8 JSON
    assert_openai_error(response, 400, type="invalid_request_error")
