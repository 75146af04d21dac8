"""Where a batch run's objects live in the bucket: the one definition that the batch functions and the CLI share.

input/[<model>/]<name>.jsonl          uploaded by the data team; <model> is an alias or Bedrock id, else the default
batch-input/<name>/<hash>/<file>      the validated version of the upload, copied there for Bedrock to read (an
                                      overwrite of input/ after validation never reaches the job)
batch-output/<name>/<hash>/<jobId>/   written by Bedrock (the `.jsonl.out` and `manifest.json.out`)
results/<name>/summary.json, succeeded.jsonl, failed.jsonl
errors/<name>.json                    invalid input, failed/stopped/expired job, or a pipeline error
status/<name>.json                    the run's current state (read by GET /v1/batches)
status/claims/<hash>.json             idempotency claim: one per bucket/key/etag, created with If-None-Match
status/cancel/<name>.json             cancellation asked for through POST /v1/batches/{id}/cancel

The OpenAI Files and Batches API keeps each owner's objects under that owner's prefix (an owner is an API key):
api/<owner>/files/<file_id>.jsonl     a file's content (uploaded input, or a batch's output or error file)
api/<owner>/files/<file_id>.json      its OpenAI file object
api/<owner>/batches/<batch_id>.json   what POST /v1/batches asked for; the run itself is named <batch_id>
"""

from __future__ import annotations

INPUT_PREFIX = "input/"
STAGING_PREFIX = "batch-input/"
OUTPUT_PREFIX = "batch-output/"
RESULTS_PREFIX = "results/"
ERRORS_PREFIX = "errors/"
STATUS_PREFIX = "status/"
CLAIMS_PREFIX = "status/claims/"
CANCEL_PREFIX = "status/cancel/"
API_PREFIX = "api/"


def input_key(model_id: str, name: str) -> str:
    """The upload key for a run of `name` on a model, under the model's short alias (`input/gpt-oss-120b/x.jsonl`)."""
    return f"{INPUT_PREFIX}{model_id.removeprefix('openai.').removesuffix('-1:0')}/{name}.jsonl"


def results_keys(name: str) -> dict[str, str]:
    base = f"{RESULTS_PREFIX}{name}/"
    return {"summary": f"{base}summary.json", "succeeded": f"{base}succeeded.jsonl", "failed": f"{base}failed.jsonl"}


def errors_key(name: str) -> str:
    return f"{ERRORS_PREFIX}{name}.json"


def status_key(name: str) -> str:
    return f"{STATUS_PREFIX}{name}.json"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def cancel_key(name: str) -> str:
    return f"{CANCEL_PREFIX}{name}.json"


def owner_prefix(owner: str) -> str:
    return f"{API_PREFIX}{owner}/"


def file_keys(owner: str, file_id: str) -> tuple[str, str]:
    """(content, file object) keys of an owner's file."""
    base = f"{owner_prefix(owner)}files/{file_id}"
    return f"{base}.jsonl", f"{base}.json"


def files_prefix(owner: str) -> str:
    return f"{owner_prefix(owner)}files/"


def batch_request_key(owner: str, batch_id: str) -> str:
    return f"{batches_prefix(owner)}{batch_id}.json"


def batches_prefix(owner: str) -> str:
    return f"{owner_prefix(owner)}batches/"
