"""Error report writer: a step failed after its retries, or the execution timed out or was aborted.

Two callers, never a silent stop:
- the state machine's catch-all: `{"event": <S3 event>, "run"?: ..., "job"?: ..., "error": {"Error", "Cause"}}`;
- an EventBridge rule on "Step Functions Execution Status Change" (TIMED_OUT, ABORTED), whose detail carries the
  execution's input (the S3 event) as a JSON string.
Writes `errors/<name>.json` and marks the run `error`; returns the outcome to publish.
"""

from __future__ import annotations

import json
from typing import Any

from batch_common import BatchSettings, errors_key, run_target, s3_uri, source_from_event, status_key
from batch_store import error_code, now, put_json, transient_errors, update_status
from botocore.exceptions import ClientError
from gateway.aws import client

FUNCTION = "batch-report"


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    settings = BatchSettings.from_env()
    if event.get("source") == "aws.states":
        detail = event["detail"]
        state = {
            "event": json.loads(detail["input"]),
            "execution": detail.get("executionArn"),
            "error": {
                "Error": f"States.{detail.get('status', 'Unknown')}",
                "Cause": detail.get("cause") or f"the execution ended {detail.get('status', 'unexpectedly')}",
            },
        }
    else:
        state = event
    source = source_from_event(state["event"])
    run = state.get("run") or {}
    name = run.get("name") or run_target(source.key, settings).name
    error = state.get("error") or {}
    message = _message(error.get("Cause"))
    job = state.get("job") or {}
    report = {
        "id": name,
        "file": source.uri,
        "state": "error",
        "error": error.get("Error", "Unknown"),
        "message": message,
        "job_arn": job.get("job_arn"),
        "execution": run.get("execution") or state.get("execution"),
        "at": now(),
    }
    s3 = client("s3", function=FUNCTION)
    errors_uri = s3_uri(source.bucket, errors_key(name))
    change = {"file": source.uri, "state": "error", "errors": errors_uri, "message": f"{report['error']}: {message}"}
    with transient_errors():
        put_json(s3, source.bucket, errors_key(name), report)
        try:
            update_status(s3, source.bucket, name, change)
        except ClientError as exc:
            # No status record yet (S3 answers 403 for a missing key without s3:ListBucket): start one.
            if error_code(exc) not in ("AccessDenied", "NoSuchKey"):
                raise
            put_json(
                s3, source.bucket, status_key(name), {"id": name, "object": "batch", **change, "updated_at": now()}
            )
    return {
        "id": name,
        "state": "error",
        "file": source.uri,
        "model": run.get("model"),
        "job_arn": job.get("job_arn"),
        "succeeded": False,
        "error": report["error"],
        "message": message,
        "errors": errors_uri,
    }


def _message(cause: object) -> str:
    """Lambda failures arrive as a JSON cause with errorType/errorMessage; keep the message, never a stack trace."""
    if not isinstance(cause, str) or not cause:
        return "the batch pipeline stopped with an error"
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause[:2000]
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        return str(parsed["errorMessage"])[:2000]
    return cause[:2000]
