"""ConverseStream events become the chat.completion.chunk stream an OpenAI client expects."""

import json

import pytest
from gptoss.converse import ConverseStreamTranslator
from gptoss.errors import GatewayError

from tests.api_contract import joined

IDENTITY = {"id": "chatcmpl-s", "created": 1700000000, "model": "gpt-oss-20b", "object": "chat.completion.chunk"}


def run(events, include_usage=False):
    translator = ConverseStreamTranslator(
        model="gpt-oss-20b", completion_id="chatcmpl-s", created=1700000000, include_usage=include_usage
    )
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    return translator, chunks + translator.finish()


def deltas(chunks):
    return [choice["delta"] for chunk in chunks for choice in chunk["choices"]]


METADATA = {
    "metadata": {"usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12}, "metrics": {"latencyMs": 1}}
}
REASONING_THEN_TEXT = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"reasoningContent": {"text": "The user "}}, "contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"reasoningContent": {"text": "greets."}}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": "Hel"}, "contentBlockIndex": 1}},
    {"contentBlockDelta": {"delta": {"text": "lo!"}, "contentBlockIndex": 1}},
    {"contentBlockStop": {"contentBlockIndex": 1}},
    {"messageStop": {"stopReason": "end_turn"}},
    METADATA,
]


def test_a_streamed_answer_yields_role_reasoning_content_and_finish_chunks():
    # Given a ConverseStream with reasoning then text
    # When translated without include_usage
    translator, chunks = run(REASONING_THEN_TEXT)
    # Then the first chunk announces the assistant, reasoning and content arrive incrementally, then the finish
    assert deltas(chunks)[0] == {"role": "assistant", "content": ""}
    assert [d.get("reasoning_content") for d in deltas(chunks)[1:3]] == ["The user ", "greets."]
    assert joined(chunks, "content") == "Hello!"
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert all(choice["finish_reason"] is None for chunk in chunks[:-1] for choice in chunk["choices"])
    # And every chunk carries the same identity
    assert all({key: chunk[key] for key in IDENTITY} == IDENTITY for chunk in chunks)
    # And no usage chunk is sent that the client did not ask for, though usage is kept for metrics
    assert all("usage" not in chunk for chunk in chunks)
    assert translator.usage == {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


def test_usage_comes_last_in_a_chunk_without_choices_when_asked():
    # Given stream_options.include_usage
    _, chunks = run(REASONING_THEN_TEXT, include_usage=True)
    # Then, like OpenAI, the final chunk has empty choices and the usage
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_streamed_tool_calls_are_indexed_per_call_not_per_content_block():
    # Given text, then two tool calls whose arguments stream in fragments
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Checking."}, "contentBlockIndex": 0}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}},
                "contentBlockIndex": 1,
            }
        },
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"city": '}}, "contentBlockIndex": 1}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '"Paris"}'}}, "contentBlockIndex": 1}},
        {"contentBlockStop": {"contentBlockIndex": 1}},
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t2", "name": "get_time"}}, "contentBlockIndex": 2}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": "{}"}}, "contentBlockIndex": 2}},
        {"contentBlockStop": {"contentBlockIndex": 2}},
        {"messageStop": {"stopReason": "tool_use"}},
    ]
    # When translated
    _, chunks = run(events)
    calls = [call for delta in deltas(chunks) for call in delta.get("tool_calls", [])]
    # Then each call opens with index, id, type and name, and its argument fragments follow under the same index
    assert calls[0] == {
        "index": 0,
        "id": "t1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert calls[3] == {"index": 1, "id": "t2", "type": "function", "function": {"name": "get_time", "arguments": ""}}
    arguments = {0: "", 1: ""}
    for call in calls:
        arguments[call["index"]] += call["function"]["arguments"]
    assert json.loads(arguments[0]) == {"city": "Paris"}
    assert json.loads(arguments[1]) == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_reasoning_tags_leaked_into_streamed_text_are_separated():
    # Given a text block carrying inline <reasoning> tags cut across deltas
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "<reaso"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": "ning>hmm</reas"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": "oning> Fine."}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
    ]
    # When it is translated
    _, chunks = run(events)
    # Then the reasoning and the answer arrive in their own fields
    assert (joined(chunks, "reasoning_content"), joined(chunks, "content")) == ("hmm", "Fine.")


def test_text_held_back_for_a_possible_tag_is_flushed_before_the_finish():
    # Given a stream that stops on text that could start a tag
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": " <"}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "max_tokens"}},
    ]
    # When it is translated
    _, chunks = run(events)
    # Then that text still reaches the client, before the length finish
    assert joined(chunks, "content") == " <"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_a_guardrail_intervention_finishes_with_content_filter_and_reports_the_trace():
    # Given a stream the guardrail stopped, with its trace in the metadata
    trace = {"guardrail": {"outputAssessments": {"g": [{"contentPolicy": {"filters": []}}]}}}
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Blocked."}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "guardrail_intervened"}},
        {"metadata": {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "trace": trace}},
    ]
    # When it is translated
    translator, chunks = run(events)
    # Then the finish is content_filter, followed by a choice-less chunk carrying the verdict and trace
    assert translator.finish_reason == "content_filter"
    assert chunks[-2]["choices"][0]["finish_reason"] == "content_filter"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["guardrail"] == {"action": "INTERVENED", "trace": trace["guardrail"]}
    assert "usage" not in chunks[-1]


@pytest.mark.parametrize(
    ("event_name", "status"),
    [("throttlingException", 429), ("modelStreamErrorException", 502), ("validationException", 400)],
)
def test_a_mid_stream_exception_event_raises_the_mapped_error(event_name, status):
    # Given a stream that has started
    translator, _ = run([{"messageStart": {"role": "assistant"}}])
    # When Bedrock sends an exception event
    # Then it raises the gateway error with the mapped HTTP status
    with pytest.raises(GatewayError) as raised:
        translator.feed({event_name: {"message": "boom"}})
    assert raised.value.status == status


def test_events_with_nothing_for_the_client_produce_no_chunks():
    # Given a block stop and an event type the gateway does not know
    # When they are translated
    _, chunks = run([{"contentBlockStop": {"contentBlockIndex": 0}}, {"somethingNew": {}}])
    # Then the client gets no chunk for them
    assert chunks == []


def test_an_exception_event_carries_bedrocks_message_to_the_client():
    # Given a started stream, then exception events with and without a message
    translator, _ = run([{"messageStart": {"role": "assistant"}}])
    # When Bedrock sends them
    with pytest.raises(GatewayError) as with_message:
        translator.feed({"throttlingException": {"message": "Too many requests"}})
    with pytest.raises(GatewayError) as without_body:
        translator.feed({"modelStreamErrorException": None})
    # Then the client reads Bedrock's reason after the summary, or just the summary
    assert with_message.value.message == "Rate limit reached, retry shortly: Too many requests"
    assert without_body.value.message == "The model returned an error"


def test_a_message_start_without_a_role_is_the_assistant_speaking():
    # Given a messageStart event that names no role
    _, chunks = run([{"messageStart": {}}])
    # Then the first delta is the assistant's, as OpenAI's first chunk is
    assert deltas(chunks) == [{"role": "assistant", "content": ""}]


def test_a_tool_call_block_without_an_index_is_the_first_call():
    # Given a tool use start without contentBlockIndex
    events = [{"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t1", "name": "now"}}}}]
    _, chunks = run(events)
    # Then it is the first tool call
    assert deltas(chunks) == [
        {"tool_calls": [{"index": 0, "id": "t1", "type": "function", "function": {"name": "now", "arguments": ""}}]}
    ]


def test_text_held_back_for_a_possible_tag_sends_no_empty_chunk():
    # Given text that starts like a reasoning tag, arriving in two pieces
    events = [
        {"contentBlockDelta": {"delta": {"text": "<reas"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": "on"}, "contentBlockIndex": 0}},
    ]
    # When the pieces are translated
    _, chunks = run(events)
    # Then nothing is sent while it could still be a tag: no chunk with an empty delta
    assert chunks == []


def test_a_reasoning_signature_sends_no_chunk():
    # Given reasoning followed by its signature delta, which carries no text
    events = [
        {"contentBlockDelta": {"delta": {"reasoningContent": {"text": "Think."}}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"reasoningContent": {"signature": "c2ln"}}, "contentBlockIndex": 0}},
    ]
    # When translated
    _, chunks = run(events)
    # Then the client gets the reasoning once and nothing for the signature
    assert deltas(chunks) == [{"reasoning_content": "Think."}]


def test_tool_call_events_without_an_index_stream_into_one_call():
    # Given a tool use whose start and deltas carry no contentBlockIndex
    events = [
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}}}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"city": '}}}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '"Paris"}'}}}},
    ]
    # When translated
    _, chunks = run(events)
    # Then every fragment belongs to the first call, and its arguments join into the JSON sent
    calls = [call for delta in deltas(chunks) for call in delta["tool_calls"]]
    assert [call["index"] for call in calls] == [0, 0, 0]
    assert "".join(call["function"]["arguments"] for call in calls) == '{"city": "Paris"}'


def test_a_tool_use_delta_without_input_adds_nothing_to_the_arguments():
    # Given a tool use delta that carries no input
    events = [
        {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t1", "name": "now"}}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"toolUse": {}}, "contentBlockIndex": 0}},
    ]
    # When translated
    _, chunks = run(events)
    # Then the client's arguments string stays empty (still a string the SDK can append to)
    assert deltas(chunks)[-1] == {"tool_calls": [{"index": 0, "function": {"arguments": ""}}]}


def test_reasoning_cut_short_inside_its_closing_tag_still_reaches_the_client():
    # Given a stream that ends while the reasoning's closing tag is half written
    events = [
        {"contentBlockDelta": {"delta": {"text": "<reasoning>Think.</reas"}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "max_tokens"}},
    ]
    # When translated
    _, chunks = run(events)
    # Then the held-back text is delivered as reasoning before the length finish, not lost
    assert joined(chunks, "reasoning_content") == "Think.</reas"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_an_answer_ending_like_the_start_of_a_stop_string_is_delivered_whole():
    # Given a stop string, and an answer whose last characters could begin it
    translator = ConverseStreamTranslator(
        model="gpt-oss-20b", completion_id="chatcmpl-s", created=1700000000, include_usage=False, stop=["\nEND"]
    )
    events = [
        {"contentBlockDelta": {"delta": {"text": "Done.\nEN"}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
    ]
    # When translated
    chunks = [chunk for event in events for chunk in translator.feed(event)] + translator.finish()
    # Then the held-back tail arrives before the model's own finish
    assert deltas(chunks) == [{"content": "Done."}, {"content": "\nEN"}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
