"""S3 reads and writes of the batch lifecycle: streamed lines, JSON objects, the run status record, claims."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from batch_common import RETRYABLE_CODES, TransientError, status_key
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from gptoss.batch_records import iter_lines

CHUNK_BYTES = 1 << 20


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def transient_errors() -> Iterator[None]:
    """Re-raise throttles and 5xx-style AWS errors as TransientError, which the state machine retries."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in RETRYABLE_CODES:
            raise TransientError(f"{error_code(exc)}: {exc}") from exc
        raise


def stream_lines(s3: BaseClient, bucket: str, key: str, *, version_id: str | None = None) -> Iterator[bytes]:
    """The object's lines, read in 1 MiB chunks (never the whole object); the GET starts on first iteration."""
    extra = {"VersionId": version_id} if version_id else {}
    body = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"]
    try:
        yield from iter_lines(body.iter_chunks(CHUNK_BYTES))
    finally:
        body.close()


def get_json(s3: BaseClient, bucket: str, key: str) -> dict[str, Any] | None:
    """A JSON object from S3, or None when the key does not exist."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return json.loads(body)


def put_json(s3: BaseClient, bucket: str, key: str, value: dict[str, Any], *, only_if_new: bool = False) -> bool:
    """Write a JSON object; with `only_if_new`, returns False instead of overwriting an existing key."""
    extra = {"IfNoneMatch": "*"} if only_if_new else {}
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(value, indent=2).encode(),
            ContentType="application/json",
            **extra,
        )
    except ClientError as exc:
        if only_if_new and error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
            return False
        raise
    return True


def update_status(s3: BaseClient, bucket: str, name: str, change: Callable[[dict[str, Any]], None] | dict) -> dict:
    """Read-modify-write `status/<name>.json` (one writer at a time: the steps of one execution run in sequence)."""
    status = get_json(s3, bucket, status_key(name)) or {"id": name, "object": "batch", "created_at": now()}
    if callable(change):
        change(status)
    else:
        status.update(change)
    status["updated_at"] = now()
    put_json(s3, bucket, status_key(name), status)
    return status
