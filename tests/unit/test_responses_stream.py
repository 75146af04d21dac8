"""Chat completion chunks (either backend) become OpenAI's Responses stream event sequence."""

from __future__ import annotations

from typing import Any

import pytest
from gptoss.converse import ConverseStreamTranslator
from gptoss.errors import GatewayError
from gptoss.responses import parse_responses_request, response_skeleton
from gptoss.responses_stream import ResponsesStreamTranslator, sse_event
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

EVENT = TypeAdapter(ResponseStreamEvent)
USAGE = {"metadata": {"usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12}, "metrics": {"latencyMs": 1}}}


def translator() -> ResponsesStreamTranslator:
    request = parse_responses_request({"model": "gpt-oss-20b", "input": "hi", "stream": True})
    return ResponsesStreamTranslator(
        response_skeleton(request, response_id="resp_s", model="gpt-oss-20b", created_at=1)
    )


def run(events: list[dict[str, Any]]) -> tuple[ResponsesStreamTranslator, list[dict[str, Any]]]:
    """ConverseStream events through the chat stream translator, its chunks through the Responses translator."""
    inner = ConverseStreamTranslator(model="gpt-oss-20b", completion_id="c", created=1, include_usage=False)
    stream = translator()
    out = stream.start()
    chunks = [chunk for event in events for chunk in inner.feed(event)] + inner.finish()
    for chunk in chunks:
        out += stream.feed(chunk)
    out += stream.finish(inner.usage)
    for event in out:
        EVENT.validate_python(event)  # every event is one the official SDK knows, with its required fields
    return stream, out


def delta(block: int, **body: Any) -> dict[str, Any]:
    return {"contentBlockDelta": {"delta": body, "contentBlockIndex": block}}


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def test_reasoning_then_text_follows_openais_sequence() -> None:
    # Given a Converse stream with reasoning, then text
    _, events = run(
        [
            {"messageStart": {"role": "assistant"}},
            delta(0, reasoningContent={"text": "Think "}),
            delta(0, reasoningContent={"text": "more."}),
            delta(1, text="Hel"),
            delta(1, text="lo"),
            {"messageStop": {"stopReason": "end_turn"}},
            USAGE,
        ]
    )
    # Then the events are OpenAI's sequence, numbered from 0 without gaps
    assert types(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    final = events[-1]["response"]
    assert final["status"] == "completed"
    assert [item["type"] for item in final["output"]] == ["reasoning", "message"]
    assert final["output"][1]["content"][0]["text"] == "Hello"
    assert final["usage"]["input_tokens"] == 5 and final["usage"]["output_tokens"] == 7


def test_tool_call_streams_arguments_and_completes_the_item() -> None:
    _, events = run(
        [
            {"messageStart": {"role": "assistant"}},
            {
                "contentBlockStart": {
                    "start": {"toolUse": {"toolUseId": "call_1", "name": "get_weather"}},
                    "contentBlockIndex": 0,
                }
            },
            delta(0, toolUse={"input": '{"city":'}),
            delta(0, toolUse={"input": '"Oslo"}'}),
            {"messageStop": {"stopReason": "tool_use"}},
            USAGE,
        ]
    )
    assert types(events)[2:] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    done = events[-3]
    assert done["arguments"] == '{"city":"Oslo"}' and done["name"] == "get_weather"
    item = events[-1]["response"]["output"][0]
    assert (item["type"], item["call_id"], item["arguments"]) == ("function_call", "call_1", '{"city":"Oslo"}')


def test_max_tokens_ends_with_response_incomplete() -> None:
    _, events = run([delta(0, text="Cut"), {"messageStop": {"stopReason": "max_tokens"}}, USAGE])
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_an_empty_answer_still_has_one_message_item() -> None:
    _, events = run([{"messageStop": {"stopReason": "end_turn"}}, USAGE])
    assert [item["type"] for item in events[-1]["response"]["output"]] == ["message"]


def test_an_error_mid_stream_is_an_error_event_then_response_failed() -> None:
    # Given a stream that started, then failed
    stream = translator()
    stream.start()
    stream.feed({"choices": [{"index": 0, "delta": {"content": "Hal"}, "finish_reason": None}]})
    # When the failure is reported
    events = stream.fail(GatewayError(429, "Too many requests", type="rate_limit_error"))
    # Then the client gets OpenAI's error event and a failed response carrying what was produced
    assert types(events) == ["error", "response.failed"]
    for event in events:
        EVENT.validate_python(event)
    assert events[0]["code"] == "rate_limit_exceeded"
    assert events[1]["response"]["status"] == "failed"
    assert events[1]["response"]["error"] == {"code": "rate_limit_exceeded", "message": "Too many requests"}


@pytest.mark.parametrize("name", ["response.created", "response.output_text.delta"])
def test_events_are_framed_with_their_type_as_the_sse_event_name(name: str) -> None:
    frame = sse_event({"type": name, "sequence_number": 3})
    assert frame.startswith(f"event: {name}\ndata: ".encode()) and frame.endswith(b"\n\n")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (GatewayError(500, "Internal error", type="api_error"), "server_error"),
        (GatewayError(503, "Model busy", type="api_error", code="ServiceUnavailable"), "server_error"),
        (GatewayError(499, "Client closed", code="closed"), "closed"),
        (GatewayError(400, "Too long", code="context_length_exceeded"), "context_length_exceeded"),
        (GatewayError(400, "Blocked"), "invalid_prompt"),
    ],
)
def test_a_failed_response_carries_the_responses_error_code(error: GatewayError, code: str) -> None:
    # Given a stream that started; When it fails with this error
    stream = translator()
    stream.start()
    events = stream.fail(error)
    # Then the error event and the failed response carry the Responses code for it and the message
    assert events[0]["code"] == code
    assert events[1]["response"]["error"] == {"code": code, "message": error.message}
    assert events[1]["response"]["output"] == []


def test_a_failed_response_keeps_the_items_finished_before_the_failure() -> None:
    # Given a stream that finished its reasoning and started its answer
    stream = translator()
    stream.start()
    stream.feed({"choices": [{"index": 0, "delta": {"reasoning_content": "Think."}, "finish_reason": None}]})
    stream.feed({"choices": [{"index": 0, "delta": {"content": "Hal"}, "finish_reason": None}]})
    # When it fails
    failed = stream.fail(GatewayError(500, "Internal error", type="api_error"))[-1]["response"]
    # Then the failed response carries the finished reasoning item
    assert [(item["type"], item["content"][0]["text"]) for item in failed["output"]] == [("reasoning", "Think.")]
