"""Error report writer: a step failed after its retries, or the execution timed out or was aborted.

Two callers, never a silent stop:
- the state machine's catch-all: `{"event": <S3 event>, "execution": ..., "run"?: ..., "job"?: ..., "error": ...}`;
- an EventBridge rule on "Step Functions Execution Status Change" (TIMED_OUT, ABORTED, FAILED), whose detail carries
  the execution's input (the S3 event) as a JSON string.
Writes `errors/<name>.json`, marks the run `error`, and stops the run's Bedrock job if it is still running (nothing
would collect its output, and it would keep costing money). Only this execution's job and status record are touched:
a run that failed before it held its name leaves another run in progress alone. Returns the outcome; the state machine
publishes it itself, while for an execution that ended outside its own states (timed out, aborted, or failed in a
step that has no catch, such as this report itself) this function publishes the "run ended" event. An execution
that failed only in announcing its end keeps the outcome it recorded in its status record, and that is published.
"""

from __future__ import annotations

import json
from typing import Any

from batch_common import (
    IN_PROGRESS_STATES,
    BatchSettings,
    Source,
    claim_key,
    event_target,
    holds_name,
    source_from_event,
)
from batch_store import (
    get_json,
    now,
    publish_run_ended,
    put_error_report,
    put_json,
    read_json,
    stop_job,
    transient_errors,
    update_status,
)
from gateway.aws import client
from gptoss.batch_layout import status_key

FUNCTION = "batch-report"


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    settings = BatchSettings.from_env()
    if event.get("source") != "aws.states":
        return report(event, settings)
    state = _from_execution_event(event["detail"])
    outcome = _ended_outcome(state, settings) or report(state, settings)
    with transient_errors():
        publish_run_ended(client("events", function=FUNCTION), settings, outcome)
    return outcome


def _ended_outcome(state: dict[str, Any], settings: BatchSettings) -> dict[str, Any] | None:
    """The outcome this execution already recorded when it ended (only its Notify step failed after that): the run
    keeps its results and state, and the event it could not publish is published now."""
    source = source_from_event(state["event"])
    name = event_target(state["event"], settings).name
    with transient_errors():
        status = get_json(client("s3", function=FUNCTION), source.bucket, status_key(name)) or {}
    ended = status.get("execution") == state["execution"] and status.get("state") not in IN_PROGRESS_STATES
    return status.get("outcome") if ended else None


def report(state: dict[str, Any], settings: BatchSettings) -> dict[str, Any]:
    """Write the error report for a run that ended in error; returns the outcome to publish."""
    source = source_from_event(state["event"])
    run = state.get("run") or {}
    execution = run.get("execution") or state.get("execution") or ""
    name = run.get("name") or event_target(state["event"], settings).name
    error = state.get("error") or {}
    message = _message(error.get("Cause"))
    s3 = client("s3", function=FUNCTION)
    with transient_errors():
        job_arn = (state.get("job") or {}).get("job_arn") or _claimed_job(s3, source, execution)
        job_stopped = bool(job_arn) and stop_job(client("bedrock", function=FUNCTION), job_arn)
        if job_stopped:
            message = f"{message}; its Bedrock job was stopped"
        report = {
            "id": name,
            "file": source.uri,
            "etag": source.etag,
            "state": "error",
            "error": error.get("Error", "Unknown"),
            "message": message,
            "job_arn": job_arn,
            "job_stopped": job_stopped,
            "execution": execution or None,
        }
        errors_uri = put_error_report(s3, source.bucket, name, report)
        summary = f"{report['error']}: {message}"
        outcome = {
            "id": name,
            "state": "error",
            "file": source.uri,
            "model": run.get("model"),
            "job_arn": job_arn,
            "job_stopped": job_stopped,
            "succeeded": False,
            "error": report["error"],
            "message": message,
            "errors": errors_uri,
        }
        change = {"file": source.uri, "state": "error", "errors": errors_uri, "message": summary, "outcome": outcome}
        _mark_run(s3, source, name, execution, change, settings)
    return outcome


def _from_execution_event(detail: dict[str, Any]) -> dict[str, Any]:
    status = detail.get("status", "Unknown")
    return {
        "event": json.loads(detail["input"]),
        "execution": detail.get("executionArn"),
        "error": {
            "Error": f"States.{status}",
            "Cause": detail.get("cause") or f"the execution ended {status}",
        },
    }


def _claimed_job(s3: Any, source: Source, execution: str) -> str | None:
    """The job this execution started, as recorded in its claim (a failure before the `job` state was set)."""
    claim = get_json(s3, source.bucket, claim_key(source)) or {}
    return claim.get("job_arn") if execution and claim.get("execution") == execution else None


def _mark_run(
    s3: Any, source: Source, name: str, execution: str, change: dict[str, Any], settings: BatchSettings
) -> None:
    """Record the error in `status/<name>.json`, unless another run in progress holds the name."""
    current, _ = read_json(s3, source.bucket, status_key(name))
    if current is not None and holds_name(current, execution, settings):
        return
    if current is not None and current.get("execution") == execution:
        update_status(s3, source.bucket, name, change)
        return
    fresh = {"id": name, "object": "batch", "execution": execution or None, **change, "created_at": now()}
    put_json(s3, source.bucket, status_key(name), {**fresh, "etag": source.etag, "updated_at": now()})


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
