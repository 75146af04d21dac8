"""A model backend as the API routes see it: a complete chat completion, or a stream of chat completion chunks.

The chat and converse apps each implement `Backend` over their Bedrock operations; the chat completions and
Responses routes are written once against it (`gateway.routes.answer_chat`, `gateway.responses_api`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gptoss.responses_stream import ChatStreamTranslator

if TYPE_CHECKING:
    from gateway.routes import ChatCall

Json = dict[str, Any]


@dataclass(frozen=True)
class ChatStream:
    """An open Bedrock stream: its events (as `translator.feed` takes them), the translator, and how to close it."""

    events: AsyncIterator[Json]
    translator: ChatStreamTranslator
    close: Callable[[], None]


class Backend(Protocol):
    async def complete(self, chat: ChatCall) -> Json:
        """The `chat.completion` for a validated chat request."""
        ...

    async def open_stream(self, chat: ChatCall) -> ChatStream:
        """The stream for a validated chat request, opened (errors before the first event raise here)."""
        ...


async def chat_chunks(stream: ChatStream) -> AsyncIterator[Json]:
    """The stream's `chat.completion.chunk`s, including what the translator emits once the stream has ended."""
    translator = stream.translator
    async for event in stream.events:
        for chunk in translator.feed(event):
            yield chunk
    finish = getattr(translator, "finish", None)  # only translators that hold text back have one
    if finish is not None:
        for chunk in finish():
            yield chunk
