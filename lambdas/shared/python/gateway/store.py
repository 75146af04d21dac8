"""S3 JSON objects (read, conditional write) and stopping a Bedrock batch job: shared by the batch steps and the
batch API function."""

from __future__ import annotations

import json
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

# The batch roles have no s3:ListBucket on these prefixes, so S3 answers 403 (not 404) for a key that does not exist.
MISSING_KEY_CODES = ("NoSuchKey", "404", "NotFound", "AccessDenied")
CONDITION_FAILED_CODES = ("PreconditionFailed", "412", "ConditionalRequestConflict", "NoSuchKey")
# StopModelInvocationJob on a job that already ended (or no longer exists): nothing left to stop.
NOT_STOPPABLE_CODES = ("ValidationException", "ConflictException", "ResourceNotFoundException")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


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


def stop_job(bedrock: BaseClient, job_arn: str) -> bool:
    """Ask Bedrock to stop a batch job; False when the job had already ended, so there was nothing to stop."""
    try:
        bedrock.stop_model_invocation_job(jobIdentifier=job_arn)
    except ClientError as exc:
        if error_code(exc) in NOT_STOPPABLE_CODES:
            return False
        raise
    return True
