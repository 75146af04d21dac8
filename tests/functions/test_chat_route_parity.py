"""What a client sees is the same on both chat routes (InvokeModel: /v1, Converse: /converse/v1), against the
Bedrock emulator: the opening stream chunk, and `content: null` on a reply that only calls a tool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import chat_api
import converse_api
import pytest
from starlette.testclient import TestClient

from local.emulator.server import EmulatorServer
from tests.api_contract import assert_chunks, assert_schema, sse_events
from tests.functions.api_helpers import SETTINGS, fake_credentials

ROUTES = ["/v1/chat/completions", "/converse/v1/chat/completions"]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, TestClient]]:
    """One TestClient per route, each app with its own Bedrock client pointed at one emulator."""
    with EmulatorServer(port=0, chunk_delay=0.0) as emulator, fake_credentials():
        chat = TestClient(chat_api.create_app(settings=SETTINGS, endpoint_url=emulator.url))
        converse = TestClient(converse_api.create_app(settings=SETTINGS, endpoint_url=emulator.url))
        with chat, converse:
            yield dict(zip(ROUTES, (chat, converse), strict=True))


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-oss-20b", "messages": [{"role": "user", "content": text}], **extra}


def test_both_routes_open_a_stream_with_role_and_empty_content(clients: dict[str, TestClient]) -> None:
    # Given the same streamed question on each route
    first_deltas = []
    for route, http in clients.items():
        # When the client reads the stream
        response = http.post(route, json=ask("What is the capital of Norway?", stream=True))
        assert response.status_code == 200, response.text
        first_deltas.append(assert_chunks(sse_events(response.text))[0]["choices"][0]["delta"])
    # Then the first delta is OpenAI's opening on both, and nothing more
    assert first_deltas == [{"role": "assistant", "content": ""}] * 2


def test_both_routes_answer_a_tool_call_with_null_content(clients: dict[str, TestClient]) -> None:
    # Given a question that makes the model call a tool
    messages = []
    for route, http in clients.items():
        # When the client asks without streaming
        response = http.post(route, json=ask("Use the tool get_weather for Oslo", tools=[WEATHER_TOOL]))
        assert response.status_code == 200, response.text
        assert_schema("ChatCompletion", response.json())
        messages.append(response.json()["choices"][0]["message"])
    # Then each reply calls the tool and its content is null, not an empty string
    assert [message["content"] for message in messages] == [None, None]
    assert [message["tool_calls"][0]["function"]["name"] for message in messages] == ["get_weather"] * 2
