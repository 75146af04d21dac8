"""The Responses routes of both apps against the Bedrock emulator, with the response store in moto's DynamoDB:
what is stored, who may read it, continuing a conversation, streams, errors and the guardrail verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import chat_api
import converse_api
import pytest
from moto import mock_aws
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter
from starlette.testclient import TestClient

from local.emulator.server import EmulatorServer
from tests.api_contract import assert_openai_error, assert_schema
from tests.functions.api_helpers import RESPONSES_TABLE, SETTINGS, create_responses_table, fake_credentials

ROUTES = ["/v1/responses", "/converse/v1/responses"]
STORED = replace(SETTINGS, responses_table=RESPONSES_TABLE)
EVENT = TypeAdapter(ResponseStreamEvent)
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def key(key_id: str) -> dict[str, str]:
    """The request context header the Lambda Web Adapter passes for a caller whose API key id is `key_id`."""
    return {"x-amzn-request-context": json.dumps({"requestId": "r-1", "identity": {"apiKeyId": key_id}})}


KEY_A, KEY_B = key("key-a"), key("key-b")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, chunk_delay=0.0) as server:
        yield server


@pytest.fixture
def http(emulator: EmulatorServer) -> Iterator[dict[str, TestClient]]:
    """Both apps, Bedrock = the emulator, the response store = a fresh moto table."""
    emulator.faults.reset()
    with fake_credentials(), mock_aws():
        create_responses_table()
        chat = TestClient(chat_api.create_app(settings=STORED, endpoint_url=emulator.url))
        converse = TestClient(converse_api.create_app(settings=STORED, endpoint_url=emulator.url))
        with chat, converse:
            yield {ROUTES[0]: chat, ROUTES[1]: converse}


def create(client: TestClient, route: str, headers: dict[str, str] = KEY_A, **body: Any) -> dict[str, Any]:
    answer = client.post(route, json={"model": "gpt-oss-20b", **body}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert_schema("ResponseObject", answer.json())
    return Response.model_validate(answer.json()).model_dump(mode="json", exclude_unset=True)


def stream_events(text: str) -> list[dict[str, Any]]:
    """The events of a Responses SSE body, each checked against the official SDK's event types and its name."""
    events = []
    for block in text.strip().split("\n\n"):
        name, data = block.split("\n", 1)
        event = json.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        EVENT.validate_python(event)
        events.append(event)
    return events


@pytest.mark.parametrize("route", ROUTES)
def test_a_stored_response_can_be_retrieved_and_its_input_listed(http: dict[str, TestClient], route: str) -> None:
    client = http[route]
    # Given a response created with instructions
    created = create(client, route, input="Why is the sky blue?", instructions="Be brief.")
    assert created["status"] == "completed" and created["store"] is True
    assert [item["type"] for item in created["output"]] == ["reasoning", "message"]
    assert "[emulated]" in created["output"][1]["content"][0]["text"]
    # When its owner reads it back
    fetched = client.get(f"{route}/{created['id']}", headers=KEY_A)
    items = client.get(f"{route}/{created['id']}/input_items", headers=KEY_A)
    # Then it is the same response, and the input items are the one user message (with an id)
    assert fetched.status_code == 200 and fetched.json()["id"] == created["id"]
    assert fetched.json()["output"] == created["output"]
    assert_schema("ResponseItemList", items.json())
    data = items.json()["data"]
    assert [(item["type"], item["role"]) for item in data] == [("message", "user")]
    assert data[0]["content"] == [{"type": "input_text", "text": "Why is the sky blue?"}]
    assert data[0]["id"].startswith("msg_")


@pytest.mark.parametrize("route", ROUTES)
def test_previous_response_id_continues_the_conversation(
    http: dict[str, TestClient], route: str, emulator: EmulatorServer
) -> None:
    client = http[route]
    first = create(client, route, input="My name is Ada.")
    emulator.faults.reset()
    # When the next turn names the first response
    second = create(client, route, input="What is my name?", previous_response_id=first["id"])
    # Then the model saw the first question, the first answer and the new question, without the old reasoning
    body = emulator.faults.calls()[0]["body"]
    seen = json.dumps(body)
    answer = first["output"][1]["content"][0]["text"]
    assert "My name is Ada." in seen and answer in seen and "What is my name?" in seen
    assert first["output"][0]["content"][0]["text"] not in seen
    # and the second response lists the whole conversation as its input, oldest first
    items = client.get(f"{route}/{second['id']}/input_items?order=asc", headers=KEY_A).json()["data"]
    assert [item["type"] for item in items] == ["message", "reasoning", "message", "message"]
    assert second["previous_response_id"] == first["id"]


@pytest.mark.parametrize("route", ROUTES)
def test_another_keys_response_is_a_404_everywhere(http: dict[str, TestClient], route: str) -> None:
    client = http[route]
    created = create(client, route, input="Secret plans")
    response_id = created["id"]
    # When key B tries every way in
    attempts = [
        client.get(f"{route}/{response_id}", headers=KEY_B),
        client.get(f"{route}/{response_id}/input_items", headers=KEY_B),
        client.delete(f"{route}/{response_id}", headers=KEY_B),
        client.post(
            route, json={"model": "gpt-oss-20b", "input": "go on", "previous_response_id": response_id}, headers=KEY_B
        ),
    ]
    # Then each is the 404 a missing id gets, and key A still has its response
    for attempt in attempts:
        assert_openai_error(attempt, 404, code="not_found")
    assert client.get(f"{route}/{response_id}", headers=KEY_A).status_code == 200


@pytest.mark.parametrize("route", ROUTES)
def test_delete_removes_the_response(http: dict[str, TestClient], route: str) -> None:
    client = http[route]
    created = create(client, route, input="Hello")
    deleted = client.delete(f"{route}/{created['id']}", headers=KEY_A)
    assert deleted.json() == {"id": created["id"], "object": "response", "deleted": True}
    assert_schema("ResponseDeleted", deleted.json())
    assert_openai_error(client.get(f"{route}/{created['id']}", headers=KEY_A), 404)


def test_store_false_keeps_nothing(http: dict[str, TestClient]) -> None:
    client, route = http[ROUTES[0]], ROUTES[0]
    created = create(client, route, input="Hello", store=False)
    assert created["store"] is False
    assert_openai_error(client.get(f"{route}/{created['id']}", headers=KEY_A), 404)


def test_storing_needs_an_api_key_identity(http: dict[str, TestClient]) -> None:
    client, route = http[ROUTES[0]], ROUTES[0]
    answer = client.post(route, json={"model": "gpt-oss-20b", "input": "Hello"})
    assert_openai_error(answer, 401, code="invalid_api_key")
    assert create(client, route, headers={}, input="Hello", store=False)["status"] == "completed"


def test_without_a_configured_table_only_store_false_works(emulator: EmulatorServer) -> None:
    with fake_credentials(), TestClient(chat_api.create_app(settings=SETTINGS, endpoint_url=emulator.url)) as client:
        refused = client.post("/v1/responses", json={"model": "gpt-oss-20b", "input": "Hi"}, headers=KEY_A)
        assert_openai_error(refused, 400, code="store_unavailable", param="store")
        assert create(client, "/v1/responses", input="Hi", store=False)["status"] == "completed"


@pytest.mark.parametrize("route", ROUTES)
def test_a_stream_is_openais_event_sequence_and_is_stored(http: dict[str, TestClient], route: str) -> None:
    client = http[route]
    # When a response is streamed
    answer = client.post(route, json={"model": "gpt-oss-20b", "input": "Count to three", "stream": True}, headers=KEY_A)
    # Then it is SSE with every event an SDK event, numbered in order, ending with response.completed
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = stream_events(answer.text)
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    text = "".join(event["delta"] for event in events if event["type"] == "response.output_text.delta")
    final = events[-1]["response"]
    assert final["output"][-1]["content"][0]["text"] == text and "[emulated]" in text
    assert final["guardrail"]["action"] == "NONE"
    # and the completed response is stored
    assert client.get(f"{route}/{final['id']}", headers=KEY_A).json()["output"] == final["output"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_streamed_tool_call_arrives_as_a_function_call_item(http: dict[str, TestClient], route: str) -> None:
    body = {"model": "gpt-oss-20b", "input": "Use the get_weather tool", "tools": [WEATHER], "stream": True}
    events = stream_events(http[route].post(route, json=body, headers=KEY_A).text)
    final = events[-1]["response"]
    call = final["output"][-1]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert "city" in json.loads(call["arguments"])
    assert "response.function_call_arguments.done" in [event["type"] for event in events]


@pytest.mark.parametrize("route", ROUTES)
def test_a_failure_mid_stream_ends_with_response_failed_and_nothing_stored(
    http: dict[str, TestClient], route: str
) -> None:
    body = {"model": "gpt-oss-20b", "input": "Tell me [fault:midstream]", "stream": True}
    events = stream_events(http[route].post(route, json=body, headers=KEY_A).text)
    assert [event["type"] for event in events[-2:]] == ["error", "response.failed"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"]
    assert_openai_error(http[route].get(f"{route}/{failed['id']}", headers=KEY_A), 404)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_errors_before_output_keep_the_chat_routes_status(
    http: dict[str, TestClient], route: str, stream: bool
) -> None:
    body = {"model": "gpt-oss-20b", "input": "[fault:ThrottlingException]", "stream": stream}
    answer = http[route].post(route, json=body, headers=KEY_A)
    assert_openai_error(answer, 429, type="rate_limit_error")
    assert "retry-after" in answer.headers


def test_guardrail_intervention_is_an_incomplete_response_with_the_verdict(http: dict[str, TestClient]) -> None:
    client, route = http[ROUTES[0]], ROUTES[0]
    answer = client.post(route, json={"model": "gpt-oss-20b", "input": "[guardrail:block] hi"}, headers=KEY_A)
    body = answer.json()
    assert answer.headers["x-gptoss-guardrail-action"] == "INTERVENED"
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "content_filter"}
    assert body["guardrail"]["action"] == "INTERVENED"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"input": "x", "conversation": "conv_1"}, "conversation"),
        (
            {"input": [{"type": "message", "role": "user", "content": [{"type": "input_image"}]}]},
            "input[0].content[0].type",
        ),
    ],
)
def test_invalid_requests_are_400s_before_any_bedrock_call(
    http: dict[str, TestClient], emulator: EmulatorServer, body: dict[str, Any], param: str
) -> None:
    answer = http[ROUTES[0]].post(ROUTES[0], json={"model": "gpt-oss-20b", **body}, headers=KEY_A)
    assert_openai_error(answer, 400, param=param)
    assert emulator.faults.calls() == []
