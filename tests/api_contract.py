"""Test helpers shared by the functions and e2e suites: the OpenAPI document's schemas, SSE parsing, error checks."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

OPENAPI_PATH = Path(__file__).resolve().parents[1] / "lambdas" / "shared" / "openapi.yaml"


@functools.cache
def openapi() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI_PATH.read_text())


@functools.cache
def _validator(name: str) -> jsonschema_rs.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": openapi()["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


def assert_schema(name: str, instance: object) -> None:
    """Fail with every violation when `instance` does not match components.schemas[name]."""
    errors = [f"{error.instance_path}: {error.message}" for error in _validator(name).iter_errors(instance)]
    assert not errors, f"{name} schema violations: {errors}"


def assert_openai_error(
    response: Any, status: int, *, type: str | None = None, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The response is an OpenAI error object with this status (and type/code/param when given); returns `error`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert_schema("ErrorResponse", body)
    error = body["error"]
    if type is not None:
        assert error["type"] == type, error
    if code is not None:
        assert error["code"] == code, error
    if param is not None:
        assert error["param"] == param, error
    return error


def sse_events(text: str) -> list[Any]:
    """The `data:` payloads of an SSE body, JSON-decoded, with `[DONE]` kept as the string "[DONE]"."""
    events: list[Any] = []
    for block in text.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                data = line[len("data: ") :]
                events.append(data if data == "[DONE]" else json.loads(data))
    return events


def assert_chunks(events: list[Any]) -> list[dict[str, Any]]:
    """A well-formed stream: chunks matching the schema, then exactly one `[DONE]` at the end; returns the chunks."""
    assert events and events[-1] == "[DONE]", events[-3:]
    assert events.count("[DONE]") == 1
    chunks = events[:-1]
    for chunk in chunks:
        assert_schema("ChatCompletionChunk", chunk)
    return chunks


def joined(chunks: list[dict[str, Any]], field: str) -> str:
    """The concatenated `delta[field]` texts of a stream."""
    return "".join(
        choice["delta"].get(field) or "" for chunk in chunks for choice in chunk["choices"] if "delta" in choice
    )
