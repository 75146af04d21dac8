"""Step 1: claim the upload (one run per bucket/key/etag), then validate it line by line, streaming from S3.

Input: `{"event": <EventBridge S3 Object Created event>, "execution": <execution ARN>}`.
Output (the run, carried through the state machine): name, model, source, `duplicate`, `valid`, record count;
an invalid file also gets `errors/<name>.json` (every problem with its line number) and an `outcome` to publish.
"""

from __future__ import annotations

from typing import Any

from batch_common import (
    BatchSettings,
    Source,
    claim_key,
    errors_key,
    run_target,
    s3_uri,
    source_from_event,
    status_key,
)
from batch_store import get_json, now, put_json, stream_lines, transient_errors, update_status
from gateway.aws import client
from gptoss.batch_records import Problem, Report, validate_lines

FUNCTION = "batch-validate"


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    settings = BatchSettings.from_env()
    s3 = client("s3", function=FUNCTION)
    source = source_from_event(event["event"])
    execution = event.get("execution", "")
    target = run_target(source.key, settings)
    run = {
        "name": target.name,
        "model": target.model,
        "bucket": source.bucket,
        "key": source.key,
        "etag": source.etag,
        "size": source.size,
        "version_id": source.version_id,
        "execution": execution,
        "duplicate": False,
        "valid": False,
        "records": 0,
    }
    with transient_errors():
        if not _claim(s3, source, run):
            return {**run, "duplicate": True}
        put_json(s3, source.bucket, status_key(target.name), _new_status(target.name, source, target.model, execution))
        report = _validate(s3, source, target.problem, target.model, settings)
        run.update(records=report.records, valid=report.valid)
        if report.valid:
            update_status(s3, source.bucket, target.name, {"records": {**_zero(), "total": report.records}})
            return run
        return {**run, **_reject(s3, source, run, report)}


def _claim(s3: Any, source: Source, run: dict[str, Any]) -> bool:
    """True when this execution owns the upload: it created the claim, or it is retrying its own step."""
    key = claim_key(source)
    claim = {"file": source.uri, "etag": source.etag, "execution": run["execution"], "name": run["name"]}
    if put_json(s3, source.bucket, key, {**claim, "claimed_at": now()}, only_if_new=True):
        return True
    existing = get_json(s3, source.bucket, key) or {}
    return existing.get("execution") == run["execution"]


def _validate(s3: Any, source: Source, key_problem: str | None, model: str, settings: BatchSettings) -> Report:
    if key_problem:
        report = Report(model=model, bytes=source.size)
        report.add(Problem(None, "invalid_key", key_problem))
        return report
    lines = stream_lines(s3, source.bucket, source.key, version_id=source.version_id)
    return validate_lines(lines, size=source.size, model=model, enabled=settings.enabled_models, limits=settings.limits)


def _reject(s3: Any, source: Source, run: dict[str, Any], report: Report) -> dict[str, Any]:
    """Write `errors/<name>.json` and mark the run invalid; returns the fields to merge into the run."""
    name = run["name"]
    errors_uri = s3_uri(source.bucket, errors_key(name))
    put_json(
        s3,
        source.bucket,
        errors_key(name),
        {
            "id": name,
            "file": source.uri,
            "state": "invalid",
            "message": f"{report.problem_count} problem(s) found; no Bedrock job was started",
            "at": now(),
            **report.to_dict(),
        },
    )
    update_status(
        s3,
        source.bucket,
        name,
        {"state": "invalid", "errors": errors_uri, "message": "input file failed validation; see errors"},
    )
    outcome = {
        "id": name,
        "state": "invalid",
        "file": source.uri,
        "model": run["model"],
        "succeeded": False,
        "errors": errors_uri,
        "problem_count": report.problem_count,
    }
    return {"errors": errors_uri, "outcome": outcome}


def _zero() -> dict[str, int]:
    return {"processed": 0, "succeeded": 0, "failed": 0}


def _new_status(name: str, source: Source, model: str, execution: str) -> dict[str, Any]:
    """A fresh status record: each upload starts its run from scratch (no read of an older record)."""
    moment = now()
    return {
        "id": name,
        "object": "batch",
        "file": source.uri,
        "model": model,
        "state": "validating",
        "etag": source.etag,
        "execution": execution,
        "job_arn": None,
        "job_status": None,
        "records": {"total": None, **_zero()},
        "results": None,
        "errors": None,
        "message": None,
        "created_at": moment,
        "updated_at": moment,
    }
