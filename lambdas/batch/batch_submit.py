"""Step 2: start the Bedrock batch job, at most once per bucket/key/etag.

Bedrock reads the records the validate step staged (`staged_key`, a gateway-owned key under `batch-input/`), never
the upload: what the paid job processes is exactly what was validated, in the form Bedrock accepts.

The claim object written by the validate step records the job ARN once it exists; a retried step reuses it. If the
step died between CreateModelInvocationJob and that write, the retry sends the same `clientRequestToken` (derived
from bucket/key/etag), which Bedrock treats as the same request.
A batch created through the API that was cancelled meanwhile starts no job: the run goes straight to collection,
every record unprocessed.
Input: `{"run": ...}`. Output (`$.job`): job ARN and the first wait, or `done` with no job when cancelled.
"""

from __future__ import annotations

import time
from typing import Any

from batch_common import BatchSettings, Source, claim_key, job_name, output_prefix, run_source
from batch_store import cancel_requested, get_json, now, put_json, transient_errors, update_status
from gateway.aws import client
from gptoss.batch_layout import s3_uri

FUNCTION = "batch-submit"


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    settings = BatchSettings.from_env()
    run = event["run"]
    source = run_source(run)
    s3 = client("s3", function=FUNCTION)
    with transient_errors():
        claim = get_json(s3, source.bucket, claim_key(source)) or {}
        job_arn = claim.get("job_arn")
        if not job_arn and cancel_requested(s3, source.bucket, run["name"]):
            return {"job_arn": None, "status": "Stopped", "message": CANCELLED, "done": True, "wait_seconds": 0}
        if not job_arn:
            job_arn = _create_job(run, source, run["staged_key"], settings)
            put_json(s3, source.bucket, claim_key(source), {**claim, "job_arn": job_arn, "submitted_at": now()})
        update_status(
            s3,
            source.bucket,
            run["name"],
            {"state": "submitted", "job_arn": job_arn, "job_status": "Submitted", "submitted_at": now()},
        )
    return {"job_arn": job_arn, "wait_seconds": settings.poll_seconds, "started": int(time.time()), "done": False}


CANCELLED = "cancelled before its Bedrock job started"


def _create_job(run: dict[str, Any], source: Source, input_key: str, settings: BatchSettings) -> str:
    bedrock = client("bedrock", function=FUNCTION)
    response = bedrock.create_model_invocation_job(
        jobName=job_name(run["name"], source),
        roleArn=settings.role_arn,
        clientRequestToken=source.digest,
        modelId=run["model"],
        inputDataConfig={"s3InputDataConfig": {"s3Uri": s3_uri(source.bucket, input_key), "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": s3_uri(source.bucket, output_prefix(run["name"], source))}},
        timeoutDurationInHours=settings.job_timeout_hours,
    )
    return response["jobArn"]
