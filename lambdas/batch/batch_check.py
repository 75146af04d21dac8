"""Step 3 (polled): read the job's status, publish progress to the status record, and pick the next wait.

The wait doubles after each poll, from BATCH_POLL_SECONDS up to BATCH_MAX_POLL_SECONDS (the state machine's Wait
state reads it from `$.job.wait_seconds`). Safety net: a job still running `STOP_GRACE_HOURS` after its own Bedrock
timeout is stopped, so the run always reaches a terminal status and gets collected.
Input: `{"run": ..., "job": ...}`. Output (`$.job`): the job with `status`, `done` and the next `wait_seconds`.
"""

from __future__ import annotations

import time
from typing import Any

from batch_common import TERMINAL_JOB_STATUSES, BatchSettings, run_state
from batch_store import transient_errors, update_status
from gateway.aws import client

FUNCTION = "batch-check"
STOP_GRACE_HOURS = 12


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    settings = BatchSettings.from_env()
    run, job = event["run"], dict(event["job"])
    bedrock = client("bedrock", function=FUNCTION)
    with transient_errors():
        info = bedrock.get_model_invocation_job(jobIdentifier=job["job_arn"])
        status = info["status"]
        overdue = time.time() - job.get("started", time.time()) > (settings.job_timeout_hours + STOP_GRACE_HOURS) * 3600
        if overdue and status not in (*TERMINAL_JOB_STATUSES, "Stopping") and not job.get("stop_requested"):
            bedrock.stop_model_invocation_job(jobIdentifier=job["job_arn"])
            job["stop_requested"] = True
        records = _records(info, run.get("records"))
        update_status(
            client("s3", function=FUNCTION),
            run["bucket"],
            run["name"],
            {"state": run_state(status), "job_status": status, "message": info.get("message"), "records": records},
        )
    job.update(
        status=status,
        done=status in TERMINAL_JOB_STATUSES,
        wait_seconds=min(max(int(job.get("wait_seconds", 0)) * 2, settings.poll_seconds), settings.max_poll_seconds),
    )
    return job


def _records(info: dict[str, Any], validated: int | None) -> dict[str, int | None]:
    return {
        "total": info.get("totalRecordCount") or validated,
        "processed": info.get("processedRecordCount", 0),
        "succeeded": info.get("successRecordCount", 0),
        "failed": info.get("errorRecordCount", 0),
    }
