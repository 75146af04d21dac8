"""Streamed Responses: chat completion chunks (from either backend's stream translator) → Responses stream events.

`ResponsesStreamTranslator` takes what the backend's stream translator emits and keeps the same contract:
`feed(chunk)` for each chat completion chunk, `finish(usage)` once the stream has ended. The events follow OpenAI's
sequence, each with a `sequence_number`:

    response.created, response.in_progress
    per output item, in order:
      reasoning:     output_item.added, content_part.added (reasoning_text), reasoning_text.delta…,
                     reasoning_text.done, content_part.done, output_item.done
      message:       output_item.added, content_part.added (output_text), output_text.delta…,
                     output_text.done, content_part.done, output_item.done
      function_call: output_item.added, function_call_arguments.delta…, function_call_arguments.done,
                     output_item.done
    response.completed (or response.incomplete for max_output_tokens / a guardrail intervention)

An error after the stream started becomes `error` followed by `response.failed` (`fail`). Events are framed as SSE
with their type as the event name (`sse_event`); a Responses stream has no `[DONE]`.
"""

from __future__ import annotations

import json
from typing import Any

from gptoss import responses as items
from gptoss.errors import GatewayError

Json = dict[str, Any]


def sse_event(event: Json) -> bytes:
    """One SSE event named by the Responses event's type."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


class _OpenItem:
    """An output item being streamed: its kind, position, id and the text (or arguments) so far."""

    def __init__(self, kind: str, output_index: int, item_id: str, call_id: str = "", name: str = "") -> None:
        self.kind = kind
        self.output_index = output_index
        self.item_id = item_id
        self.call_id = call_id
        self.name = name
        self.text = ""

    def item(self, status: str) -> Json:
        if self.kind == "reasoning":
            return items.reasoning_item(self.item_id, self.text, status)
        if self.kind == "message":
            parts = [items.output_text_part(self.text)] if status == "completed" else []
            return items.message_item(self.item_id, parts, status)
        return items.function_call_item(self.item_id, self.call_id, self.name, self.text, status)


class ResponsesStreamTranslator:
    """Responses stream events for one response (see the module docstring); `response` is the final object."""

    def __init__(self, skeleton: Json) -> None:
        self._skeleton = skeleton
        self._sequence = 0
        self._output: list[Json] = []
        self._open: _OpenItem | None = None
        self._opened = 0
        self._calls: dict[int, _OpenItem] = {}
        self._finish_reason: str | None = None
        self._guardrail: Json | None = None
        self.response: Json | None = None

    @property
    def guardrail(self) -> Json | None:
        return self._guardrail

    def _event(self, kind: str, **fields: Any) -> Json:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def start(self) -> list[Json]:
        """`response.created` and `response.in_progress`."""
        return [
            self._event("response.created", response=self._skeleton),
            self._event("response.in_progress", response=self._skeleton),
        ]

    def finish(self, usage: Json | None) -> list[Json]:
        """Close the open items and emit `response.completed` (or `.incomplete`) with `usage` (the chat usage of
        the whole stream); sets `response`."""
        out: list[Json] = []
        if self._opened == 0:
            out += self._open_item(_OpenItem("message", self._next_index(), items.new_id("msg")))
        out += self._close_all()
        self.response = items.finish_response(
            self._skeleton,
            self._output,
            finish_reason=self._finish_reason,
            usage=usage,
            guardrail=self._guardrail,
        )
        kind = "response.completed" if self.response["status"] == "completed" else "response.incomplete"
        return [*out, self._event(kind, response=self.response)]

    def fail(self, error: GatewayError) -> list[Json]:
        """`error` then `response.failed`, for an error after the stream started."""
        self.response = items.failed_response(self._skeleton, self._output, error)
        return [
            self._event("error", code=error.code or items.error_code(error), message=error.message, param=error.param),
            self._event("response.failed", response=self.response),
        ]

    def feed(self, chunk: Json) -> list[Json]:
        """One `chat.completion.chunk` → zero or more Responses events."""
        if isinstance(chunk.get("guardrail"), dict):
            self._guardrail = chunk["guardrail"]
        out: list[Json] = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                out += self._text_delta("reasoning", delta["reasoning_content"])
            if delta.get("content"):
                out += self._text_delta("message", delta["content"])
            for call in delta.get("tool_calls") or []:
                out += self._tool_call_delta(call)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return out

    def _open_item(self, item: _OpenItem) -> list[Json]:
        self._open = item
        position = {"item_id": item.item_id, "output_index": item.output_index}
        out = [self._event("response.output_item.added", output_index=item.output_index, item=item.item("in_progress"))]
        if item.kind == "reasoning":
            part = {"type": "reasoning_text", "text": ""}
            out.append(self._event("response.content_part.added", **position, content_index=0, part=part))
        elif item.kind == "message":
            part = items.output_text_part("")
            out.append(self._event("response.content_part.added", **position, content_index=0, part=part))
        return out

    def _next_index(self) -> int:
        index, self._opened = self._opened, self._opened + 1
        return index

    def _text_delta(self, kind: str, text: str) -> list[Json]:
        out: list[Json] = []
        if self._open is None or self._open.kind != kind:
            out += self._close_all()
            prefix = "rs" if kind == "reasoning" else "msg"
            out += self._open_item(_OpenItem(kind, self._next_index(), items.new_id(prefix)))
        item = self._open
        assert item is not None
        item.text += text
        event = "response.reasoning_text.delta" if kind == "reasoning" else "response.output_text.delta"
        extra: Json = {} if kind == "reasoning" else {"logprobs": []}
        out.append(
            self._event(
                event, item_id=item.item_id, output_index=item.output_index, content_index=0, delta=text, **extra
            )
        )
        return out

    def _tool_call_delta(self, call: Json) -> list[Json]:
        out: list[Json] = []
        index = int(call.get("index", 0))
        function = call.get("function") or {}
        item = self._calls.get(index)
        if item is None:
            if self._open is not None and self._open.kind != "function_call":
                out += self._close_open()
            item = _OpenItem(
                "function_call",
                self._next_index(),
                items.new_id("fc"),
                call_id=str(call.get("id") or items.new_id("call")),
                name=str(function.get("name") or ""),
            )
            self._calls[index] = item
            out += self._open_item(item)
        arguments = function.get("arguments") or ""
        if arguments:
            item.text += arguments
            out.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item.item_id,
                    output_index=item.output_index,
                    delta=arguments,
                )
            )
        return out

    def _close_open(self) -> list[Json]:
        item, self._open = self._open, None
        if item is None:
            return []
        return self._close(item)

    def _close_all(self) -> list[Json]:
        out = self._close_open() if self._open is not None and self._open.kind != "function_call" else []
        for item in sorted(self._calls.values(), key=lambda call: call.output_index):
            out += self._close(item)
        self._calls.clear()
        self._open = None
        return out

    def _close(self, item: _OpenItem) -> list[Json]:
        position = {"item_id": item.item_id, "output_index": item.output_index}
        out: list[Json] = []
        if item.kind == "reasoning":
            part = {"type": "reasoning_text", "text": item.text}
            out.append(self._event("response.reasoning_text.done", **position, content_index=0, text=item.text))
            out.append(self._event("response.content_part.done", **position, content_index=0, part=part))
        elif item.kind == "message":
            done = {"content_index": 0, "text": item.text, "logprobs": []}
            out.append(self._event("response.output_text.done", **position, **done))
            part = items.output_text_part(item.text)
            out.append(self._event("response.content_part.done", **position, content_index=0, part=part))
        else:
            out.append(
                self._event("response.function_call_arguments.done", **position, arguments=item.text, name=item.name)
            )
        final = item.item("completed")
        self._output.append(final)
        out.append(self._event("response.output_item.done", output_index=item.output_index, item=final))
        return out
