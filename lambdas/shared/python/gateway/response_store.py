"""Stored Responses in DynamoDB: a response object and the input items it answered, owned by one API key.

Layout: one record is gzip-compressed JSON (`{"response", "input_items"}`) cut into parts of at most `PART_BYTES`
(DynamoDB caps an item at 400 KB), keyed by (`id`, `part`). Part 0 carries the owner and the part count and is
written last, so a record is readable only once complete. Every part carries `expires_at` (epoch seconds), the
table's TTL attribute; DynamoDB deletes expired items lazily, so reads treat an expired record as gone.

A record that does not exist, has expired or belongs to another API key is the same 404: ids of other keys'
responses are not disclosed.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from gptoss.errors import GatewayError

from gateway.bedrock import in_thread

Json = dict[str, Any]

# The table's key schema; infra/responses.py declares the same (tests/infra checks they agree).
PARTITION_KEY = "id"
SORT_KEY = "part"
TTL_ATTRIBUTE = "expires_at"
KEY_SCHEMA = (
    {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
)
ATTRIBUTE_DEFINITIONS = (
    {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
    {"AttributeName": SORT_KEY, "AttributeType": "N"},
)
PART_BYTES = 350_000
_BUSY = ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded")
_T = TypeVar("_T")


@dataclass(frozen=True)
class StoredResponse:
    response: Json
    input_items: list[Json]


@contextmanager
def _store_errors() -> Iterator[None]:
    """DynamoDB failures as gateway errors: 503 when throttled, else 500 (never a Bedrock error's meaning)."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _BUSY:
            raise GatewayError(503, "The response store is busy; retry.", type="api_error", code="store_busy") from None
        raise GatewayError(500, "The response store failed.", type="api_error", code="store_error") from None
    except BotoCoreError:
        message = "Could not reach the response store."
        raise GatewayError(503, message, type="api_error", code="store_unavailable") from None


async def _run(function: Callable[..., _T], **kwargs: Any) -> _T:
    with _store_errors():
        return await in_thread(partial(function, **kwargs))


def not_found(response_id: str) -> GatewayError:
    return GatewayError(
        404,
        f"No response found with id '{response_id}'.",
        param="response_id",
        code="not_found",
    )


class ResponseStore:
    """Put, get and delete stored responses in `table`; every blocking call runs off the event loop."""

    def __init__(
        self, client: BaseClient, table: str, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table
        self._ttl_seconds = ttl_seconds
        self._clock = clock

    async def put(self, owner: str, response: Json, input_items: list[Json]) -> None:
        """Store `response` (its id is the key) and its input items for `owner`, expiring after the TTL."""
        await _run(self._put, owner=owner, response=response, input_items=input_items)

    async def get(self, owner: str, response_id: str) -> StoredResponse:
        """The stored response `response_id` of `owner`; 404 when missing, expired or another key's."""
        return await _run(self._get, owner=owner, response_id=response_id)

    async def delete(self, owner: str, response_id: str) -> None:
        """Delete the stored response `response_id` of `owner`; 404 as for `get`."""
        await _run(self._delete, owner=owner, response_id=response_id)

    def _put(self, *, owner: str, response: Json, input_items: list[Json]) -> None:
        payload = json.dumps({"response": response, "input_items": input_items}, separators=(",", ":"))
        blob = gzip.compress(payload.encode("utf-8"), compresslevel=6)
        parts = [blob[start : start + PART_BYTES] for start in range(0, len(blob), PART_BYTES)] or [b""]
        created = int(self._clock())
        expires = str(created + self._ttl_seconds)
        response_id = str(response["id"])
        for index in range(len(parts) - 1, -1, -1):  # part 0 last: the record exists once it is complete
            item: Json = {
                PARTITION_KEY: {"S": response_id},
                SORT_KEY: {"N": str(index)},
                TTL_ATTRIBUTE: {"N": expires},
                "body": {"B": parts[index]},
            }
            if index == 0:
                item |= {"owner": {"S": owner}, "parts": {"N": str(len(parts))}, "created_at": {"N": str(created)}}
            self._client.put_item(TableName=self._table, Item=item)

    def _parts(self, response_id: str) -> list[Json]:
        items: list[Json] = []
        kwargs: Json = {
            "TableName": self._table,
            "KeyConditionExpression": f"{PARTITION_KEY} = :id",
            "ExpressionAttributeValues": {":id": {"S": response_id}},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _owned_parts(self, owner: str, response_id: str) -> list[Json]:
        items = sorted(self._parts(response_id), key=lambda item: int(item[SORT_KEY]["N"]))
        head = items[0] if items else None
        if (
            head is None
            or int(head[SORT_KEY]["N"]) != 0
            or head.get("owner", {}).get("S") != owner
            or int(head[TTL_ATTRIBUTE]["N"]) <= self._clock()
            or len(items) != int(head["parts"]["N"])
        ):
            raise not_found(response_id)
        return items

    def _get(self, *, owner: str, response_id: str) -> StoredResponse:
        items = self._owned_parts(owner, response_id)
        record = json.loads(gzip.decompress(b"".join(bytes(item["body"]["B"]) for item in items)))
        return StoredResponse(response=record["response"], input_items=record["input_items"])

    def _delete(self, *, owner: str, response_id: str) -> None:
        for item in self._owned_parts(owner, response_id):
            key = {PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]}
            self._client.delete_item(TableName=self._table, Key=key)
