"""Batch records: run each `{recordId, modelInput}` line through the emulated model, and the S3 side of a job."""

import json
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from local.emulator import converse, invoke
from local.emulator.errors import BedrockError
from local.emulator.faults import fault_error, is_midstream, parse_directives
from local.emulator.generator import generate

EMULATOR_USER_AGENT = "gptoss-emulator"
_JOB_DIRECTIVE = re.compile(r"\[job:(?P<status>[A-Za-z]+)(?::(?P<fraction>[0-9.]+))?\]")


@dataclass
class InputFile:
    """One input object: its S3 location and raw JSONL lines (blank lines dropped)."""

    bucket: str
    key: str
    lines: list[str]

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass
class BatchTotals:
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    outputs: dict[str, list[dict]] = field(default_factory=dict)

    def manifest(self, total: int) -> dict:
        return {
            "totalRecordCount": total,
            "processedRecordCount": self.processed,
            "successRecordCount": self.succeeded,
            "errorRecordCount": self.failed,
            "inputTokenCount": self.input_tokens,
            "outputTokenCount": self.output_tokens,
        }


def s3_client(region: str) -> BaseClient:
    """The emulator's own S3 client (its user agent keeps it out of the IAM call record); a fresh one per use so a
    moto mock active at call time applies. Honours AWS_ENDPOINT_URL_S3."""
    config = Config(user_agent_extra=EMULATOR_USER_AGENT)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or None
    return boto3.client("s3", region_name=region, config=config, endpoint_url=endpoint)


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def read_inputs(uri: str, region: str) -> list[InputFile]:
    """The object at `uri`, or every `.jsonl` object under it when it is a prefix."""
    client = s3_client(region)
    bucket, key = split_s3_uri(uri)
    if key.endswith(".jsonl"):
        keys = [key]
    else:
        prefix = key if not key or key.endswith("/") else key + "/"
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = sorted(o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".jsonl"))
    files = []
    for name in keys:
        text = client.get_object(Bucket=bucket, Key=name)["Body"].read().decode("utf-8")
        files.append(InputFile(bucket, name, [line for line in text.splitlines() if line.strip()]))
    return files


def job_directive(files: list[InputFile]) -> tuple[str, float | None] | None:
    """`[job:Failed]` or `[job:PartiallyCompleted:0.25]` in the first record tells the job how to end."""
    first = next((f.lines[0] for f in files if f.lines), "")
    match = _JOB_DIRECTIVE.search(first)
    if not match:
        return None
    fraction = match.group("fraction")
    return match.group("status"), float(fraction) if fraction else None


def _model_output(model_input: object, model_id: str, invocation_type: str) -> tuple[dict, int, int]:
    raw = json.dumps(model_input).encode("utf-8")
    if invocation_type == "Converse":
        body = converse.parse_body(raw)
        prompt, text = converse.to_prompt(body, model_id), converse.last_user_text(body)
    else:
        body = invoke.parse_body(raw, model_id, stream=False)
        prompt, text = invoke.to_prompt(body, model_id), invoke.last_user_text(body)
    fault = parse_directives(text).fault
    if fault and not is_midstream(fault):
        raise fault_error(fault)
    generation = generate(prompt)
    if invocation_type == "Converse":
        output = converse.response(generation, None, 1)
    else:
        output = invoke.completion(generation, model_id, None)
    return output, generation.input_tokens, generation.output_tokens


def process_line(line: str, position: int, model_id: str, invocation_type: str, totals: BatchTotals) -> dict:
    """The output line for one input line; counts it in `totals`."""
    totals.processed += 1
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        totals.failed += 1
        return {"recordId": f"{position:011d}", "error": {"errorCode": 400, "errorMessage": "Malformed JSON record."}}
    record_id = str(record.get("recordId") or f"{position:011d}")
    model_input = record.get("modelInput")
    out: dict = {"recordId": record_id, "modelInput": model_input}
    try:
        output, input_tokens, output_tokens = _model_output(model_input, model_id, invocation_type)
    except BedrockError as error:
        totals.failed += 1
        out["error"] = {"errorCode": error.status, "errorMessage": error.message}
        return out
    totals.succeeded += 1
    totals.input_tokens += input_tokens
    totals.output_tokens += output_tokens
    out["modelOutput"] = output
    return out


def run_records(files: list[InputFile], limit: int, model_id: str, invocation_type: str) -> BatchTotals:
    """Process the first `limit` records across the files, in input order."""
    totals = BatchTotals()
    position = 0
    for input_file in files:
        lines = totals.outputs.setdefault(input_file.name, [])
        for line in input_file.lines:
            if position >= limit:
                return totals
            lines.append(process_line(line, position, model_id, invocation_type, totals))
            position += 1
    return totals


def write_outputs(output_uri: str, job_id: str, totals: BatchTotals, total: int, region: str) -> None:
    """`<output>/<jobId>/<input file>.out` per input file, and `manifest.json.out`."""
    client = s3_client(region)
    bucket, prefix = split_s3_uri(output_uri)
    base = f"{prefix.rstrip('/')}/{job_id}/" if prefix.strip("/") else f"{job_id}/"
    for name, lines in totals.outputs.items():
        body = "".join(json.dumps(line) + "\n" for line in lines)
        client.put_object(Bucket=bucket, Key=f"{base}{name}.out", Body=body.encode("utf-8"))
    manifest = json.dumps(totals.manifest(total)).encode("utf-8")
    client.put_object(Bucket=bucket, Key=f"{base}manifest.json.out", Body=manifest)
