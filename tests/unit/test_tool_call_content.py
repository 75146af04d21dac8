"""An assistant reply that only calls tools has `content: null` on both chat routes, as OpenAI's replies do."""

from __future__ import annotations

from typing import Any

import pytest
from gptoss.converse import from_converse_response
from gptoss.invoke import from_invoke_response

CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}


def invoke_reply(content: str | None, *, tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-bedrock",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "openai.gpt-oss-20b-1:0",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


def converse_reply(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": list(blocks)}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
    }


TOOL_USE = {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Oslo"}}}


@pytest.mark.parametrize(
    "content",
    ["", "  \n", None, "<reasoning>Need the weather.</reasoning>", "<reasoning>Need it.</reasoning>\n\n"],
    ids=["empty", "whitespace", "null", "reasoning-only", "reasoning-then-blank"],
)
def test_an_invoke_tool_call_without_text_has_null_content(content: str | None) -> None:
    # Given an InvokeModel answer that calls a tool and says nothing else
    body = invoke_reply(content, tool_calls=[CALL])
    # When it is translated for the client
    message = from_invoke_response(body, model="gpt-oss-20b")["choices"][0]["message"]
    # Then content is null and the tool call is unchanged
    assert message["content"] is None
    assert message["tool_calls"] == [CALL]


def test_an_invoke_tool_call_with_text_keeps_the_text() -> None:
    # Given an answer that says something and calls a tool
    body = invoke_reply("Let me check.", tool_calls=[CALL])
    # When translated
    message = from_invoke_response(body, model="gpt-oss-20b")["choices"][0]["message"]
    # Then the text stays
    assert message["content"] == "Let me check."


def test_an_invoke_answer_without_tool_calls_keeps_empty_content() -> None:
    # Given a plain answer whose text is empty (e.g. cut at max_tokens during reasoning)
    body = invoke_reply("<reasoning>Hmm</reasoning>")
    # When translated
    message = from_invoke_response(body, model="gpt-oss-20b")["choices"][0]["message"]
    # Then content stays a string, as OpenAI sends for a reply without tool calls
    assert message["content"] == ""


@pytest.mark.parametrize("text_blocks", [[], [{"text": ""}], [{"text": " \n"}]], ids=["none", "empty", "whitespace"])
def test_a_converse_tool_call_without_text_has_null_content(text_blocks: list[dict[str, Any]]) -> None:
    # Given a Converse answer with reasoning, blank or no text, and a tool use
    reasoning = {"reasoningContent": {"reasoningText": {"text": "Need the weather."}}}
    response = converse_reply(reasoning, *text_blocks, TOOL_USE)
    # When it is translated for the client
    completion = from_converse_response(response, model="gpt-oss-20b", completion_id="chatcmpl-x", created=1)
    message = completion["choices"][0]["message"]
    # Then content is null, like the InvokeModel route's
    assert message["content"] is None
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"
