"""Builders for the OpenAI response objects the gateway emits: `chat.completion` and `chat.completion.chunk`."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def usage(prompt_tokens: int, completion_tokens: int, total_tokens: int | None = None) -> Json:
    """An OpenAI `usage` object; the total defaults to the sum."""
    total = prompt_tokens + completion_tokens if total_tokens is None else total_tokens
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": total}


def completion(*, completion_id: str, created: int, model: str, message: Json, finish_reason: str, usage: Json) -> Json:
    """A one-choice `chat.completion`."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage,
    }


def chunk(*, completion_id: str, created: int, model: str, choices: list[Json], **extra: Any) -> Json:
    """A `chat.completion.chunk`; `extra` adds top-level fields such as `usage` or `guardrail`."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
        **extra,
    }


def choice_delta(delta: Json, finish_reason: str | None = None, index: int = 0) -> Json:
    """One streamed choice."""
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
