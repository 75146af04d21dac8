"""The DynamoDB response store (moto): records belong to one API key, expire, and survive DynamoDB's item size cap."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import boto3
import pytest
from gateway.aws import client as aws_client
from gateway.response_store import ResponseStore
from gptoss.errors import GatewayError
from moto import mock_aws

from tests.functions.api_helpers import RESPONSES_TABLE, create_responses_table

DAY = 86_400


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[ResponseStore]:
    with mock_aws():
        create_responses_table()
        client = aws_client("dynamodb", function="chat")
        yield ResponseStore(client, RESPONSES_TABLE, ttl_seconds=30 * DAY, clock=clock)


def response(response_id: str = "resp_1", text: str = "Hello") -> dict[str, object]:
    return {"id": response_id, "object": "response", "output": [{"type": "message", "content": [{"text": text}]}]}


ITEMS = [{"id": "msg_1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]


def test_a_stored_response_reads_back_for_its_owner(store: ResponseStore) -> None:
    # Given a response stored for key A
    asyncio.run(store.put("key-a", response(), ITEMS))
    # When key A reads it
    stored = asyncio.run(store.get("key-a", "resp_1"))
    # Then it gets the response and its input items back unchanged
    assert stored.response == response()
    assert stored.input_items == ITEMS


@pytest.mark.parametrize("operation", ["get", "delete"])
def test_another_key_gets_the_same_404_as_a_missing_id(store: ResponseStore, operation: str) -> None:
    asyncio.run(store.put("key-a", response(), ITEMS))
    for owner, response_id in (("key-b", "resp_1"), ("key-a", "resp_missing")):
        with pytest.raises(GatewayError) as caught:
            asyncio.run(getattr(store, operation)(owner, response_id))
        assert (caught.value.status, caught.value.code) == (404, "not_found")
    # and key A's record is untouched by key B's attempt
    assert asyncio.run(store.get("key-a", "resp_1")).response == response()


def test_a_deleted_response_is_gone(store: ResponseStore) -> None:
    asyncio.run(store.put("key-a", response(), ITEMS))
    asyncio.run(store.delete("key-a", "resp_1"))
    with pytest.raises(GatewayError) as caught:
        asyncio.run(store.get("key-a", "resp_1"))
    assert caught.value.status == 404


def test_a_response_past_its_ttl_is_gone_before_dynamodb_deletes_it(store: ResponseStore, clock: Clock) -> None:
    # Given a record written with a 30-day TTL
    asyncio.run(store.put("key-a", response(), ITEMS))
    # When 29 days pass it is still there; when 30 pass it is not, though DynamoDB may not have deleted it yet
    clock.now += 29 * DAY
    assert asyncio.run(store.get("key-a", "resp_1")).response["id"] == "resp_1"
    clock.now += DAY
    with pytest.raises(GatewayError):
        asyncio.run(store.get("key-a", "resp_1"))


def test_the_ttl_attribute_is_set_on_every_part(store: ResponseStore, clock: Clock) -> None:
    asyncio.run(store.put("key-a", response(), ITEMS))
    items = boto3.client("dynamodb").scan(TableName=RESPONSES_TABLE)["Items"]
    assert items and all(int(item["expires_at"]["N"]) == int(clock.now) + 30 * DAY for item in items)


def test_a_conversation_larger_than_a_dynamodb_item_is_stored_in_parts(store: ResponseStore) -> None:
    # Given input items that compress to more than one DynamoDB item (random text barely compresses)
    big = [{"id": f"msg_{n}", "type": "message", "content": os.urandom(200_000).hex()} for n in range(3)]
    asyncio.run(store.put("key-a", response(), big))
    # Then it reads back whole, from several parts
    assert asyncio.run(store.get("key-a", "resp_1")).input_items == big
    parts = boto3.client("dynamodb").scan(TableName=RESPONSES_TABLE)["Items"]
    assert len(parts) >= 2
