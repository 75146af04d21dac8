"""Cold start of each API function: process start to the first response served by its ASGI app (GET /healthz under
uvicorn, as the Lambda Web Adapter's readiness check sees it), as a ratio to the floor every Python Lambda calling
Bedrock pays: a process that imports boto3 and creates one bedrock-runtime client. Same machine, same run,
interleaved repetitions, medians. Target: ratio <= 1.5.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.servers import UVICORN, free_port, healthy

ROOT = Path(__file__).resolve().parents[1]
REPETITIONS = int(os.environ.get("BENCH_COLDSTART_REPETITIONS", "15"))
TARGET_RATIO = 1.5
DEADLINE_SECONDS = 30.0
APPS = {"chat": ("lambdas/chat", "chat_api:app"), "converse": ("lambdas/converse", "converse_api:app")}
BASELINE = "import boto3; boto3.client('bedrock-runtime', region_name='us-west-2'); print('ready', flush=True)"


def _environment() -> dict[str, str]:
    """What the deployed function gets (see infra), with fake credentials and an endpoint that is never called."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT / "lambdas/shared/python"),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9",
        "ENABLED_MODELS": "openai.gpt-oss-20b-1:0,openai.gpt-oss-120b-1:0",
        "DEFAULT_MODEL": "openai.gpt-oss-120b-1:0",
        "GUARDRAIL_ID": "bench",
        "GUARDRAIL_VERSION": "1",
        "LOG_PROMPTS": "false",
        "POWERTOOLS_SERVICE_NAME": "gptoss-bench",
        "POWERTOOLS_METRICS_NAMESPACE": "GptOssGatewayBench",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "LOG_LEVEL": "WARNING",
    }


def app_cold_start(code_dir: str, app: str) -> float:
    """Seconds from spawning uvicorn to the first 200 from /healthz."""
    port = free_port()
    command = [sys.executable, *UVICORN, "--port", str(port), app]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT / code_dir, env=_environment(), stderr=subprocess.PIPE)
    try:
        while not healthy(port):
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited during start-up: {process.stderr.read().decode()[-2000:]}")
            if time.perf_counter() - started > DEADLINE_SECONDS:
                raise RuntimeError(f"{app} not healthy after {DEADLINE_SECONDS} s")
            time.sleep(0.002)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)


def baseline_cold_start() -> float:
    """Seconds until a process that imports boto3 and creates one bedrock-runtime client says it is ready.

    Like the apps, it is timed to readiness, not to exit (interpreter teardown is not part of a cold start).
    """
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", BASELINE], env=_environment(), stdout=subprocess.PIPE)
    try:
        if process.stdout is None or process.stdout.readline() != b"ready\n":
            raise RuntimeError("the baseline process did not start")
        return time.perf_counter() - started
    finally:
        process.kill()
        process.wait(timeout=10)


def main() -> None:
    samples: dict[str, list[float]] = {"baseline": [], **{name: [] for name in APPS}}
    for _ in range(REPETITIONS):
        samples["baseline"].append(baseline_cold_start())
        for name, (code_dir, app) in APPS.items():
            samples[name].append(app_cold_start(code_dir, app))
    floor = statistics.median(samples["baseline"])
    print(f"cold start, median of {REPETITIONS} (process start -> first /healthz 200)")
    print(f"  {'baseline (import boto3 + bedrock-runtime client)':<50} {floor * 1000:8.0f} ms")
    for name in APPS:
        median = statistics.median(samples[name])
        ratio = median / floor
        verdict = "ok" if ratio <= TARGET_RATIO else f"over target {TARGET_RATIO}x"
        print(f"  {name + ' app':<50} {median * 1000:8.0f} ms  ratio {ratio:.2f}x  ({verdict})")


if __name__ == "__main__":
    main()
