"""InvokeModel: the OpenAI body passes nearly unchanged; reasoning is split out of the answer, whole or streamed."""

import itertools

import pytest
from gptoss.chat_request import parse_chat_request
from gptoss.invoke import InvokeStreamTranslator, from_invoke_response, to_batch_input, to_invoke_body
from gptoss.reasoning import split_reasoning
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api_contract import joined

MODEL_ID = "openai.gpt-oss-20b-1:0"


def request(**fields):
    return parse_chat_request({"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "Hi"}], **fields})


# ---- request ----------------------------------------------------------------------------------------------------


def test_the_body_is_the_openai_body_with_bedrocks_model_and_stream_values():
    # Given a client request naming an alias
    body = to_invoke_body(
        request(temperature=0.7, reasoning_effort="high", max_completion_tokens=50), MODEL_ID, stream=False
    )
    # Then Bedrock gets the same body with its model id and stream=false (it must match the operation)
    assert body == {
        "model": MODEL_ID,
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.7,
        "reasoning_effort": "high",
        "max_completion_tokens": 50,
        "stream": False,
    }


def test_streaming_keeps_stream_options_so_the_client_can_get_usage():
    # Given a streaming request asking for usage
    # When the streaming body is built
    body = to_invoke_body(request(stream=True, stream_options={"include_usage": True}), MODEL_ID, stream=True)
    # Then Bedrock is asked to stream and to include usage
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})


def test_a_non_streaming_call_never_sends_stream_options():
    # Given a request with stream options
    # When a non-streaming body is built
    body = to_invoke_body(request(stream=True, stream_options={"include_usage": True}), MODEL_ID, stream=False)
    # Then stream is false and the stream options are dropped (InvokeModel rejects them)
    assert body["stream"] is False
    assert "stream_options" not in body


def test_a_batch_record_carries_neither_stream_nor_stream_options():
    # Given a chat request written for streaming, put in a batch file
    # When it becomes the modelInput of a Bedrock batch record
    model_input = to_batch_input(request(stream=True, stream_options={"include_usage": True}), MODEL_ID)
    # Then the record asks for no stream at all (a batch record is never streamed)
    assert "stream" not in model_input
    assert "stream_options" not in model_input
    assert model_input["messages"] == [{"role": "user", "content": "Hi"}]


def test_echoed_reasoning_content_is_removed_from_the_history_without_touching_the_input():
    # Given a history echoing the reasoning_content this gateway returned
    original = request(
        messages=[
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4", "reasoning_content": "easy"},
            {"role": "user", "content": "and 3+3?"},
        ]
    )
    # When the body is built
    body = to_invoke_body(original, MODEL_ID, stream=False)
    # Then the reasoning is not sent back, and the caller's request is unchanged
    assert body["messages"][1] == {"role": "assistant", "content": "4"}
    assert original["messages"][1]["reasoning_content"] == "easy"


# ---- response ---------------------------------------------------------------------------------------------------


def bedrock_completion(content, finish_reason="stop", **extra):
    return {
        "id": "chatcmpl-bedrock",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
        **extra,
    }


def test_the_leading_reasoning_is_moved_to_reasoning_content():
    # Given InvokeModel's answer with reasoning inline
    completion = from_invoke_response(
        bedrock_completion("<reasoning>The user greets me.</reasoning>\n\nHello!"), model="gpt-oss-20b"
    )
    # Then the content is only the answer and the reasoning has its own field
    message = completion["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "Hello!", "reasoning_content": "The user greets me."}
    assert completion["model"] == "gpt-oss-20b"
    assert completion["usage"] == {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}


def test_an_answer_without_reasoning_is_unchanged():
    # Given an InvokeModel answer without a reasoning block
    # When translated
    completion = from_invoke_response(bedrock_completion("Just this."), model="gpt-oss-20b", completion_id="chatcmpl-x")
    # Then the message is unchanged and carries the gateway's completion id
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "Just this."}
    assert completion["id"] == "chatcmpl-x"


def test_tool_calls_pass_through():
    # Given an answer that calls a tool after reasoning
    calls = [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
    body = bedrock_completion("<reasoning>Need weather.</reasoning>", "tool_calls")
    body["choices"][0]["message"]["tool_calls"] = calls
    # When translated
    choice = from_invoke_response(body, model="gpt-oss-20b")["choices"][0]
    # Then the tool calls reach the client unchanged, with the reasoning moved out and no text content (as OpenAI)
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == calls
    assert choice["message"]["content"] is None


def test_a_guardrail_intervention_is_content_filter_with_the_trace_and_no_amazon_keys():
    # Given Bedrock's guardrail verdict fields on the response
    trace = {"guardrail": {"input": {"g1": {"topicPolicy": {"topics": [{"name": "x", "action": "BLOCKED"}]}}}}}
    body = bedrock_completion(
        "Sorry, I cannot help.", **{"amazon-bedrock-guardrailAction": "INTERVENED", "amazon-bedrock-trace": trace}
    )
    # When translated
    completion = from_invoke_response(body, model="gpt-oss-20b")
    # Then the client sees content_filter and the documented guardrail field, not Bedrock's keys
    assert completion["choices"][0]["finish_reason"] == "content_filter"
    assert completion["guardrail"] == {"action": "INTERVENED", "trace": trace["guardrail"]}
    assert not [key for key in completion if key.startswith("amazon-")]


def test_a_guardrail_that_did_not_intervene_leaves_the_finish_reason():
    # Given a guarded answer the guardrail let through
    body = bedrock_completion("Hi", **{"amazon-bedrock-guardrailAction": "NONE"})
    # When translated
    completion = from_invoke_response(body, model="gpt-oss-20b")
    # Then the finish reason is the model's and the verdict is NONE
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["guardrail"] == {"action": "NONE", "trace": {}}


def test_usage_falls_back_to_bedrock_invocation_metrics():
    # Given an answer without usage but with Bedrock's invocation metrics
    body = bedrock_completion(
        "Hi", **{"amazon-bedrock-invocationMetrics": {"inputTokenCount": 3, "outputTokenCount": 4}}
    )
    del body["usage"]
    # When translated
    # Then usage is computed from the metrics
    assert from_invoke_response(body, model="m")["usage"] == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
    }


# ---- stream -----------------------------------------------------------------------------------------------------


def bedrock_chunk(delta=None, finish_reason=None, **extra):
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    return {
        "id": "bedrock-id",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL_ID,
        "choices": choices,
        **extra,
    }


def run_stream(chunks, include_usage=False):
    translator = InvokeStreamTranslator(
        model="gpt-oss-20b", include_usage=include_usage, completion_id="chatcmpl-g", created=1700000000
    )
    out = [piece for chunk in chunks for piece in translator.feed(chunk)]
    return translator, out + translator.finish()


def test_a_stream_is_re_identified_and_reasoning_is_split():
    # Given Bedrock chunks where the reasoning tags are cut mid-tag
    chunks = [
        bedrock_chunk({"role": "assistant", "content": "<reas"}),
        bedrock_chunk({"content": "oning>Thinking</reas"}),
        bedrock_chunk({"content": "oning>\nThe answer"}),
        bedrock_chunk({"content": " is 4."}, "stop"),
    ]
    # When translated
    _, out = run_stream(chunks)
    # Then reasoning and content are separated, every chunk has the gateway's identity, and the finish is last
    assert joined(out, "reasoning_content") == "Thinking"
    assert joined(out, "content") == "The answer is 4."
    assert out[0]["choices"][0]["delta"]["role"] == "assistant"
    assert {(c["id"], c["model"], c["created"], c["object"]) for c in out} == {
        ("chatcmpl-g", "gpt-oss-20b", 1700000000, "chat.completion.chunk")
    }
    assert out[-1]["choices"][0]["finish_reason"] == "stop"


def test_streamed_tool_calls_keep_their_index():
    # Given a tool call streamed in two chunks
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}
    more = {"index": 0, "function": {"arguments": "{}"}}
    # When translated
    _, out = run_stream(
        [
            bedrock_chunk({"role": "assistant", "tool_calls": [first]}),
            bedrock_chunk({"tool_calls": [more]}, "tool_calls"),
        ]
    )
    calls = [call for chunk in out for choice in chunk["choices"] for call in choice["delta"].get("tool_calls", [])]
    # Then the client gets both deltas with their index, and the tool_calls finish
    assert calls == [first, more]
    assert out[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_usage_is_passed_last_only_when_the_client_asked():
    # Given a stream ending with Bedrock's usage chunk
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    chunks = [bedrock_chunk({"content": "Hi"}, "stop"), bedrock_chunk(usage=usage)]
    # When translated with and without include_usage
    translator, out = run_stream(chunks, include_usage=True)
    # Then usage is the last, choice-less chunk only when asked for, and is kept for metrics either way
    assert out[-1]["choices"] == []
    assert out[-1]["usage"] == usage
    translator, out = run_stream(chunks, include_usage=False)
    assert all("usage" not in chunk for chunk in out)
    assert translator.usage == usage


def test_usage_comes_from_invocation_metrics_when_bedrock_sends_no_usage_chunk():
    # Given a stream with invocation metrics but no usage chunk
    metrics = {"inputTokenCount": 5, "outputTokenCount": 6, "invocationLatency": 10, "firstByteLatency": 2}
    chunks = [bedrock_chunk({"content": "Hi"}, "stop", **{"amazon-bedrock-invocationMetrics": metrics})]
    # When translated with include_usage
    _, out = run_stream(chunks, include_usage=True)
    # Then the usage chunk is computed from the metrics, and no amazon- key leaks
    assert out[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}
    assert not [key for chunk in out for key in chunk if key.startswith("amazon-")]


def test_a_streamed_guardrail_intervention_finishes_with_content_filter():
    # Given a streamed answer the guardrail replaced
    trace = {"guardrail": {"output": []}}
    chunks = [
        bedrock_chunk(
            {"content": "Sorry."},
            "stop",
            **{"amazon-bedrock-guardrailAction": "INTERVENED", "amazon-bedrock-trace": trace},
        )
    ]
    # When translated
    translator, out = run_stream(chunks)
    # Then the finish is content_filter, followed by a choice-less chunk carrying the verdict
    assert translator.finish_reason == "content_filter"
    assert out[-2]["choices"][0]["finish_reason"] == "content_filter"
    assert out[-1] == {
        "id": "chatcmpl-g",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-oss-20b",
        "choices": [],
        "guardrail": {"action": "INTERVENED", "trace": {"output": []}},
    }


def test_a_guardrail_verdict_on_the_trailing_usage_chunk_still_turns_the_finish_into_content_filter():
    # Given a stream with include_usage where Bedrock reports the intervention only on the usage chunk after the
    # finish chunk
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    chunks = [
        bedrock_chunk({"content": "Sorry."}, "stop"),
        bedrock_chunk(usage=usage, **{"amazon-bedrock-guardrailAction": "INTERVENED"}),
    ]
    # When translated
    translator, out = run_stream(chunks, include_usage=True)
    # Then the client's only finish chunk says content_filter, and the last chunk has the usage and the verdict
    finishes = [c["finish_reason"] for chunk in out for c in chunk["choices"] if c["finish_reason"]]
    assert finishes == ["content_filter"]
    assert translator.finish_reason == "content_filter"
    assert out[-1]["usage"] == usage
    assert out[-1]["guardrail"]["action"] == "INTERVENED"


def test_a_stream_cut_off_inside_a_held_back_tag_is_flushed_by_finish():
    # Given a stream cut off while a possible closing tag is held back
    translator = InvokeStreamTranslator(model="m", include_usage=False)
    translator.feed(bedrock_chunk({"content": "<reasoning>partial</reaso"}))
    # When the stream is finished
    flushed = translator.finish()
    # Then the held-back text is released as reasoning, not lost
    assert joined(flushed, "reasoning_content") == "</reaso"


PIECES = ["<reasoning>", "</reasoning>", "<reas", "oning>", "</", "<", ">", " ", "\n", "ok", "é", "🙂"]


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=10),
)
def test_any_chunking_of_the_content_gives_the_unsplit_result(pieces, cuts):
    # Given an answer text cut into Bedrock chunks at arbitrary boundaries
    text = "".join(pieces)
    bounds = [0, *sorted({cut % (len(text) + 1) for cut in cuts}), len(text)]
    contents = [text[start:end] for start, end in itertools.pairwise(bounds)]
    chunks = [bedrock_chunk({"content": piece}) for piece in contents] + [bedrock_chunk({}, "stop")]
    # When streamed through the translator
    _, out = run_stream(chunks)
    # Then the concatenated reasoning and content equal the split of the whole answer
    reasoning, content = split_reasoning(text)
    assert (joined(out, "reasoning_content"), joined(out, "content")) == (reasoning or "", content)
    assert [c["choices"][0]["finish_reason"] for c in out if c["choices"]].count("stop") == 1


@pytest.mark.parametrize("finish_reason", ["stop", "length", "tool_calls"])
def test_bedrock_finish_reasons_pass_through(finish_reason):
    # Given a stream ending with one of Bedrock's finish reasons
    # When translated
    translator, out = run_stream([bedrock_chunk({"content": "x"}, finish_reason)])
    # Then the client sees the same finish reason
    assert out[-1]["choices"][0]["finish_reason"] == finish_reason == translator.finish_reason


def test_null_fields_in_bedrock_deltas_do_not_produce_empty_chunks():
    # Given Bedrock chunks padded with nulls, as OpenAI-style servers often send
    chunks = [
        bedrock_chunk({"role": "assistant", "content": None, "tool_calls": None, "refusal": None}),
        bedrock_chunk({"content": "Hi", "refusal": None}),
        bedrock_chunk({"content": None}, "stop"),
    ]
    # When translated
    _, out = run_stream(chunks)
    # Then the client sees role, content and finish, without null noise
    assert [chunk["choices"][0]["delta"] for chunk in out] == [
        {"role": "assistant", "content": ""},
        {"content": "Hi"},
        {},
    ]


# ---- details a client sees on the InvokeModel path (each found by a surviving mutant) ------------------------------


def test_only_assistant_reasoning_is_dropped_from_the_history():
    # Given a user message that carries a field named reasoning_content (not this gateway's echo)
    messages = [{"role": "user", "content": "Hi", "reasoning_content": "mine"}]
    # When the body is built
    body = to_invoke_body(request(messages=messages), MODEL_ID, stream=False)
    # Then the user's message reaches Bedrock as sent
    assert body["messages"] == messages


def test_a_bare_body_gets_the_completion_identity_the_sdk_needs():
    # Given a Bedrock body without id, object or created
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]}
    # When translated
    completion = from_invoke_response(body, model="gpt-oss-20b")
    # Then the client gets a chat.completion with a fresh id and a creation time
    assert completion["object"] == "chat.completion"
    assert completion["id"].startswith("chatcmpl-")
    assert isinstance(completion["created"], int)


def test_bedrocks_own_id_is_kept_unless_the_gateway_gives_one():
    # Given a Bedrock body with an id
    # Then it is kept when the gateway has none, and replaced when it has
    assert from_invoke_response(bedrock_completion("Hi"), model="m")["id"] == "chatcmpl-bedrock"
    assert from_invoke_response(bedrock_completion("Hi"), model="m", completion_id="chatcmpl-gw")["id"] == "chatcmpl-gw"


def test_reported_usage_wins_over_invocation_metrics():
    # Given a body with usage and invocation metrics that disagree
    metrics = {"inputTokenCount": 1, "outputTokenCount": 1}
    completion = from_invoke_response(
        bedrock_completion("Hi", **{"amazon-bedrock-invocationMetrics": metrics}), model="m"
    )
    # Then the client sees the usage Bedrock reported in the body
    assert completion["usage"] == {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}


def test_metrics_without_an_output_count_mean_no_output_tokens():
    # Given invocation metrics that count only input tokens, and no usage
    body = bedrock_completion("", usage=None, **{"amazon-bedrock-invocationMetrics": {"inputTokenCount": 4}})
    # Then the usage reports no output tokens
    assert from_invoke_response(body, model="m")["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": 0,
        "total_tokens": 4,
    }


def test_native_and_inline_reasoning_are_both_kept_in_order():
    # Given a message with Bedrock's reasoning_content and a leaked inline reasoning block
    body = bedrock_completion("<reasoning>second</reasoning>Answer")
    body["choices"][0]["message"]["reasoning_content"] = "first, "
    # Then the client reads both, native first
    message = from_invoke_response(body, model="m")["choices"][0]["message"]
    assert (message["reasoning_content"], message["content"]) == ("first, second", "Answer")


def test_a_plain_answer_has_no_guardrail_field():
    # Given an answer from a deployment without guardrail
    # Then the completion has no guardrail field
    assert "guardrail" not in from_invoke_response(bedrock_completion("Hi"), model="m")


@pytest.mark.parametrize(
    "trace", [{"guardrail": {"input": {"g": {}}}}, {"input": {"g": {}}}], ids=["wrapped", "unwrapped"]
)
def test_a_trace_without_an_action_is_reported_as_none_with_the_trace(trace):
    # Given a guardrail trace (wrapped in "guardrail" or not) but no action
    completion = from_invoke_response(bedrock_completion("Hi", **{"amazon-bedrock-trace": trace}), model="m")
    # Then the client sees action NONE and the trace
    assert completion["guardrail"] == {"action": "NONE", "trace": {"input": {"g": {}}}}


def test_a_stream_without_a_creation_time_gets_one():
    # Given a translator not told when the completion was created
    translator = InvokeStreamTranslator(model="m", include_usage=False)
    # Then its chunks still carry an integer creation time
    assert isinstance(translator.feed(bedrock_chunk({"content": "Hi"}))[0]["created"], int)


def test_each_streamed_chunk_is_a_complete_openai_choice():
    # Given a two-chunk answer whose every delta repeats the role, with log probabilities
    logprobs = {"content": [{"token": "Hi", "logprob": -0.1, "top_logprobs": []}]}
    chunks = [
        {**bedrock_chunk({"role": "assistant", "content": "Hi"}), "choices": []},
        bedrock_chunk({"role": "assistant", "content": "Hi"}),
        bedrock_chunk({"role": "assistant", "content": "!"}, "stop"),
    ]
    chunks[1]["choices"][0]["logprobs"] = logprobs
    # When translated
    _, out = run_stream(chunks)
    # Then each choice is OpenAI's shape: index, the role only first, the log probabilities kept, then the finish
    assert [chunk["choices"] for chunk in out] == [
        [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "logprobs": logprobs, "finish_reason": None}],
        [{"index": 0, "delta": {"content": "!"}, "logprobs": None, "finish_reason": None}],
        [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}],
    ]


def test_a_choice_without_an_index_is_the_first_choice():
    # Given Bedrock chunks that omit the choice index
    chunks = [{"choices": [{"delta": {"content": "Hi"}}]}, {"choices": [{"delta": {}, "finish_reason": "stop"}]}]
    # Then the client's choices have index 0
    _, out = run_stream(chunks)
    assert {choice["index"] for chunk in out for choice in chunk["choices"]} == {0}


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_native_streamed_reasoning_reaches_reasoning_content(field):
    # Given Bedrock streaming reasoning in its own delta field
    _, out = run_stream([bedrock_chunk({field: "Thinking"}), bedrock_chunk({"content": "Done"}, "stop")])
    # Then the client reads it as reasoning_content, and the answer as content
    assert joined(out, "reasoning_content") == "Thinking"
    assert joined(out, "content") == "Done"


def test_text_held_back_at_a_finish_is_flushed_to_that_choice():
    # Given a choice that finishes while text that looked like a tag is held back
    _, out = run_stream([bedrock_chunk({"content": "<reas"}, "stop")])
    # Then the text reaches that choice before its finish
    assert [(c["choices"][0]["index"], c["choices"][0]["delta"]) for c in out] == [
        (0, {"role": "assistant", "content": "<reas"}),
        (0, {}),
    ]


def test_a_stream_cut_short_flushes_held_text_to_its_choice():
    # Given a stream that ends (no finish) while its first text, which looked like a tag, is held back
    _, out = run_stream([bedrock_chunk({"content": "<reas"})])
    # Then finish() sends the held text on choice 0, after the role
    assert [chunk["choices"] for chunk in out] == [
        [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}],
        [{"index": 0, "delta": {"content": "<reas"}, "logprobs": None, "finish_reason": None}],
    ]


def test_no_usage_chunk_when_bedrock_reported_none():
    # Given a client asking for usage on a stream where Bedrock reported none
    _, out = run_stream([bedrock_chunk({"content": "Hi"}, "stop")], include_usage=True)
    # Then no chunk carries usage (there is none to report)
    assert not any("usage" in chunk for chunk in out)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_an_empty_native_reasoning_field_adds_nothing_to_the_stream(field):
    # Given Bedrock deltas that carry an empty reasoning field, beside content and alone
    _, out = run_stream([bedrock_chunk({"content": "Hi", field: ""}), bedrock_chunk({field: ""}, "stop")])
    # Then the client gets the content without an empty reasoning field, and no empty delta
    assert [chunk["choices"][0]["delta"] for chunk in out] == [{"role": "assistant", "content": "Hi"}, {}]
