"""Step 4: turn the finished job's output into `results/<name>/` and account for every input record.

Streams the staged records (for their recordIds, in order) and Bedrock's `.out` files; each recordId lands in exactly
one of `succeeded.jsonl` (recordId + OpenAI chat.completion, reasoning split out) or `failed.jsonl` (recordId + error),
including records Bedrock never processed. Output lines may come in any order; a line for an unknown recordId (or
with none) is counted, not written; of several lines for one recordId a success wins, else the first error. Every
`.out` file of the job but the manifest is read (normally the one `<input file>.out`). Memory: the recordIds only
(at most BATCH_MAX_RECORDS of them); the result files are written to /tmp and uploaded in parts.
Token totals in the summary are summed from `succeeded.jsonl` (so they match the files); Bedrock's own manifest,
when there is one, is kept beside them under `manifest`.
A Failed, Stopped or Expired job also leaves `errors/<name>.json` with Bedrock's message.
A run with no Bedrock job (run on demand, or cancelled before its job started) is described by `$.job` itself.
A batch created through the API also gets OpenAI's output and error files (`api_files`), owned by its owner.
Input: `{"run": ..., "job": ...}`. Output (`$.outcome`): the event detail published for the terminal state.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from api_files import write_openai_files
from batch_common import FAILED_JOB_STATUSES, ON_DEMAND_JOB_ID, output_prefix, run_source, run_state, staged_input_key
from batch_store import get_json, now, put_error_report, put_json, stream_lines, transient_errors, update_status
from gateway.aws import client
from gptoss.batch_layout import results_keys, s3_uri
from gptoss.batch_records import BatchResult, failed, parse_output_line, record_id_of

FUNCTION = "batch-collect"


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    run, job = event["run"], event["job"]
    s3 = client("s3", function=FUNCTION)
    with transient_errors():
        update_status(s3, run["bucket"], run["name"], {"state": "finalizing", "finalizing_at": now()})
        info = _job_info(run, job)
        status = info["status"]
        out_bucket, out_base = _output_location(info, job.get("job_arn"))
        if job.get("stop_reason"):
            # The poll step stopped the job: say so wherever Bedrock's own message is reported.
            info = {**info, "message": f"{job['stop_reason']} ({info.get('message') or 'no message from Bedrock'})"}
        written = _listing(s3, out_bucket, out_base)
        manifest_key = f"{out_base}manifest.json.out"
        manifest = get_json(s3, out_bucket, manifest_key) if manifest_key in written else None
        out_key = f"{out_base}{run['key'].rsplit('/', 1)[-1]}.out"
        out_keys = sorted(key for key in written if key.endswith(".out") and key != manifest_key)
        out_keys.sort(key=lambda key: key != out_key)
        output_lines = (line for key in out_keys for line in stream_lines(s3, out_bucket, key))
        with tempfile.TemporaryDirectory() as tmp:
            tally = _write_results(s3, run, info, output_lines, Path(tmp))
            openai_files = write_openai_files(s3, run, Path(tmp), tally) if run.get("api") else None
        summary = _summary(run, info, manifest, tally)
        put_json(s3, run["bucket"], results_keys(run["name"])["summary"], summary)
        errors_uri = _write_errors(s3, run, info, summary) if status in FAILED_JOB_STATUSES else None
        outcome = {
            "id": run["name"],
            "state": summary["state"],
            "file": summary["file"],
            "model": run["model"],
            "job_arn": job.get("job_arn"),
            "job_status": status,
            "succeeded": status not in FAILED_JOB_STATUSES,
            "records": summary["records"],
            "results": summary["results"],
            "errors": errors_uri,
        }
        update_status(
            s3,
            run["bucket"],
            run["name"],
            {
                "state": summary["state"],
                "job_status": status,
                "message": info.get("message"),
                "records": {**summary["records"], "processed": summary["records"]["total"] - tally["not_processed"]},
                "results": summary["results"],
                "errors": errors_uri,
                "tokens": summary["tokens"],
                "openai": openai_files,
                "ended_at": summary["timings"]["ended_at"] or now(),
                "outcome": outcome,
            },
        )
    return outcome


def _job_info(run: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """GetModelInvocationJob's answer for the run's job; for a run without one, the same fields from `$.job`."""
    if job.get("job_arn"):
        return client("bedrock", function=FUNCTION).get_model_invocation_job(jobIdentifier=job["job_arn"])
    output = s3_uri(run["bucket"], output_prefix(run["name"], run_source(run)))
    return {
        "status": job["status"],
        "message": job.get("message"),
        "submitTime": _time(job.get("started_at")),
        "endTime": _time(job.get("ended_at")),
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output}},
    }


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _output_location(info: dict[str, Any], job_arn: str | None) -> tuple[str, str]:
    """(bucket, key prefix) of `<outputS3Uri>/<jobId>/`, where Bedrock (or the on-demand step) writes `.out` files."""
    uri = info["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
    job_id = job_arn.rsplit("/", 1)[-1] if job_arn else ON_DEMAND_JOB_ID
    return bucket, f"{prefix}{job_id}/"


def _listing(s3: Any, bucket: str, prefix: str) -> set[str]:
    """Keys Bedrock wrote for the job (listing first: a job that failed early writes nothing)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def _write_results(
    s3: Any, run: dict[str, Any], info: dict[str, Any], output_lines: Iterator[bytes], tmp: Path
) -> dict[str, int]:
    # The job (or the on-demand step) read the records the validate step staged; an API batch's ids stand for lines.
    input_ids = [record_id_of(line) for line in stream_lines(s3, run["bucket"], staged_input_key(run))]
    wanted = set(input_ids) - {None}
    succeeded: set[str] = set()
    errored: set[str] = set()
    tally = {
        "succeeded": 0,
        "failed": 0,
        "not_processed": 0,
        "unmatched": 0,
        "duplicates": 0,
        "input_tokens": 0,
        "output_tokens": 0,
    }
    keys = results_keys(run["name"])
    errors_path = tmp / "errors.jsonl"
    with (tmp / "succeeded.jsonl").open("w") as ok_file, errors_path.open("w") as errors_file:
        for line in output_lines:
            if not line.strip():
                continue
            result = parse_output_line(line, model=run["model"])
            record_id = result.record_id
            if record_id not in wanted:
                tally["unmatched"] += 1
            elif record_id in succeeded or (record_id in errored and not result.succeeded):
                tally["duplicates"] += 1
            elif result.succeeded:
                tally["duplicates"] += record_id in errored
                succeeded.add(record_id)
                _write(result, ok_file, tally)
            else:
                errored.add(record_id)
                errors_file.write(_line(result))
    with (tmp / "failed.jsonl").open("w") as failed_file, errors_path.open() as errors_file:
        for line in errors_file:
            # An error later superseded by a success for the same record is dropped here.
            if json.loads(line)["recordId"] not in succeeded:
                failed_file.write(line)
                tally["failed"] += 1
        reason = _not_processed_reason(info)
        for record_id in input_ids:
            if record_id not in succeeded and record_id not in errored:
                tally["not_processed"] += 1
                _write(failed(record_id, "not_processed", reason), failed_file, tally)
    for part in ("succeeded", "failed"):
        s3.upload_file(str(tmp / f"{part}.jsonl"), run["bucket"], keys[part])
    return tally


def _line(result: BatchResult) -> str:
    return json.dumps(result.to_dict(), separators=(",", ":")) + "\n"


def _write(result: BatchResult, out: IO[str], tally: dict[str, int]) -> None:
    out.write(_line(result))
    if result.succeeded:
        tally["succeeded"] += 1
        prompt, completion = result.usage()
        tally["input_tokens"] += prompt
        tally["output_tokens"] += completion
    else:
        tally["failed"] += 1


def _not_processed_reason(info: dict[str, Any]) -> str:
    status = info["status"]
    detail = f": {info['message']}" if info.get("message") else ""
    if status == "Completed":
        return "Bedrock returned no output for this record"
    return f"not processed by Bedrock: the job ended {status}{detail}"


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


def _summary(
    run: dict[str, Any], info: dict[str, Any], manifest: dict[str, Any] | None, tally: dict[str, int]
) -> dict[str, Any]:
    submitted, ended = info.get("submitTime"), info.get("endTime")
    duration = (
        (ended - submitted).total_seconds() if isinstance(submitted, datetime) and isinstance(ended, datetime) else None
    )
    keys = results_keys(run["name"])
    manifest = manifest or {}
    return {
        "id": run["name"],
        "file": s3_uri(run["bucket"], run["key"]),
        "model": run["model"],
        "state": run_state(info["status"]),
        "job_status": info["status"],
        "job_arn": info.get("jobArn"),
        "job_name": info.get("jobName"),
        "message": info.get("message"),
        "records": {
            "total": tally["succeeded"] + tally["failed"],
            "succeeded": tally["succeeded"],
            "failed": tally["failed"],
            "not_processed": tally["not_processed"],
        },
        "unmatched_output_records": tally["unmatched"],
        "duplicate_output_records": tally["duplicates"],
        "tokens": {"input": tally["input_tokens"], "output": tally["output_tokens"]},
        "timings": {
            "submitted_at": _iso(submitted),
            "ended_at": _iso(ended),
            "collected_at": now(),
            "job_duration_seconds": duration,
        },
        "manifest": manifest or None,
        "results": {part: s3_uri(run["bucket"], key) for part, key in keys.items()},
    }


def _write_errors(s3: Any, run: dict[str, Any], info: dict[str, Any], summary: dict[str, Any]) -> str:
    return put_error_report(
        s3,
        run["bucket"],
        run["name"],
        {
            "id": run["name"],
            "file": summary["file"],
            "state": summary["state"],
            "job_arn": summary["job_arn"],
            "job_status": info["status"],
            "message": info.get("message") or f"the Bedrock job ended {info['status']}",
            "records": summary["records"],
            "results": summary["results"],
        },
    )
