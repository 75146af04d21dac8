"""`GET /v1/batches` and `GET /v1/batches/{id}`: the runs' status records, as an API Gateway Lambda proxy handler.

Each run's `status/<name>.json` is kept current by the lifecycle steps, so this reads S3 only (no Step Functions
or Bedrock calls): file, model, state, processed/total records, result and error locations.
"""

from __future__ import annotations

import json
import os
from typing import Any

from batch_common import NAME_PATTERN
from batch_store import get_json
from gateway.aws import client
from gptoss.batch_layout import STATUS_PREFIX, status_key

FUNCTION = "batch-status"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    if event.get("httpMethod", "GET") != "GET":
        return _error(405, "Method not allowed.", "invalid_request_error")
    bucket = os.environ["BUCKET_NAME"]
    s3 = client("s3", function=FUNCTION)
    run_id = (event.get("pathParameters") or {}).get("id")
    if run_id is not None:
        status = _get(s3, bucket, run_id) if NAME_PATTERN.fullmatch(run_id) else None
        if status is None:
            return _error(404, f"No batch named '{run_id}'.", "invalid_request_error", code="batch_not_found")
        return _response(200, status)
    query = event.get("queryStringParameters") or {}
    limit = _limit(query.get("limit"))
    if limit is None:
        return _error(400, f"limit must be an integer between 1 and {MAX_LIMIT}.", "invalid_request_error", "limit")
    listing = _list(s3, bucket, limit, query.get("after"))
    if listing is None:
        return _error(400, f"after: no batch named '{query['after']}'.", "invalid_request_error", "after")
    return _response(200, listing)


def _get(s3: Any, bucket: str, run_id: str) -> dict[str, Any] | None:
    """The run's record; listed first, since S3 answers 403 (not 404) for a missing key without s3:ListBucket."""
    key = status_key(run_id)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    return get_json(s3, bucket, key) if listed and listed[0]["Key"] == key else None


def _list(s3: Any, bucket: str, limit: int, after: str | None) -> dict[str, Any] | None:
    """Most recently updated runs first; `after` (a run id, e.g. the previous page's `last_id`) starts the page past
    that run. None when `after` names no run."""
    objects: list[dict[str, Any]] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=STATUS_PREFIX, Delimiter="/"):
        objects.extend(item for item in page.get("Contents", []) if item["Key"].endswith(".json"))
    # Newest first; equal times (same second) in a fixed order, so pages neither repeat nor skip a run.
    objects.sort(key=lambda item: (item["LastModified"], item["Key"]), reverse=True)
    if after is not None:
        keys = [item["Key"] for item in objects]
        if status_key(after) not in keys:
            return None
        objects = objects[keys.index(status_key(after)) + 1 :]
    data = [status for item in objects[:limit] if (status := get_json(s3, bucket, item["Key"])) is not None]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(objects) > limit,
    }


def _limit(raw: str | None) -> int | None:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 1 <= value <= MAX_LIMIT else None


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _error(status: int, message: str, kind: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return _response(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})
