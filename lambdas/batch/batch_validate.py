"""Step 1: claim the upload (one run per bucket/key/etag) and its name, then validate it line by line, streamed.

Input: `{"event": <EventBridge S3 Object Created event, or a batch created through the API>, "execution": <ARN>}`.
Output (the run, carried through the state machine): name, model, source, `duplicate`, `valid`, record count,
`on_demand` (fewer records than Bedrock's batch minimum: the records run through InvokeModel instead of a batch job),
`staged_key`; an invalid file also gets `errors/<name>.json` (every problem with its line number) and an `outcome` to
publish.

The file is read once (streamed, that version of it): while each line is validated, the record Bedrock's job (or the
on-demand step) will read is written to a local file, uploaded to the staging key (`staged_key`, under
`batch-input/`, deterministic per bucket/key/etag) once the whole file proved valid. So what runs is exactly what was
validated, in the form Bedrock accepts, and overwriting the upload meanwhile changes nothing:
- an upload to `input/` holds Bedrock records; each goes on byte for byte, or rewritten where Bedrock would refuse it
  (a model alias, replayed `reasoning_content`, fields not sent to InvokeModel: see `gptoss.batch_records`);
- a batch created through the API (`api`: its id and owner) holds OpenAI batch lines, translated into Bedrock records;
  its model is the one its lines name.
An upload whose name is held by another run still in progress is refused the same way (`conflict`), and its claim is
released so that uploading the same file again once that run has ended starts a run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from batch_common import (
    BatchSettings,
    Source,
    TransientError,
    api_batch,
    claim_key,
    event_target,
    holds_name,
    source_from_event,
    staging_key,
)
from batch_store import (
    delete,
    get_json,
    now,
    put_error_report,
    put_json,
    read_json,
    stream_lines,
    transient_errors,
    update_status,
)
from gateway.aws import client
from gptoss.batch_layout import errors_key, status_key
from gptoss.batch_records import Problem, Report, validate_lines
from gptoss.openai_batch import validate_batch_lines

FUNCTION = "batch-validate"
NAME_ATTEMPTS = 5


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    settings = BatchSettings.from_env()
    s3 = client("s3", function=FUNCTION)
    source = source_from_event(event["event"])
    execution = event.get("execution", "")
    api = api_batch(event["event"])
    target = event_target(event["event"], settings)
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
        "api": api,
        "on_demand": False,
    }
    with transient_errors():
        if not _claim(s3, source, run):
            return {**run, "duplicate": True}
        holder = _take_name(s3, source, run, settings)
        if holder is not None:
            delete(s3, source.bucket, claim_key(source))
            return {**run, **_refuse(s3, source, run, holder)}
        # The name is this run's now: an error report left by an earlier run of it no longer applies.
        delete(s3, source.bucket, errors_key(target.name))
        report = _validate_and_stage(s3, source, run, settings, target.problem)
        run.update(records=report.records, valid=report.valid, on_demand=report.records < settings.limits.min_records)
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


def _take_name(s3: Any, source: Source, run: dict[str, Any], settings: BatchSettings) -> dict[str, Any] | None:
    """Start this run's status record unless another run in progress holds the name; returns that run's record.

    The record is replaced with a conditional write (If-Match its ETag, or If-None-Match), so of two uploads of the
    same name racing here, one wins and the other sees the winner's record.
    """
    key = status_key(run["name"])
    for _ in range(NAME_ATTEMPTS):
        current, etag = read_json(s3, source.bucket, key)
        if current is not None and holds_name(current, run["execution"], settings):
            return current
        fresh = _new_status(run["name"], source, run["model"], run["execution"])
        if put_json(s3, source.bucket, key, fresh, only_if_new=etag is None, if_match=etag):
            return None
    raise TransientError(f"the status record {key} kept changing while this run tried to start")


def _refuse(s3: Any, source: Source, run: dict[str, Any], holder: dict[str, Any]) -> dict[str, Any]:
    """Write `errors/<name>.json` for an upload refused because its name is in use; the running run is untouched."""
    name = run["name"]
    message = (
        f"not started: the run '{name}' of {holder.get('file')} is still in progress (state {holder.get('state')}); "
        "upload this file again once that run has ended, or under another file name"
    )
    errors_uri = put_error_report(
        s3,
        source.bucket,
        name,
        {
            "id": name,
            "file": source.uri,
            "etag": source.etag,
            "state": "conflict",
            "message": message,
            "in_progress": {key: holder.get(key) for key in ("file", "etag", "state", "execution", "job_arn")},
        },
    )
    outcome = _outcome(run, source, "conflict", errors_uri, message=message)
    return {"conflict": True, "errors": errors_uri, "outcome": outcome}


def _validate_and_stage(
    s3: Any, source: Source, run: dict[str, Any], settings: BatchSettings, key_problem: str | None
) -> Report:
    """Validate the upload line by line; when it is valid, upload the records written meanwhile to `staged_key`."""
    if key_problem:
        report = Report(model=run["model"], bytes=source.size)
        report.add(Problem(None, "invalid_key", key_problem))
        return report
    lines = stream_lines(
        s3, source.bucket, source.key, version_id=source.version_id, max_line_bytes=settings.limits.max_record_bytes
    )
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "records.jsonl"
        with staged.open("wb") as out:
            report = _validate(lines, run, settings, emit=out.write)
        staged_bytes = staged.stat().st_size
        if report.valid and staged_bytes > settings.limits.max_file_bytes:
            message = (
                f"in the form Bedrock reads (model ids, only the fields InvokeModel takes) the file is {staged_bytes} "
                f"bytes; the limit is {settings.limits.max_file_bytes} bytes"
            )
            report.add(Problem(None, "file_too_large", message))
        if report.valid:
            run["model"] = report.model
            run["staged_key"] = staging_key(run["name"], source)
            s3.upload_file(str(staged), source.bucket, run["staged_key"])
    return report


def _validate(
    lines: Iterable[bytes], run: dict[str, Any], settings: BatchSettings, *, emit: Callable[[bytes], object]
) -> Report:
    """OpenAI batch lines for a batch created through the API, Bedrock records for an upload to `input/`."""
    limits, enabled = settings.limits, settings.enabled_models
    if run["api"] is not None:
        return validate_batch_lines(lines, size=run["size"], enabled=enabled, limits=limits, emit=emit)
    return validate_lines(lines, size=run["size"], model=run["model"], enabled=enabled, limits=limits, emit=emit)


def _reject(s3: Any, source: Source, run: dict[str, Any], report: Report) -> dict[str, Any]:
    """Write `errors/<name>.json` and mark the run invalid; returns the fields to merge into the run."""
    name = run["name"]
    errors_uri = put_error_report(
        s3,
        source.bucket,
        name,
        {
            "id": name,
            "file": source.uri,
            "state": "invalid",
            "message": f"{report.problem_count} problem(s) found; no Bedrock job was started",
            **report.to_dict(),
        },
    )
    outcome = _outcome(run, source, "invalid", errors_uri, problem_count=report.problem_count)
    change = {"state": "invalid", "errors": errors_uri, "message": "input file failed validation; see errors"}
    update_status(s3, source.bucket, name, {**change, "outcome": outcome})
    return {"errors": errors_uri, "outcome": outcome}


def _outcome(run: dict[str, Any], source: Source, state: str, errors_uri: str, **details: Any) -> dict[str, Any]:
    """The event detail published for a run that ends before any Bedrock job is started."""
    return {
        "id": run["name"],
        "state": state,
        "file": source.uri,
        "model": run["model"],
        "succeeded": False,
        "errors": errors_uri,
        **details,
    }


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
