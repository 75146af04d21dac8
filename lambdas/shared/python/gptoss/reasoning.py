"""Separating gpt-oss's inline reasoning from its answer.

InvokeModel answers with the model's reasoning first, wrapped in tags: `<reasoning>...</reasoning>final answer`.
The rule, applied identically to whole texts (`split_reasoning`) and to streams (`ReasoningSplitter`):

- Only a *leading* reasoning block counts: the text, ignoring leading whitespace, must start with `<reasoning>`.
  Otherwise the whole text is content, unchanged (an answer that merely mentions the tag is left alone).
- The reasoning is the text between the tags, verbatim. The content is what follows `</reasoning>`, with leading
  whitespace removed.
- An unterminated block (the model was cut off while reasoning) is all reasoning; the content is empty.

`ReasoningSplitter` yields the same reasoning and content as `split_reasoning` of the concatenated input, whatever
the chunk boundaries, by holding back only the few characters that could still turn out to be part of a tag.
"""

from __future__ import annotations

from enum import Enum

OPEN_TAG = "<reasoning>"
CLOSE_TAG = "</reasoning>"


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Split a complete text into (reasoning or None when there is no leading block, content)."""
    stripped = text.lstrip()
    if not stripped.startswith(OPEN_TAG):
        return None, text
    rest = stripped[len(OPEN_TAG) :]
    reasoning, closed, content = rest.partition(CLOSE_TAG)
    if not closed:
        return reasoning, ""
    return reasoning, content.lstrip()


def _partial_suffix(buffer: str, tag: str) -> int:
    """Length of the longest suffix of `buffer` that is a proper prefix of `tag`."""
    for size in range(min(len(buffer), len(tag) - 1), 0, -1):
        if tag.startswith(buffer[-size:]):
            return size
    return 0


class _State(Enum):
    START = "start"  # not yet known whether the text opens with a reasoning block
    REASONING = "reasoning"  # inside the block
    AFTER = "after"  # block closed, skipping the whitespace before the answer
    CONTENT = "content"  # passing content through


class ReasoningSplitter:
    """Incremental `split_reasoning`: feed text fragments, get (reasoning, content) fragments back."""

    def __init__(self) -> None:
        self._state = _State.START
        self._buffer = ""

    @property
    def in_reasoning(self) -> bool:
        return self._state is _State.REASONING

    def feed(self, text: str) -> tuple[str, str]:
        """Consume a fragment; return the (reasoning, content) text that is now certain. Either may be empty."""
        reasoning, content = "", ""
        self._buffer += text
        while self._buffer:
            if self._state is _State.START:
                stripped = self._buffer.lstrip()
                if not stripped or (len(stripped) < len(OPEN_TAG) and OPEN_TAG.startswith(stripped)):
                    break
                if stripped.startswith(OPEN_TAG):
                    self._buffer = stripped[len(OPEN_TAG) :]
                    self._state = _State.REASONING
                else:
                    self._state = _State.CONTENT
            elif self._state is _State.REASONING:
                before, closed, after = self._buffer.partition(CLOSE_TAG)
                if closed:
                    reasoning += before
                    self._buffer = after
                    self._state = _State.AFTER
                    continue
                keep = _partial_suffix(self._buffer, CLOSE_TAG)
                reasoning += self._buffer[: len(self._buffer) - keep]
                self._buffer = self._buffer[len(self._buffer) - keep :]
                break
            elif self._state is _State.AFTER:
                self._buffer = self._buffer.lstrip()
                if self._buffer:
                    self._state = _State.CONTENT
            else:
                content += self._buffer
                self._buffer = ""
        return reasoning, content

    def finish(self) -> tuple[str, str]:
        """Flush what is still held back at the end of the text."""
        buffer, self._buffer = self._buffer, ""
        if self._state is _State.START:
            self._state = _State.CONTENT
            return "", buffer
        if self._state is _State.REASONING:
            return buffer, ""
        return "", buffer if self._state is _State.CONTENT else ""
