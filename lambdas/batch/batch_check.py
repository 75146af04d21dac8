"""Step 3 (polled): read the job's status, publish progress to the status record, and pick the next wait.

The wait doubles after each poll, from BATCH_POLL_SECONDS up to BATCH_MAX_POLL_SECONDS (the state machine's Wait
state reads it from `$.job.wait_seconds`). Safety net: a job still running `STOP_GRACE_HOURS` after its own Bedrock
timeout is stopped, so the run always reaches a terminal status and gets collected (`$.job.stop_reason` says why).
Input: `{"run": ..., "job": ...}`. Output (`$.job`): the job with `status`, `done` and the next `wait_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from batch_common import STOP_GRACE_HOURS, TERMINAL_JOB_STATUSES, BatchSettings, run_state
from batch_store import stop_job, transient_errors, update_status
from gateway.aws import client

FUNCTION = "batch-check"
# Seconds since the epoch; the job's `started` is measured with the same clock (tests move it forward).
clock: Callable[[], float] = time.time


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    settings = BatchSettings.from_env()
    run, job = event["run"], dict(event["job"])
    bedrock = client("bedrock", function=FUNCTION)
    with transient_errors():
        info = bedrock.get_model_invocation_job(jobIdentifier=job["job_arn"])
        status = info["status"]
        running_hours = (clock() - job.get("started", clock())) / 3600
        overdue = running_hours > settings.job_timeout_hours + STOP_GRACE_HOURS
        if overdue and status not in (*TERMINAL_JOB_STATUSES, "Stopping") and not job.get("stop_requested"):
            job["stop_requested"] = True
            if stop_job(bedrock, job["job_arn"]):
                status = "Stopping"
                job["stop_reason"] = (
                    f"stopped by the gateway: still {info['status']} {running_hours:.0f} h after submission, "
                    f"past its {settings.job_timeout_hours} h Bedrock timeout plus {STOP_GRACE_HOURS} h of grace"
                )
        records = _records(info, run.get("records"))
        update_status(
            client("s3", function=FUNCTION),
            run["bucket"],
            run["name"],
            {
                # A finished job is not a finished run: the collect step sets the final state with the results.
                "state": "finalizing" if status in TERMINAL_JOB_STATUSES else run_state(status),
                "job_status": status,
                "message": job.get("stop_reason") or info.get("message"),
                "records": records,
            },
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
