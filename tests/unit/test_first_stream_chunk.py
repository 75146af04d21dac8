"""The first streamed delta of a choice carries `role` and `content` on the InvokeModel route, as OpenAI's (and the
Converse route's) first chunk does."""

from __future__ import annotations

from typing import Any

import pytest
from gptoss.converse import ConverseStreamTranslator
from gptoss.invoke import InvokeStreamTranslator


def bedrock_chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "bedrock-id",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "openai.gpt-oss-20b-1:0",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def invoke_deltas(*chunks: dict[str, Any]) -> list[dict[str, Any]]:
    translator = InvokeStreamTranslator(model="gpt-oss-20b", include_usage=False, completion_id="c", created=1)
    out = [piece for chunk in chunks for piece in translator.feed(chunk)] + translator.finish()
    return [choice["delta"] for chunk in out for choice in chunk["choices"]]


@pytest.mark.parametrize(
    "first",
    [
        {"role": "assistant", "content": ""},
        {"role": "assistant"},
        {"role": "assistant", "content": None, "tool_calls": None, "refusal": None},
    ],
    ids=["role-and-empty-content", "role-only", "null-padded"],
)
def test_bedrocks_opening_chunk_reaches_the_client_as_role_and_empty_content(first: dict[str, Any]) -> None:
    # Given Bedrock opens the stream with a role chunk (however padded), then text
    # When the stream is translated
    deltas = invoke_deltas(bedrock_chunk(first), bedrock_chunk({"content": "Hi"}), bedrock_chunk({}, "stop"))
    # Then the client's first delta is exactly OpenAI's opening, followed by the text
    assert deltas == [{"role": "assistant", "content": ""}, {"content": "Hi"}, {}]


def test_an_opening_chunk_with_text_carries_role_and_that_text() -> None:
    # Given Bedrock's first chunk already has answer text
    deltas = invoke_deltas(bedrock_chunk({"role": "assistant", "content": "Hi"}), bedrock_chunk({}, "stop"))
    # Then the client's first delta has the role and the text (not an empty content)
    assert deltas[0] == {"role": "assistant", "content": "Hi"}


def test_an_opening_reasoning_chunk_still_carries_empty_content() -> None:
    # Given Bedrock's first chunk is the start of the reasoning block
    deltas = invoke_deltas(bedrock_chunk({"role": "assistant", "content": "<reasoning>Think"}))
    # Then the reasoning goes to reasoning_content and content is the empty string
    assert deltas[0] == {"role": "assistant", "content": "", "reasoning_content": "Think"}


def test_an_opening_tool_call_chunk_has_null_content() -> None:
    # Given Bedrock's first chunk is a tool call
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}
    deltas = invoke_deltas(bedrock_chunk({"role": "assistant", "tool_calls": [call]}))
    # Then the delta carries the call with content null, as OpenAI's tool-call opening does
    assert deltas[0] == {"role": "assistant", "content": None, "tool_calls": [call]}


def test_both_routes_open_the_stream_the_same_way() -> None:
    # Given the same answer from InvokeModel and from ConverseStream
    invoke_first = invoke_deltas(bedrock_chunk({"role": "assistant", "content": ""}))[0]
    converse = ConverseStreamTranslator(model="gpt-oss-20b", completion_id="c", created=1, include_usage=False)
    [converse_first] = converse.feed({"messageStart": {"role": "assistant"}})
    # Then the first delta the client sees is identical
    assert invoke_first == converse_first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
