"""AWS reads and writes of the batch lifecycle: streamed lines, JSON objects, the run status record, stopping a job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from batch_common import RETRYABLE_CODES, BatchSettings, BatchSettingsError, TransientError
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from gateway.store import (  # noqa: F401  (re-exported: the batch steps' one import for their S3 and job calls)
    CONDITION_FAILED_CODES,
    MISSING_KEY_CODES,
    NOT_STOPPABLE_CODES,
    error_code,
    get_json,
    put_json,
    read_json,
    stop_job,
)
from gptoss.batch_layout import cancel_key, errors_key, s3_uri, status_key
from gptoss.batch_records import iter_lines

CHUNK_BYTES = 1 << 20


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@contextmanager
def transient_errors() -> Iterator[None]:
    """Re-raise throttles and 5xx-style AWS errors as TransientError, which the state machine retries."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in RETRYABLE_CODES:
            raise TransientError(f"{error_code(exc)}: {exc}") from exc
        raise


def stream_lines(
    s3: BaseClient, bucket: str, key: str, *, version_id: str | None = None, max_line_bytes: int | None = None
) -> Iterator[bytes]:
    """The object's lines, read in 1 MiB chunks (never the whole object); the GET starts on first iteration.
    With `max_line_bytes`, longer lines are cut (see `iter_lines`)."""
    extra = {"VersionId": version_id} if version_id else {}
    body = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"]
    try:
        yield from iter_lines(body.iter_chunks(CHUNK_BYTES), max_line_bytes)
    finally:
        body.close()


def put_error_report(s3: BaseClient, bucket: str, name: str, report: dict[str, Any]) -> str:
    """Write the run's `errors/<name>.json`, stamped with the time; returns its S3 URI."""
    put_json(s3, bucket, errors_key(name), {**report, "at": now()})
    return s3_uri(bucket, errors_key(name))


def delete(s3: BaseClient, bucket: str, key: str) -> None:
    """Remove an object (a no-op when it does not exist)."""
    s3.delete_object(Bucket=bucket, Key=key)


def publish_run_ended(events: BaseClient, settings: BatchSettings, outcome: dict[str, Any]) -> None:
    """Put the "run ended" event on the default bus, as the state machine's Notify step does (same source,
    detail-type and detail); a throttled or failed entry is a TransientError, so the caller retries."""
    if not settings.event_source or not settings.event_detail_type:
        raise BatchSettingsError("BATCH_EVENT_SOURCE and BATCH_EVENT_DETAIL_TYPE must be set to publish run events")
    entry = {"Source": settings.event_source, "DetailType": settings.event_detail_type, "Detail": json.dumps(outcome)}
    answer = events.put_events(Entries=[entry])
    if answer.get("FailedEntryCount"):
        raise TransientError(f"PutEvents refused the run event: {answer['Entries'][0].get('ErrorCode')}")


def update_status(s3: BaseClient, bucket: str, name: str, change: dict[str, Any]) -> None:
    """Read-modify-write `status/<name>.json`; one writer at a time: the steps of the run holding the name, in turn."""
    status = get_json(s3, bucket, status_key(name)) or {"id": name, "object": "batch", "created_at": now()}
    status.update(change, updated_at=now())
    put_json(s3, bucket, status_key(name), status)


def cancel_requested(s3: BaseClient, bucket: str, name: str) -> bool:
    """True once POST /v1/batches/{id}/cancel asked this run to stop."""
    return get_json(s3, bucket, cancel_key(name)) is not None
