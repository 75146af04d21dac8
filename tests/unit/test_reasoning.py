"""gpt-oss's inline `<reasoning>` block is separated from the answer, whole or streamed in any chunking."""

import itertools

import pytest
from gptoss.reasoning import ReasoningSplitter, split_reasoning
from hypothesis import given, settings
from hypothesis import strategies as st

# Text built from tag fragments, so that tags, near-tags and split tags are common.
PIECES = [
    "<reasoning>",
    "</reasoning>",
    "<reasoning",
    "</reason",
    "<",
    ">",
    "/",
    "reasoning",
    " ",
    "\n",
    "a",
    "é",
    "🙂",
]
texts = st.lists(st.sampled_from(PIECES), max_size=12).map("".join) | st.text(max_size=40)


def stream(text: str, cuts: list[int]) -> tuple[str, str]:
    """Feed `text` to a splitter in pieces cut at `cuts`; return the concatenated (reasoning, content)."""
    splitter = ReasoningSplitter()
    bounds = [0, *sorted({cut % (len(text) + 1) for cut in cuts}), len(text)]
    outputs = [splitter.feed(text[start:end]) for start, end in itertools.pairwise(bounds)]
    outputs.append(splitter.finish())
    return "".join(part[0] for part in outputs), "".join(part[1] for part in outputs)


@pytest.mark.parametrize(
    ("text", "reasoning", "content"),
    [
        ("<reasoning>The user greets.</reasoning>Hello!", "The user greets.", "Hello!"),
        ("<reasoning>think</reasoning>\n\n  Answer", "think", "Answer"),
        ("  \n<reasoning>think</reasoning>Answer", "think", "Answer"),
        ("Plain answer", None, "Plain answer"),
        ("  Plain answer", None, "  Plain answer"),
        ("The <reasoning> tag is what gpt-oss uses.", None, "The <reasoning> tag is what gpt-oss uses."),
        ("<reasoning>cut off while thinking", "cut off while thinking", ""),
        ("<reasoning></reasoning>", "", ""),
        ("<reasoning>think</reasoning>Use </reasoning> to close.", "think", "Use </reasoning> to close."),
        ("", None, ""),
    ],
)
def test_split_reasoning_separates_a_leading_block_only(text, reasoning, content):
    # Given a complete InvokeModel answer text
    # When it is split
    # Then the leading reasoning block is separated and the answer is left-trimmed
    assert split_reasoning(text) == (reasoning, content)


def test_a_tag_split_across_chunks_never_leaks_into_content():
    # Given tags cut in awkward places, one character at a time
    text = "<reasoning>step one</reasoning> The answer is 4."
    # When streamed character by character
    reasoning, content = stream(text, list(range(len(text))))
    # Then no tag fragment reaches the content
    assert (reasoning, content) == ("step one", "The answer is 4.")


def test_reasoning_is_released_as_it_arrives_not_only_at_the_end():
    # Given a stream in the middle of a long reasoning block
    splitter = ReasoningSplitter()
    splitter.feed("<reasoning>Let me think")
    # When more reasoning arrives
    reasoning, content = splitter.feed(" about this")
    # Then it is emitted immediately (the user sees the model thinking)
    assert (reasoning, content) == (" about this", "")
    assert splitter.in_reasoning


def test_only_a_possible_closing_tag_prefix_is_held_back():
    # Given reasoning ending in what may be the start of `</reasoning>`
    # When it is streamed
    splitter = ReasoningSplitter()
    # Then only that possible tag prefix is held back, and released as reasoning once it proves not to be the tag
    assert splitter.feed("<reasoning>abc</rea") == ("abc", "")
    assert splitter.feed("l tag") == ("</real tag", "")


@pytest.mark.parametrize("cuts", [[], [5], [11, 30]], ids=["one chunk", "open tag split", "closing tags apart"])
def test_an_answer_that_mentions_the_closing_tag_keeps_it(cuts):
    # Given an answer that itself writes `</reasoning>`, after the real closing tag
    text = "<reasoning>think</reasoning>Close it with </reasoning> like this."
    # When it is streamed in one chunk or several
    # Then only the first closing tag ends the reasoning, and the answer keeps its mention of the tag
    assert stream(text, cuts) == ("think", "Close it with </reasoning> like this.")


@pytest.mark.parametrize("cuts", [[], [1], [3], [3, 8]], ids=["one chunk", "after the newline", "tag split", "twice"])
def test_whitespace_before_the_reasoning_block_is_skipped_when_streamed(cuts):
    # Given an answer whose reasoning block follows a newline and spaces
    text = "\n  <reasoning>think</reasoning>Answer"
    # When it is streamed in one chunk or several
    # Then the reasoning is still separated from the answer, as for the whole text
    assert stream(text, cuts) == ("think", "Answer")


@pytest.mark.parametrize("text", ["<reasoning>think</reasoning>", "<reasoning>think</reasoning>\n  "])
def test_a_stream_that_ends_right_after_its_reasoning_has_an_empty_answer(text):
    # Given a stream whose reasoning closes and then nothing but whitespace follows
    # When it is streamed and finished
    # Then the answer is empty, not a stray fragment
    assert stream(text, []) == ("think", "")


@settings(max_examples=300, deadline=None)
@given(text=texts, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_any_chunking_gives_the_same_result_as_the_whole_text(text, cuts):
    # Given any text and any way of cutting it into chunks
    # When the chunks are streamed through the splitter
    reasoning, content = stream(text, cuts)
    # Then the concatenated reasoning and content equal the split of the whole text
    expected_reasoning, expected_content = split_reasoning(text)
    assert (reasoning, content) == (expected_reasoning or "", expected_content)
