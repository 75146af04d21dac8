"""Stop strings applied by the gateway (Converse refuses `stopSequences` for gpt-oss).

The answer ends right before the first occurrence of any stop string, as OpenAI and InvokeModel end it. The answer's
`content` is cut; reasoning is not (InvokeModel applies `stop` to the answer too, the emulator as well).

`StopCutter` does the same for a stream fed piece by piece: it emits everything that can no longer be the start of a
stop string and holds back only the longest tail that still could be, so no character at or after a stop is ever
emitted, however the stop string is split across pieces.
"""

from __future__ import annotations

from collections.abc import Sequence


def stop_strings(stop: object) -> tuple[str, ...]:
    """The request's `stop` as a tuple of non-empty strings (a string is one stop)."""
    if isinstance(stop, str):
        return (stop,) if stop else ()
    if isinstance(stop, list | tuple):
        return tuple(item for item in stop if isinstance(item, str) and item)
    return ()


def first_stop(text: str, stops: Sequence[str]) -> int:
    """Index of the first occurrence of any stop string in `text`, or -1."""
    found = [index for index in (text.find(stop) for stop in stops) if index >= 0]
    return min(found, default=-1)


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first stop string, and whether one was found."""
    index = first_stop(text, stops)
    return (text, False) if index < 0 else (text[:index], True)


class StopCutter:
    """Cuts a streamed text at the first stop string; `stopped` tells when the rest of the stream is not wanted."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(stop for stop in stops if stop)
        self._longest = max((len(stop) for stop in self._stops), default=0)
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """The part of `text` (after what was held back) that is safe to emit."""
        if self.stopped:
            return ""
        if not self._stops:
            return text
        buffer = self._held + text
        index = first_stop(buffer, self._stops)
        if index >= 0:
            self.stopped = True
            self._held = ""
            return buffer[:index]
        keep = self._open_tail(buffer)
        self._held = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep]

    def finish(self) -> str:
        """What was held back, once the text is complete (no stop string can start in it any more)."""
        held, self._held = self._held, ""
        return "" if self.stopped else held

    def _open_tail(self, buffer: str) -> int:
        """Length of the longest tail of `buffer` that is a proper prefix of some stop string."""
        for size in range(min(len(buffer), self._longest - 1), 0, -1):
            tail = buffer[-size:]
            if any(stop.startswith(tail) for stop in self._stops):
                return size
        return 0
