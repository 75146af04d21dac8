"""Identifiers the gateway mints for completions and tool calls."""

from __future__ import annotations

import secrets


def completion_id() -> str:
    """A fresh OpenAI-style completion id, e.g. `chatcmpl-3f2a...`."""
    return "chatcmpl-" + secrets.token_hex(12)


def tool_call_id() -> str:
    """A fresh OpenAI-style tool call id, used when the backend gives none."""
    return "call_" + secrets.token_hex(12)


def file_id() -> str:
    """A fresh OpenAI-style file id, e.g. `file-3f2a...` (unguessable: 96 random bits)."""
    return "file-" + secrets.token_hex(12)


def batch_id() -> str:
    """A fresh OpenAI-style batch id, e.g. `batch_3f2a...` (unguessable: 96 random bits)."""
    return "batch_" + secrets.token_hex(12)
