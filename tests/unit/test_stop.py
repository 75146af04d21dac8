"""Stop strings applied by the gateway: the answer ends right before the first stop, and a stream never emits a
character at or after it, however the stop string is split across chunks."""

import itertools

from gptoss.converse import ConverseStreamTranslator, from_converse_response
from gptoss.stop import StopCutter, cut_at_stop, stop_strings
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api_contract import joined

OBSERVATION = "\nObservation:"  # CrewAI's default stop


def stream(cutter: StopCutter, pieces: list[str]) -> str:
    emitted = "".join(cutter.feed(piece) for piece in pieces)
    return emitted + cutter.finish()


def test_every_split_position_of_the_stop_string_is_cut_exactly():
    # Given an answer containing CrewAI's stop string, cut into two pieces at every possible position
    text = "Thought: I need the weather.\nAction: weather\nObservation: sunny\nFinal Answer: sunny"
    for position in range(len(text) + 1):
        cutter = StopCutter([OBSERVATION])
        # When it streams through the cutter
        emitted = stream(cutter, [text[:position], text[position:]])
        # Then exactly the text before the stop comes out, and the cutter says the stream is done
        assert emitted == text[: text.index(OBSERVATION)], position
        assert cutter.stopped


alphabet = st.sampled_from("ab\nO:xy")


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet, max_size=40),
    stops=st.lists(st.text(alphabet, min_size=1, max_size=4), min_size=1, max_size=4),
    cuts=st.lists(st.integers(0, 40), max_size=8),
)
def test_a_streamed_answer_is_cut_exactly_where_the_whole_answer_is(text, stops, cuts):
    # Given any answer, any stop strings and any chunking of the answer
    points = sorted({0, len(text), *(cut for cut in cuts if cut <= len(text))})
    pieces = [text[a:b] for a, b in itertools.pairwise(points)]
    cutter = StopCutter(stops)
    # When it streams through the cutter, checking what is out after every piece
    emitted = ""
    expected, stopped = cut_at_stop(text, stops)
    for piece in pieces:
        emitted += cutter.feed(piece)
        # Then nothing at or after the first stop is ever emitted, at any moment
        assert expected.startswith(emitted)
    emitted += cutter.finish()
    # And in the end the stream says exactly what the whole answer cut at its first stop says
    assert emitted == expected
    assert cutter.stopped == stopped


def test_only_what_could_still_start_a_stop_string_is_held_back():
    # Given a stop string "END" and an answer ending with "E"
    cutter = StopCutter(["END"])
    # When "Hello E" arrives
    # Then "Hello " goes out at once and only "E" waits
    assert cutter.feed("Hello E") == "Hello "
    assert cutter.feed("X") == "EX"


def test_stop_strings_come_from_a_string_or_a_list():
    assert stop_strings("END") == ("END",)
    assert stop_strings(["a", "b"]) == ("a", "b")
    assert stop_strings(None) == ()


# ---- the Converse path ------------------------------------------------------------------------------------------


def converse_events(text_pieces, stop_reason="end_turn"):
    events = [{"messageStart": {"role": "assistant"}}]
    events.append({"contentBlockDelta": {"delta": {"reasoningContent": {"text": "Think."}}, "contentBlockIndex": 0}})
    events += [{"contentBlockDelta": {"delta": {"text": piece}, "contentBlockIndex": 1}} for piece in text_pieces]
    events += [{"contentBlockStop": {"contentBlockIndex": 1}}, {"messageStop": {"stopReason": stop_reason}}]
    events.append({"metadata": {"usage": {"inputTokens": 3, "outputTokens": 9, "totalTokens": 12}}})
    return events


def translate(events, stop, include_usage=True):
    translator = ConverseStreamTranslator(
        model="m", completion_id="c", created=1, include_usage=include_usage, stop=stop, guardrail=True
    )
    chunks, consumed = [], 0
    for event in events:
        consumed += 1
        chunks += translator.feed(event)
        if translator.done:
            break
    return translator, chunks + translator.finish(), consumed


def test_a_converse_stream_reaching_a_stop_string_finishes_with_stop_and_reads_no_further():
    # Given a ConverseStream whose answer contains CrewAI's stop string split across three events
    events = converse_events(["Action: weather\nObs", "erva", "tion: sunny", " more text"])
    # When it is translated with that stop
    translator, chunks, consumed = translate(events, [OBSERVATION])
    # Then the content ends right before the stop, the finish is "stop", and no later event was read
    assert joined(chunks, "content") == "Action: weather"
    assert joined(chunks, "reasoning_content") == "Think."
    finishes = [c["finish_reason"] for chunk in chunks for c in chunk["choices"] if c["finish_reason"]]
    assert finishes == ["stop"]
    assert translator.done
    assert consumed == 5  # messageStart, reasoning, three text deltas: the upstream stream can be closed here
    # And the trailing chunk still carries the guardrail verdict; usage is unknown (Bedrock reports it at the end)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["guardrail"]["action"] == "NONE"
    assert "usage" not in chunks[-1]
    assert translator.usage is None


def test_a_converse_stream_without_its_stop_string_is_unchanged():
    # Given an answer whose end looks like the start of the stop string but is not
    events = converse_events(["Action: weather\nObs", "erved it"])
    # When translated
    translator, chunks, _ = translate(events, [OBSERVATION])
    # Then everything arrives (the held-back tail included), with the model's own finish and usage
    assert joined(chunks, "content") == "Action: weather\nObserved it"
    assert translator.finish_reason == "stop"
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12}


def test_a_whole_converse_answer_is_cut_at_the_first_stop_and_drops_later_tool_calls():
    # Given a Converse answer with text containing a stop string, followed by a tool call
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "Thought: weather.\nObservation: none"},
                    {"toolUse": {"toolUseId": "t1", "name": "weather", "input": {}}},
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
    }
    # When it is translated with the stop
    completion = from_converse_response(response, model="m", completion_id="c", created=1, stop=[OBSERVATION])
    # Then the answer ends before the stop, as if the model had stopped there
    choice = completion["choices"][0]
    assert choice["message"]["content"] == "Thought: weather."
    assert "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "stop"
