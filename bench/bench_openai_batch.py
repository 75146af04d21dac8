"""The OpenAI Batch API's own costs, each against a baseline measured in the same run:

- validation of a 100,000-line OpenAI batch file (every body through the request contract: its fast path for these
  plain lines), alone and with translation (each valid line turned into its Bedrock record, serialised), vs a bare
  `json.loads`-per-line loop over the same lines: lines/s and ratios;
- on-demand throughput: records/s of the on-demand step's InvokeModel fan-out (BATCH_ON_DEMAND_CONCURRENCY) against
  the emulator answering instantly, vs the same records invoked one by one with boto3 (concurrency 1).
Run: `python -m bench.bench_openai_batch` (or `python -m bench`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for part in ("lambdas/shared/python", "lambdas/batch"):
    if str(ROOT / part) not in sys.path:
        sys.path.insert(0, str(ROOT / part))

from gptoss.batch_records import Limits  # noqa: E402
from gptoss.models import GPT_OSS_120B, KNOWN_MODELS  # noqa: E402
from gptoss.openai_batch import validate_batch_lines  # noqa: E402

LINES = 100_000
ON_DEMAND_RECORDS = 400
CONCURRENCY = 8


def batch_line(index: int) -> bytes:
    body = {
        "model": "gpt-oss-120b",
        "messages": [
            {"role": "developer", "content": "Answer in one sentence."},
            {"role": "user", "content": f"Question {index}: why is the sky blue? " + "context " * 40},
        ],
        "max_completion_tokens": 256,
        "temperature": 0.7,
    }
    return json.dumps(
        {"custom_id": f"task-{index}", "method": "POST", "url": "/v1/chat/completions", "body": body}
    ).encode()


def validation() -> None:
    lines = [batch_line(i) for i in range(LINES)]
    size = sum(len(line) + 1 for line in lines)
    limits = Limits(max_records=LINES, max_file_bytes=size + 1)
    best_base = best_check = best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for line in lines:
            json.loads(line)
        best_base = min(best_base, time.process_time() - started)
        started = time.process_time()
        report = validate_batch_lines(lines, size=size, enabled=KNOWN_MODELS, limits=limits)
        best_check = min(best_check, time.process_time() - started)
        assert report.valid
        out: list[bytes] = []
        started = time.process_time()
        report = validate_batch_lines(lines, size=size, enabled=KNOWN_MODELS, limits=limits, emit=out.append)
        best = min(best, time.process_time() - started)
        assert report.valid and len(out) == LINES
    print(f"validate {LINES:,} lines ({size / 1e6:.0f} MB): {LINES / best_check:,.0f} lines/s ({best_check:.2f} s)")
    print(f"validate+translate:                       {LINES / best:,.0f} lines/s ({best:.2f} s)")
    print(f"baseline json.loads loop:                 {LINES / best_base:,.0f} lines/s ({best_base:.2f} s)")
    print(f"ratio (validate / baseline throughput):   {best_base / best_check:.2f}x")
    print(f"ratio (validate+translate / baseline):    {best_base / best:.2f}x")


def on_demand() -> None:
    import boto3

    from local.emulator.server import EmulatorServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with EmulatorServer(port=0, chunk_delay=0.0) as emulator:
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = emulator.url
        os.environ["BATCH_ON_DEMAND_CONCURRENCY"] = str(CONCURRENCY)
        import batch_on_demand
        from batch_common import BatchSettings

        settings = BatchSettings.from_env()
        records = [
            {"recordId": f"r{i}", "modelInput": {"messages": [{"role": "user", "content": f"Question {i}"}]}}
            for i in range(ON_DEMAND_RECORDS)
        ]
        runtime = boto3.client("bedrock-runtime", endpoint_url=emulator.url)
        started = time.perf_counter()
        for record in records:
            body = json.dumps({**record["modelInput"], "model": GPT_OSS_120B}).encode()
            json.loads(runtime.invoke_model(modelId=GPT_OSS_120B, body=body)["body"].read())
        serial = time.perf_counter() - started
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            outcomes = list(pool.map(lambda r: batch_on_demand._run_record(r, GPT_OSS_120B, settings), records))
        fanned = time.perf_counter() - started
        assert all("modelOutput" in outcome for outcome in outcomes)
    print(f"on demand, concurrency {CONCURRENCY}: {ON_DEMAND_RECORDS / fanned:,.0f} records/s")
    print(f"baseline, one by one with boto3: {ON_DEMAND_RECORDS / serial:,.0f} records/s")
    print(f"ratio: {serial / fanned:.2f}x (the emulator answers instantly: this is the gateway's own overhead)")


def main() -> None:
    validation()
    on_demand()


if __name__ == "__main__":
    main()
