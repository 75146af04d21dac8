"""Step 2 for a small file (fewer records than Bedrock's batch minimum): run its records through InvokeModel.

It reads the Bedrock records the validate step staged (`staged_key`), whether the run was started by an upload to
`input/` or through the API: a file of any size from one record up runs, at on-demand prices below the minimum.

Each call handles the next `chunk` of records (BATCH_ON_DEMAND_CONCURRENCY requests in flight), writes their outcomes
as one `.out` part in Bedrock's own output format (`{recordId, modelInput, modelOutput}` or `{..., error}`) under
`<output prefix>/on-demand/`, publishes progress, and returns; the state machine calls it again until `done`, so
no invocation nears Lambda's time limit and the collect step reads the parts as it reads a Bedrock job's output.
A throttled request is retried with exponential backoff and full jitter (BATCH_ON_DEMAND_MAX_ATTEMPTS attempts);
any other error, or a throttle that outlasts them, is that record's error. A cancelled batch stops between chunks.
Input: `{"run": ..., "job"?: ...}`. Output (`$.job`): `next` record, counts, `status`, `done`.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from batch_common import ON_DEMAND_JOB_ID, RETRYABLE_CODES, BatchSettings, output_prefix, run_source
from batch_store import cancel_requested, error_code, now, stream_lines, transient_errors, update_status
from botocore.exceptions import ClientError
from gateway.aws import client
from gptoss.invoke import to_batch_input

FUNCTION = "batch-on-demand"
CHUNKS_PER_CALL = 8  # a call runs at most concurrency × this many records
CANCELLED = "cancelled through POST /v1/batches/{id}/cancel"
sleep: Callable[[float], None] = time.sleep


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    settings = BatchSettings.from_env()
    run = event["run"]
    job = dict(event.get("job") or {})
    job.setdefault("started_at", now())
    start = int(job.get("next", 0))
    s3 = client("s3", function=FUNCTION)
    source = run_source(run)
    with transient_errors():
        if cancel_requested(s3, source.bucket, run["name"]):
            return _end(s3, run, job, "Stopped", CANCELLED)
        lines = [line for line in stream_lines(s3, source.bucket, run["staged_key"]) if line.strip()]
        chunk = lines[start : start + settings.on_demand_concurrency * CHUNKS_PER_CALL]
        with ThreadPoolExecutor(max_workers=settings.on_demand_concurrency) as pool:
            outcomes = list(pool.map(lambda line: _run_record(json.loads(line), run["model"], settings), chunk))
        part = f"{output_prefix(run['name'], source)}{ON_DEMAND_JOB_ID}/part-{start:06d}.jsonl.out"
        body = "".join(json.dumps(outcome, ensure_ascii=False) + "\n" for outcome in outcomes)
        s3.put_object(Bucket=source.bucket, Key=part, Body=body.encode())
        job["next"] = start + len(chunk)
        job["succeeded"] = int(job.get("succeeded", 0)) + sum("modelOutput" in outcome for outcome in outcomes)
        job["failed"] = int(job.get("failed", 0)) + sum("error" in outcome for outcome in outcomes)
        if job["next"] >= len(lines):
            return _end(s3, run, job, "Completed", None)
        _publish(s3, run, job, "in_progress")
    return {**job, "status": "InProgress", "done": False}


def _run_record(record: dict[str, Any], model: str, settings: BatchSettings) -> dict[str, Any]:
    """One record through InvokeModel: its Bedrock batch output line."""
    model_input = record.get("modelInput") or {}
    body = to_batch_input(model_input, model)
    bedrock = client("bedrock-runtime", function=FUNCTION, read_timeout=900, max_attempts=1)
    line: dict[str, Any] = {"recordId": record.get("recordId"), "modelInput": model_input}
    for attempt in range(settings.on_demand_max_attempts):
        try:
            response = bedrock.invoke_model(
                modelId=model, body=json.dumps(body).encode(), contentType="application/json", accept="application/json"
            )
            return {**line, "modelOutput": json.loads(response["body"].read())}
        except ClientError as exc:
            code = error_code(exc)
            if code not in RETRYABLE_CODES or attempt + 1 == settings.on_demand_max_attempts:
                message = str(exc.response.get("Error", {}).get("Message", exc))
                return {**line, "error": {"errorCode": code, "errorMessage": message}}
            sleep(random.uniform(0, settings.on_demand_backoff_seconds * 2**attempt))
    raise AssertionError("unreachable: the last attempt returns")


def _publish(s3: Any, run: dict[str, Any], job: dict[str, Any], state: str) -> None:
    records = {
        "total": run["records"],
        "processed": job["next"],
        "succeeded": job.get("succeeded", 0),
        "failed": job.get("failed", 0),
    }
    change = {"state": state, "job_status": "OnDemand", "records": records}
    if not job.get("published"):
        change["submitted_at"] = job["started_at"]
        job["published"] = True
    update_status(s3, run["bucket"], run["name"], change)


def _end(s3: Any, run: dict[str, Any], job: dict[str, Any], status: str, message: str | None) -> dict[str, Any]:
    job.setdefault("next", 0)
    _publish(s3, run, job, "in_progress")
    return {**job, "status": status, "message": message, "ended_at": now(), "done": True, "wait_seconds": 0}
