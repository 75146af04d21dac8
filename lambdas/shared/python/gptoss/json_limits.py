"""JSON from callers, decoded with a nesting limit.

`MAX_JSON_DEPTH` (128 levels of arrays/objects, serde_json's default limit) is far deeper than real requests, nested
tool schemas included, and low enough that the gateway's own recursive work on an accepted body (copying it,
botocore's parameter validation, serialising it) never reaches Python's recursion limit (1000 frames). Deeper input is
refused as `JsonTooDeep` when `json.loads` decodes it (up to ~1000 levels on 3.11, thousands on 3.13), when it gives
up on it with `RecursionError`, and when the text is invalid only after it has already nested too deep.

`JsonTooDeep` is a `json.JSONDecodeError`, so code that already handles invalid JSON handles it too; it also names
the top-level member the deep value sits in (`field`), for an error's `param`.
"""

from __future__ import annotations

import json
import re

MAX_JSON_DEPTH = 128
_OPENERS = ("[", "{")
_CONTAINERS = (dict, list)  # what json.loads builds arrays and objects as
# A JSON string (with its key colon, if it is an object key) or a bracket: all that decides nesting.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[\[\]{}]', re.DOTALL)


class JsonTooDeep(json.JSONDecodeError):
    """JSON nested deeper than the limit; `pos` is where the limit is crossed, `field` the top-level member."""

    def __init__(self, doc: str, pos: int, limit: int, field: str | None) -> None:
        super().__init__(f"JSON nested more than {limit} levels deep", doc, pos)
        self.limit = limit
        self.field = field


def loads(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> object:
    """`json.loads(text)`, refusing nesting deeper than `max_depth` with `JsonTooDeep`.

    Free for ordinary bodies: only text with more than `max_depth` brackets is walked after decoding.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(text, max_depth) from None
    except json.JSONDecodeError as error:
        # Invalid JSON that is already too deep where it breaks (`[[[[…` cut short: 3.13's decoder gets that far
        # without RecursionError) is reported as too deep, the same on every Python.
        if text.count("[") + text.count("{") > max_depth:
            deep = _too_deep(text, max_depth)
            if deep.pos < error.pos:
                raise deep from None
        raise
    if text.count("[") + text.count("{") > max_depth and nesting_exceeds(value, max_depth):
        raise _too_deep(text, max_depth)
    return value


def nesting_exceeds(value: object, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """True when decoded JSON nests arrays/objects more than `max_depth` levels (a scalar is 0, `[]` is 1).

    Iterative, so it cannot itself run out of stack on the values it is meant to refuse.
    """
    level: list[object] = [value]
    for _ in range(max_depth):
        level = [
            child
            for node in level
            if type(node) in _CONTAINERS
            for child in (node.values() if type(node) is dict else node)
            if type(child) in _CONTAINERS
        ]
        if not level:
            return False
    return any(type(node) in _CONTAINERS for node in level)


def _too_deep(text: str, limit: int) -> JsonTooDeep:
    """Locate where `text` first nests deeper than `limit`, and the top-level member it is in."""
    depth = 0
    field: str | None = None
    top_is_object = text.lstrip().startswith("{")
    for token in _TOKEN.finditer(text):
        lexeme = token.group()
        if lexeme in _OPENERS:
            depth += 1
            if depth > limit:
                return JsonTooDeep(text, token.start(), limit, field)
        elif lexeme in ("]", "}"):
            depth -= 1
        elif token.group(1) is not None and depth == 1 and top_is_object:
            field = _key(lexeme[: token.start(1) - token.start()])
    return JsonTooDeep(text, len(text), limit, field)


def _key(quoted: str) -> str | None:
    try:
        key = json.loads(quoted)
    except ValueError:
        return None
    return key if isinstance(key, str) else None
