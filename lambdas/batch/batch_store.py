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
from gptoss.batch_layout import errors_key, s3_uri, status_key
from gptoss.batch_records import iter_lines

CHUNK_BYTES = 1 << 20
# The batch roles have no s3:ListBucket on these prefixes, so S3 answers 403 (not 404) for a key that does not exist.
MISSING_KEY_CODES = ("NoSuchKey", "404", "NotFound", "AccessDenied")
CONDITION_FAILED_CODES = ("PreconditionFailed", "412", "ConditionalRequestConflict", "NoSuchKey")
# StopModelInvocationJob on a job that already ended (or no longer exists): nothing left to stop.
NOT_STOPPABLE_CODES = ("ValidationException", "ConflictException", "ResourceNotFoundException")


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


def read_json(s3: BaseClient, bucket: str, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """A JSON object from S3 and its ETag (for a conditional overwrite), or (None, None) when the key does not exist."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in MISSING_KEY_CODES:
            return None, None
        raise
    return json.loads(response["Body"].read()), response["ETag"]


def get_json(s3: BaseClient, bucket: str, key: str) -> dict[str, Any] | None:
    """A JSON object from S3, or None when the key does not exist."""
    return read_json(s3, bucket, key)[0]


def put_json(
    s3: BaseClient,
    bucket: str,
    key: str,
    value: dict[str, Any],
    *,
    only_if_new: bool = False,
    if_match: str | None = None,
) -> bool:
    """Write a JSON object; if conditional (`only_if_new`, or `if_match` an ETag), False when the condition fails."""
    extra = {"IfNoneMatch": "*"} if only_if_new else {"IfMatch": if_match} if if_match else {}
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(value, indent=2).encode(),
            ContentType="application/json",
            **extra,
        )
    except ClientError as exc:
        if extra and error_code(exc) in CONDITION_FAILED_CODES:
            return False
        raise
    return True


def put_error_report(s3: BaseClient, bucket: str, name: str, report: dict[str, Any]) -> str:
    """Write the run's `errors/<name>.json`, stamped with the time; returns its S3 URI."""
    put_json(s3, bucket, errors_key(name), {**report, "at": now()})
    return s3_uri(bucket, errors_key(name))


def delete(s3: BaseClient, bucket: str, key: str) -> None:
    """Remove an object (a no-op when it does not exist)."""
    s3.delete_object(Bucket=bucket, Key=key)


def stop_job(bedrock: BaseClient, job_arn: str) -> bool:
    """Ask Bedrock to stop a batch job; False when the job had already ended, so there was nothing to stop."""
    try:
        bedrock.stop_model_invocation_job(jobIdentifier=job_arn)
    except ClientError as exc:
        if error_code(exc) in NOT_STOPPABLE_CODES:
            return False
        raise
    return True


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
