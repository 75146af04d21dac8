"""The gateway's added latency and memory: each API app under uvicorn (its own process, as in Lambda) in front of
the Bedrock emulator (chunk_delay 0, own process) versus the same call made directly with boto3 to that emulator.

Figures: p50/p99 of full non-streaming requests and of time to first chunk when streaming, the ratio gateway/direct
and the absolute added milliseconds; then each app's resident memory after warm-up. Loopback only, bounded loops.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import boto3
import httpx
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "500"))
WARMUP = 50
MODEL = "openai.gpt-oss-20b-1:0"
PROMPT = "Say hello in one short sentence."
CHAT_REQUEST = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
CONVERSE_KWARGS = {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": PROMPT}]}]}
PYTHONPATH = os.pathsep.join(
    str(ROOT / part) for part in (".", "lambdas/shared/python", "lambdas/chat", "lambdas/converse")
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _serve(args: list[str], port: int, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """A server subprocess on 127.0.0.1:port, ready (GET /healthz) when entered; yields (url, pid)."""
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(args)} did not start")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(10)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _full(call: Callable[[], object]) -> Callable[[], float]:
    """Milliseconds for a whole call."""

    def timed() -> float:
        started = time.perf_counter()
        call()
        return (time.perf_counter() - started) * 1000

    return timed


def _first(open_stream: Callable[[], Iterator[object]]) -> Callable[[], float]:
    """Milliseconds to the first item of a stream; the rest is drained untimed so connections are reused."""

    def timed() -> float:
        started = time.perf_counter()
        items = open_stream()
        next(items)
        elapsed = (time.perf_counter() - started) * 1000
        for _ in items:
            pass
        return elapsed

    return timed


def _sse_chunks(http: httpx.Client, path: str) -> Callable[[], Iterator[str]]:
    def chunks() -> Iterator[str]:
        with http.stream("POST", path, json={**CHAT_REQUEST, "stream": True}) as response:
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    yield line

    return chunks


def _measure(direct: Callable[[], float], gateway: Callable[[], float]) -> tuple[list[float], list[float]]:
    """Interleaved samples of `direct` and `gateway`, after a warm-up of each."""
    for _ in range(WARMUP):
        direct()
        gateway()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(REQUESTS):
        samples[0].append(direct())
        samples[1].append(gateway())
    return samples


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _report(label: str, direct_ms: list[float], gateway_ms: list[float]) -> None:
    d50, d99 = _p50_p99(direct_ms)
    g50, g99 = _p50_p99(gateway_ms)
    print(
        f"{label:<32} direct p50 {d50:6.2f} p99 {d99:6.2f} ms | gateway p50 {g50:6.2f} p99 {g99:6.2f} ms"
        f" | ratio p50 {g50 / d50:4.2f}x p99 {g99 / d99:4.2f}x | added p50 {g50 - d50:+5.2f} p99 {g99 - d99:+5.2f} ms",
        flush=True,
    )


def main() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": PYTHONPATH,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "ENABLED_MODELS": MODEL,
        "POWERTOOLS_METRICS_NAMESPACE": "GptOssBench",
    }
    emulator_port, chat_port, converse_port = _free_port(), _free_port(), _free_port()
    uvicorn = ["-m", "uvicorn", "--host", "127.0.0.1", "--no-access-log", "--log-level", "warning", "--port"]
    with ExitStack() as stack:
        emulator_url, _ = stack.enter_context(
            _serve(["-m", "local.emulator", "--port", str(emulator_port), "--chunk-delay", "0"], emulator_port, env)
        )
        app_env = {**env, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator_url}
        chat_url, chat_pid = stack.enter_context(_serve([*uvicorn, str(chat_port), "chat_api:app"], chat_port, app_env))
        converse_url, converse_pid = stack.enter_context(
            _serve([*uvicorn, str(converse_port), "converse_api:app"], converse_port, app_env)
        )
        config = Config(retries={"mode": "standard", "total_max_attempts": 1})
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
        )
        bedrock = session.client("bedrock-runtime", endpoint_url=emulator_url, config=config)
        chat = stack.enter_context(httpx.Client(base_url=chat_url, timeout=30))
        converse = stack.enter_context(httpx.Client(base_url=converse_url, timeout=30))
        invoke_body = json.dumps({**CHAT_REQUEST, "stream": False}).encode()
        stream_body = json.dumps({**CHAT_REQUEST, "stream": True}).encode()
        chat_path, converse_path = "/v1/chat/completions", "/converse/v1/chat/completions"

        def direct_invoke() -> None:
            bedrock.invoke_model(modelId=MODEL, body=invoke_body, contentType="application/json")["body"].read()

        def direct_invoke_stream() -> Iterator[object]:
            return iter(bedrock.invoke_model_with_response_stream(modelId=MODEL, body=stream_body)["body"])

        def direct_converse_stream() -> Iterator[object]:
            return iter(bedrock.converse_stream(**CONVERSE_KWARGS)["stream"])

        def post(http: httpx.Client, path: str) -> Callable[[], object]:
            return lambda: http.post(path, json=CHAT_REQUEST).raise_for_status()

        def direct_converse() -> None:
            bedrock.converse(**CONVERSE_KWARGS)

        figures = [
            ("InvokeModel, full response", _full(direct_invoke), _full(post(chat, chat_path))),
            ("InvokeModel stream, first chunk", _first(direct_invoke_stream), _first(_sse_chunks(chat, chat_path))),
            ("Converse, full response", _full(direct_converse), _full(post(converse, converse_path))),
            (
                "ConverseStream, first chunk",
                _first(direct_converse_stream),
                _first(_sse_chunks(converse, converse_path)),
            ),
        ]
        print(f"{REQUESTS} requests per figure after {WARMUP} warm-up, interleaved; emulator chunk_delay 0; loopback")
        for label, direct, gateway in figures:
            _report(label, *_measure(direct, gateway))
        print(f"RSS after warm-up: chat app {_rss_mb(chat_pid):.1f} MB, converse app {_rss_mb(converse_pid):.1f} MB")


if __name__ == "__main__":
    main()
