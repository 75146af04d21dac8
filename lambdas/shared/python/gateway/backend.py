"""A model backend as the API routes see it: a complete chat completion, or a stream of chat completion chunks.

The chat and converse apps each implement `Backend` over their Bedrock operations; the chat completions and
Responses routes are written once against it (`gateway.routes.answer_chat`, `gateway.responses_api`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from gateway.bedrock import EventStream
from gateway.endpoint import StreamTranslator, translated

if TYPE_CHECKING:
    from gateway.routes import ChatCall

Json = dict[str, Any]


@dataclass(frozen=True)
class ChatStream:
    """An open Bedrock stream, the translator of its events and how each event is decoded for it."""

    events: EventStream
    translator: StreamTranslator
    decode: Callable[[Json], Json | None]

    def chunks(self) -> AsyncIterator[Json]:
        """The caller's `chat.completion.chunk`s (see `gateway.endpoint.translated`)."""
        return translated(self.events, self.translator, self.decode)

    def close(self) -> None:
        self.events.close()


class Backend(Protocol):
    async def complete(self, chat: ChatCall) -> Json:
        """The `chat.completion` for a validated chat request."""
        ...

    async def open_stream(self, chat: ChatCall) -> ChatStream:
        """The stream for a validated chat request, opened (errors before the first event raise here)."""
        ...
