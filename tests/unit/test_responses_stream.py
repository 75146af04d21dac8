"""Chat completion chunks (either backend) become OpenAI's Responses stream event sequence."""

from __future__ import annotations

from typing import Any

import pytest
from gptoss.converse import ConverseStreamTranslator
from gptoss.errors import GatewayError
from gptoss.invoke import InvokeStreamTranslator
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
    ("error", "event_code", "response_code"),
    [
        (GatewayError(500, "Internal error", type="api_error"), "server_error", "server_error"),
        (
            GatewayError(503, "Model busy", type="api_error", code="ServiceUnavailable"),
            "ServiceUnavailable",
            "server_error",
        ),
        (GatewayError(429, "Slow down"), "rate_limit_exceeded", "rate_limit_exceeded"),
        (GatewayError(499, "Client closed", code="closed"), "closed", "invalid_prompt"),
        (GatewayError(400, "Too long", code="context_length_exceeded"), "context_length_exceeded", "invalid_prompt"),
        (GatewayError(400, "Blocked"), "invalid_prompt", "invalid_prompt"),
    ],
)
def test_a_failed_response_carries_a_code_the_responses_api_defines(
    error: GatewayError, event_code: str, response_code: str
) -> None:
    # Given a stream that started; When it fails with this error
    stream = translator()
    stream.start()
    events = stream.fail(error)
    # Then the error event keeps the gateway's code, the failed response carries one the Responses API defines (the
    # official SDK's event types accept both), and both carry the message
    for event in events:
        EVENT.validate_python(event)
    assert events[0]["code"] == event_code
    assert events[1]["response"]["error"] == {"code": response_code, "message": error.message}
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


# --- chat completion chunks fed directly (the shape both backends' stream translators emit) ---


def chunk(finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def call(index: int | None = None, **fields: Any) -> dict[str, Any]:
    """One `delta.tool_calls` entry; `name` and `arguments` go into its `function`."""
    function = {key: fields.pop(key) for key in ("name", "arguments") if key in fields}
    entry = {**fields, "function": function}
    return entry if index is None else {"index": index, **entry}


def stream_of(
    chunks: list[dict[str, Any]], usage: dict[str, Any] | None = None
) -> tuple[ResponsesStreamTranslator, list[dict[str, Any]]]:
    """The Responses events for `chunks`: start, each chunk fed, finish; every event checked against the SDK."""
    stream = translator()
    out = stream.start()
    for item in chunks:
        out += stream.feed(item)
    out += stream.finish(usage)
    for event in out:
        EVENT.validate_python(event)
    assert [event["sequence_number"] for event in out] == list(range(len(out)))
    return stream, out


def added_ids(events: list[dict[str, Any]]) -> list[str]:
    return [event["item"]["id"] for event in events if event["type"] == "response.output_item.added"]


def item_events(kind: str, deltas: int) -> list[str]:
    """OpenAI's event types for one output item streamed whole with `deltas` deltas, from added to done."""
    if kind == "function_call":
        arguments = "response.function_call_arguments"
        return [
            "response.output_item.added",
            *[f"{arguments}.delta"] * deltas,
            f"{arguments}.done",
            "response.output_item.done",
        ]
    text = "response.reasoning_text" if kind == "reasoning" else "response.output_text"
    return [
        "response.output_item.added",
        "response.content_part.added",
        *[f"{text}.delta"] * deltas,
        f"{text}.done",
        "response.content_part.done",
        "response.output_item.done",
    ]


def test_every_event_carries_openais_fields_for_reasoning_then_text() -> None:
    # Given chunks with reasoning, then the answer
    stream, events = stream_of(
        [
            chunk(role="assistant", content=""),
            chunk(reasoning_content="Think"),
            chunk(reasoning_content=" more"),
            chunk(content="Hé"),
            chunk(content="llo"),
            chunk(finish="stop"),
        ],
        usage={"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10},
    )
    rs, msg = added_ids(events)
    assert rs.startswith("rs_") and msg.startswith("msg_") and rs != msg
    final = stream.response
    assert final is not None
    reasoning_done = {
        "id": rs,
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "Think more"}],
        "status": "completed",
    }
    text_done = {"type": "output_text", "text": "Héllo", "annotations": [], "logprobs": []}
    message_done = {"id": msg, "type": "message", "role": "assistant", "status": "completed", "content": [text_done]}
    # Then each event is exactly OpenAI's, item ids and positions included
    assert [{k: v for k, v in event.items() if k != "sequence_number"} for event in events] == [
        {"type": "response.created", "response": events[0]["response"]},
        {"type": "response.in_progress", "response": events[0]["response"]},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**reasoning_done, "content": [{"type": "reasoning_text", "text": ""}], "status": "in_progress"},
        },
        {
            "type": "response.content_part.added",
            "item_id": rs,
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "reasoning_text", "text": ""},
        },
        {
            "type": "response.reasoning_text.delta",
            "item_id": rs,
            "output_index": 0,
            "content_index": 0,
            "delta": "Think",
        },
        {
            "type": "response.reasoning_text.delta",
            "item_id": rs,
            "output_index": 0,
            "content_index": 0,
            "delta": " more",
        },
        {
            "type": "response.reasoning_text.done",
            "item_id": rs,
            "output_index": 0,
            "content_index": 0,
            "text": "Think more",
        },
        {
            "type": "response.content_part.done",
            "item_id": rs,
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "reasoning_text", "text": "Think more"},
        },
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning_done},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**message_done, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            "item_id": msg,
            "output_index": 1,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        },
        {
            "type": "response.output_text.delta",
            "item_id": msg,
            "output_index": 1,
            "content_index": 0,
            "delta": "Hé",
            "logprobs": [],
        },
        {
            "type": "response.output_text.delta",
            "item_id": msg,
            "output_index": 1,
            "content_index": 0,
            "delta": "llo",
            "logprobs": [],
        },
        {
            "type": "response.output_text.done",
            "item_id": msg,
            "output_index": 1,
            "content_index": 0,
            "text": "Héllo",
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": msg,
            "output_index": 1,
            "content_index": 0,
            "part": text_done,
        },
        {"type": "response.output_item.done", "output_index": 1, "item": message_done},
        {"type": "response.completed", "response": final},
    ]
    # And the stream opens with the in-progress skeleton and closes with the whole response
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["id"] == "resp_s"
    assert final["status"] == "completed" and final["output"] == [reasoning_done, message_done]
    assert final["usage"]["input_tokens"] == 4 and final["usage"]["total_tokens"] == 10


def test_an_empty_answer_opens_and_closes_one_empty_message() -> None:
    # Given a stream whose only chunk ends it
    stream, events = stream_of([chunk(finish="stop")])
    # Then one message item with empty text is opened and closed, and the response has it as its only output
    assert types(events) == [
        "response.created",
        "response.in_progress",
        *item_events("message", deltas=0),
        "response.completed",
    ]
    (msg,) = added_ids(events)
    assert msg.startswith("msg_")
    assert events[2]["output_index"] == 0 and events[2]["item"]["status"] == "in_progress"
    assert events[4]["item_id"] == msg and events[4]["text"] == ""
    assert events[6]["item"]["content"] == [{"type": "output_text", "text": "", "annotations": [], "logprobs": []}]
    assert stream.response is not None and stream.response["output"] == [events[6]["item"]]


def test_text_then_parallel_tool_calls_close_the_message_and_each_call_in_order() -> None:
    # Given some text, then two tool calls whose arguments arrive interleaved
    stream, events = stream_of(
        [
            chunk(content="Checking."),
            chunk(tool_calls=[call(0, id="call_a", type="function", name="weather", arguments="")]),
            chunk(tool_calls=[call(1, id="call_b", type="function", name="time", arguments='{"tz"')]),
            chunk(tool_calls=[call(0, arguments='{"city":')]),
            chunk(tool_calls=[call(1, arguments=':"UTC"}')]),
            chunk(tool_calls=[call(0, arguments='"Oslo"}')]),
            chunk(finish="tool_calls"),
        ]
    )
    msg, fc_a, fc_b = added_ids(events)
    assert fc_a.startswith("fc_") and fc_b.startswith("fc_") and fc_a != fc_b
    # Then the message closes as soon as the first call opens, and the calls close in output order at the end
    assert types(events)[2:] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    opened = [event for event in events if event["type"] == "response.output_item.added"][1:]
    assert [(event["output_index"], event["item"]) for event in opened] == [
        (
            1,
            {
                "id": fc_a,
                "type": "function_call",
                "call_id": "call_a",
                "name": "weather",
                "arguments": "",
                "status": "in_progress",
            },
        ),
        (
            2,
            {
                "id": fc_b,
                "type": "function_call",
                "call_id": "call_b",
                "name": "time",
                "arguments": "",
                "status": "in_progress",
            },
        ),
    ]
    deltas = [event for event in events if event["type"] == "response.function_call_arguments.delta"]
    assert [(event["item_id"], event["output_index"], event["delta"]) for event in deltas] == [
        (fc_b, 2, '{"tz"'),
        (fc_a, 1, '{"city":'),
        (fc_b, 2, ':"UTC"}'),
        (fc_a, 1, '"Oslo"}'),
    ]
    done = [event for event in events if event["type"] == "response.function_call_arguments.done"]
    assert [{k: v for k, v in event.items() if k not in ("type", "sequence_number")} for event in done] == [
        {"item_id": fc_a, "output_index": 1, "arguments": '{"city":"Oslo"}', "name": "weather"},
        {"item_id": fc_b, "output_index": 2, "arguments": '{"tz":"UTC"}', "name": "time"},
    ]
    first_call = {
        "id": fc_a,
        "type": "function_call",
        "call_id": "call_a",
        "name": "weather",
        "arguments": '{"city":"Oslo"}',
        "status": "completed",
    }
    second_call = {
        "id": fc_b,
        "type": "function_call",
        "call_id": "call_b",
        "name": "time",
        "arguments": '{"tz":"UTC"}',
        "status": "completed",
    }
    items_done = [event for event in events if event["type"] == "response.output_item.done"]
    assert [(event["output_index"], event["item"]) for event in items_done[1:]] == [(1, first_call), (2, second_call)]
    # And the response lists the message, then the calls, all completed
    assert stream.response is not None
    assert [item["id"] for item in stream.response["output"]] == [msg, fc_a, fc_b]
    assert stream.response["output"][1:] == [first_call, second_call]
    assert stream.response["status"] == "completed"


def test_a_tool_call_without_index_id_or_name_still_becomes_one_function_call() -> None:
    # Given a call whose first delta has no index, id or name, continued under index 0
    stream, events = stream_of(
        [
            chunk(tool_calls=[call(arguments='{"a":')]),
            chunk(tool_calls=[call(0, arguments=None)]),
            chunk(tool_calls=[call(0, arguments="1}")]),
            chunk(finish="tool_calls"),
        ]
    )
    # Then it is one function call item with a generated call id, an empty name and the arguments joined
    assert types(events)[2:] == [*item_events("function_call", deltas=2), "response.completed"]
    assert stream.response is not None
    (item,) = stream.response["output"]
    assert item["call_id"].startswith("call_") and len(item["call_id"]) > len("call_")
    assert (item["name"], item["arguments"]) == ("", '{"a":1}')
    assert events[-3]["name"] == "" and events[-3]["arguments"] == '{"a":1}'


def test_text_after_a_tool_call_closes_the_call_and_opens_a_new_message() -> None:
    # Given a tool call, then text, then another call under the index the first one used
    stream, events = stream_of(
        [
            chunk(tool_calls=[call(0, id="call_a", name="first", arguments="{}")]),
            chunk(content="Between."),
            chunk(tool_calls=[call(0, id="call_b", name="second", arguments="{}")]),
            chunk(finish="tool_calls"),
        ]
    )
    # Then the first call is done before the message opens, and the later call is a new, third item
    assert types(events)[2:] == [
        *item_events("function_call", deltas=1),
        *item_events("message", deltas=1),
        *item_events("function_call", deltas=1),
        "response.completed",
    ]
    assert stream.response is not None
    output = stream.response["output"]
    assert [(item["type"], item.get("call_id")) for item in output] == [
        ("function_call", "call_a"),
        ("message", None),
        ("function_call", "call_b"),
    ]
    assert [event["output_index"] for event in events if event["type"] == "response.output_item.done"] == [0, 1, 2]


def test_reasoning_after_text_starts_a_new_reasoning_item() -> None:
    # Given text, then reasoning, then text again
    stream, events = stream_of(
        [chunk(content="A"), chunk(reasoning_content="why"), chunk(content="B"), chunk(finish="stop")]
    )
    # Then each change of kind closes the open item and opens the next one
    assert stream.response is not None
    assert [(item["type"], item["status"]) for item in stream.response["output"]] == [
        ("message", "completed"),
        ("reasoning", "completed"),
        ("message", "completed"),
    ]
    assert [item["content"][0]["text"] for item in stream.response["output"]] == ["A", "why", "B"]
    assert [event["output_index"] for event in events if event["type"] == "response.output_item.added"] == [0, 1, 2]


def test_one_invoke_chunk_with_reasoning_answer_and_a_tool_call_loses_none_of_them() -> None:
    # Given InvokeModel stream chunks where one carries the whole reasoning block and the answer's start,
    # and the next carries more answer beside a tool call
    inner = InvokeStreamTranslator(model="gpt-oss-20b", include_usage=False, completion_id="c", created=1)
    bedrock = [
        chunk(role="assistant", content="<reasoning>Think</reasoning>Answer"),
        chunk(content=" now", tool_calls=[call(0, id="call_a", type="function", name="lookup", arguments="{}")]),
        chunk(finish="tool_calls"),
    ]
    chunks = [piece for item in bedrock for piece in inner.feed(item)] + inner.finish()
    # When the gateway's chunks go through the Responses translator
    stream, events = stream_of(chunks)
    # Then the reasoning, the answer and the call each stream in full, in that order
    assert types(events)[2:] == [
        *item_events("reasoning", deltas=1),
        *item_events("message", deltas=2),
        *item_events("function_call", deltas=1),
        "response.completed",
    ]
    assert [event["delta"] for event in events if event["type"].endswith(".delta")] == ["Think", "Answer", " now", "{}"]
    assert stream.response is not None
    assert [item["type"] for item in stream.response["output"]] == ["reasoning", "message", "function_call"]


def test_the_final_response_is_there_only_once_the_stream_ends() -> None:
    # Given a stream that has started and produced text
    stream = translator()
    stream.start()
    stream.feed(chunk(content="Hi"))
    # Then it has no final response yet
    assert stream.response is None
    # When it finishes, the final response is the one the last event carries
    events = stream.finish(None)
    assert stream.response == events[-1]["response"] and stream.response["status"] == "completed"


def test_chunks_without_choices_or_delta_and_empty_text_emit_nothing() -> None:
    # Given a started stream
    stream = translator()
    stream.start()
    # When chunks arrive that carry nothing to show
    empty = [
        {"choices": []},
        {"choices": None, "usage": {"prompt_tokens": 1}},
        {"choices": [{"index": 0, "delta": None, "finish_reason": None}]},
        chunk(content="", reasoning_content=""),
        chunk(tool_calls=None),
        chunk(role="assistant"),
    ]
    # Then no event is emitted for them
    assert [stream.feed(item) for item in empty] == [[]] * len(empty)


def test_max_tokens_stays_incomplete_when_a_later_chunk_has_no_finish_reason() -> None:
    # Given a finish reason of length followed by a chunk without one
    stream, events = stream_of([chunk(content="Cut"), chunk(finish="length"), chunk(finish=None)])
    # Then the response is incomplete for max_output_tokens
    assert events[-1]["type"] == "response.incomplete"
    assert stream.response is not None and stream.response["incomplete_details"] == {"reason": "max_output_tokens"}


def test_a_guardrail_verdict_in_a_chunk_reaches_the_final_response() -> None:
    # Given a chunk carrying a guardrail intervention, then one with a non-object guardrail field
    verdict = {"action": "GUARDRAIL_INTERVENED", "trace": None}
    stream, events = stream_of(
        [
            chunk(content="Blocked."),
            {**chunk(finish="content_filter"), "guardrail": verdict},
            {"choices": [], "guardrail": "ignored"},
        ]
    )
    # Then the response is incomplete for the content filter and carries the verdict
    assert stream.guardrail == verdict
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "content_filter"}
    assert events[-1]["response"]["guardrail"] == verdict


def test_without_a_guardrail_chunk_the_response_has_no_verdict() -> None:
    stream, events = stream_of([chunk(content="Fine."), {"choices": [], "guardrail": None}, chunk(finish="stop")])
    assert stream.guardrail is None
    assert "guardrail" not in events[-1]["response"]


def test_an_error_after_items_closed_keeps_them_and_carries_the_param() -> None:
    # Given a stream whose reasoning item closed and whose message is still open
    stream = translator()
    started = stream.start()
    fed = stream.feed(chunk(reasoning_content="R")) + stream.feed(chunk(content="Partial"))
    # When a client error is reported
    events = stream.fail(GatewayError(400, "Bad value", param="input"))
    # Then the error event names the code, message and param, numbered after the events already sent
    for event in events:
        EVENT.validate_python(event)
    assert events[0] == {
        "type": "error",
        "sequence_number": len(started) + len(fed),
        "code": "invalid_prompt",
        "message": "Bad value",
        "param": "input",
    }
    assert events[1]["sequence_number"] == len(started) + len(fed) + 1
    # And the failed response holds the closed reasoning item only
    failed = events[1]["response"]
    assert stream.response == failed
    assert failed["error"] == {"code": "invalid_prompt", "message": "Bad value"}
    assert [(item["type"], item["content"][0]["text"]) for item in failed["output"]] == [("reasoning", "R")]


def test_an_sse_frame_is_compact_json_that_keeps_non_ascii_text() -> None:
    frame = sse_event({"type": "response.output_text.delta", "sequence_number": 3, "delta": "é ✓"})
    data = '{"type":"response.output_text.delta","sequence_number":3,"delta":"é ✓"}'
    assert frame == f"event: response.output_text.delta\ndata: {data}\n\n".encode()
