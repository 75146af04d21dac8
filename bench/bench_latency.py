"""The gateway's added latency and memory: each API app under uvicorn (its own process, as in Lambda) in front of
the Bedrock emulator (chunk_delay 0, own process) versus the same call made directly with boto3 to that emulator.

Figures: p50/p99 of full non-streaming requests and of time to first chunk when streaming, the ratio gateway/direct
and the absolute added milliseconds. The two sides alternate request by request (same warm-up for each), so machine
noise hits both alike; the gateway side uses a keep-alive `http.client` connection, the leanest client there is.
Each row also splits the gateway's figure using its own per-request log line (`latency_ms`, `first_chunk_ms`):
`in app` is handler time up to the answer's last byte written (boto3 → emulator inside the gateway plus
translation), `hop` the rest (client, HTTP parsing, uvicorn and Starlette dispatch). Then each app's resident
memory after warm-up. Loopback only, bounded loops.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import IO

import boto3
from botocore.config import Config

from bench.servers import UVICORN, free_port, healthy

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


@contextmanager
def _serve(args: list[str], port: int, env: dict[str, str], stdout: IO[bytes] | None = None) -> Iterator[int]:
    """A server subprocess on 127.0.0.1:port, ready (GET /healthz) when entered; yields its pid."""
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=stdout or subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(args)} did not start")
            time.sleep(0.05)
        yield process.pid
    finally:
        process.terminate()
        process.wait(10)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class KeepAlive:
    """One persistent HTTP/1.1 connection to a gateway app: POST a JSON body, read all or up to the first chunk."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._headers = {"content-type": "application/json", "authorization": "Bearer bench", **(headers or {})}

    def post(self, path: str, body: bytes) -> None:
        self._connection.request("POST", path, body, self._headers)
        response = self._connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: HTTP {response.status}")

    def stream(self, path: str, body: bytes) -> Iterator[bytes]:
        """The SSE `data: {...}` lines of a streamed answer, read as they arrive."""
        self._connection.request("POST", path, body, self._headers)
        response = self._connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: HTTP {response.status}")
        for line in iter(response.readline, b""):
            if line.startswith(b"data: {"):
                yield line

    def close(self) -> None:
        self._connection.close()


class ServerLog:
    """The per-request figures a gateway app logs (`request completed` lines), read incrementally from its stdout."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._offset = 0

    def take(self, key: str) -> list[float]:
        """`key` of every request logged since the last call."""
        self._file.flush()
        with Path(self._file.name).open("rb") as reader:
            reader.seek(self._offset)
            data = reader.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        values: list[float] = []
        for line in complete.splitlines():
            if b'"request completed"' in line:
                value = json.loads(line).get(key)
                if isinstance(value, int | float):
                    values.append(float(value))
        return values


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


def _measure(direct: Callable[[], float], gateway: Callable[[], float]) -> tuple[list[float], list[float]]:
    """Samples of `direct` and `gateway` alternating request by request, after the same warm-up of each."""
    for _ in range(WARMUP):
        direct()
        gateway()
    samples: tuple[list[float], list[float]] = ([], [])
    for index in range(REQUESTS):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for side in order:
            samples[side].append((direct, gateway)[side]())
    return samples


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _report(label: str, direct_ms: list[float], gateway_ms: list[float], in_app_ms: list[float]) -> None:
    d50, d99 = _p50_p99(direct_ms)
    g50, g99 = _p50_p99(gateway_ms)
    split = ""
    if in_app_ms:
        a50 = statistics.median(in_app_ms)
        split = f" | in app p50 {a50:5.2f} (+{a50 - d50:4.2f} over direct), hop {g50 - a50:4.2f} ms"
    print(
        f"{label:<32} direct p50 {d50:6.2f} p99 {d99:6.2f} ms | gateway p50 {g50:6.2f} p99 {g99:6.2f} ms"
        f" | ratio p50 {g50 / d50:4.2f}x p99 {g99 / d99:4.2f}x | added p50 {g50 - d50:+5.2f} p99 {g99 - d99:+5.2f} ms"
        f"{split}",
        flush=True,
    )


def _figure(label: str, direct: Callable[[], float], gateway: Callable[[], float], log: ServerLog, key: str) -> None:
    """Measure and print one row; `key` is the app's log field that splits the gateway's time."""
    log.take(key)
    direct_ms, gateway_ms = _measure(direct, gateway)
    time.sleep(0.2)  # let the app's last log lines reach its log file before reading them
    _report(label, direct_ms, gateway_ms, log.take(key)[-REQUESTS:])


def bench_environment() -> dict[str, str]:
    """The environment of the emulator and app processes: fake credentials, the bench model, the repo's paths."""
    return {
        **os.environ,
        "PYTHONPATH": PYTHONPATH,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "ENABLED_MODELS": MODEL,
        "POWERTOOLS_METRICS_NAMESPACE": "GptOssBench",
    }


def main() -> None:
    env = bench_environment()
    emulator_port, chat_port, converse_port = free_port(), free_port(), free_port()
    with ExitStack() as stack:
        stack.enter_context(
            _serve(["-m", "local.emulator", "--port", str(emulator_port), "--chunk-delay", "0"], emulator_port, env)
        )
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        app_env = {**env, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator_url}
        chat_out = stack.enter_context(tempfile.NamedTemporaryFile(prefix="bench-chat-", suffix=".log"))
        converse_out = stack.enter_context(tempfile.NamedTemporaryFile(prefix="bench-converse-", suffix=".log"))
        chat_pid = stack.enter_context(
            _serve([*UVICORN, "--port", str(chat_port), "chat_api:app"], chat_port, app_env, chat_out)
        )
        converse_pid = stack.enter_context(
            _serve([*UVICORN, "--port", str(converse_port), "converse_api:app"], converse_port, app_env, converse_out)
        )
        chat_log, converse_log = ServerLog(chat_out), ServerLog(converse_out)
        config = Config(retries={"mode": "standard", "total_max_attempts": 1})
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
        )
        bedrock = session.client("bedrock-runtime", endpoint_url=emulator_url, config=config)
        chat, converse = KeepAlive(chat_port), KeepAlive(converse_port)
        stack.callback(chat.close)
        stack.callback(converse.close)
        invoke_body = json.dumps({**CHAT_REQUEST, "stream": False}).encode()
        stream_body = json.dumps({**CHAT_REQUEST, "stream": True}).encode()

        def direct_invoke() -> None:
            bedrock.invoke_model(modelId=MODEL, body=invoke_body, contentType="application/json")["body"].read()

        def direct_invoke_stream() -> Iterator[object]:
            return iter(bedrock.invoke_model_with_response_stream(modelId=MODEL, body=stream_body)["body"])

        def direct_converse() -> None:
            bedrock.converse(**CONVERSE_KWARGS)

        def direct_converse_stream() -> Iterator[object]:
            return iter(bedrock.converse_stream(**CONVERSE_KWARGS)["stream"])

        print(
            f"{REQUESTS} requests per side and figure after {WARMUP} warm-up, alternating; emulator chunk_delay 0;"
            " loopback"
        )
        chat_route = (chat, "/v1/chat/completions", chat_log)
        converse_route = (converse, "/converse/v1/chat/completions", converse_log)
        for name, stream_name, direct, open_direct, (app, path, log) in [
            ("InvokeModel", "InvokeModel stream", direct_invoke, direct_invoke_stream, chat_route),
            ("Converse", "ConverseStream", direct_converse, direct_converse_stream, converse_route),
        ]:
            gateway, open_gateway = partial(app.post, path, invoke_body), partial(app.stream, path, stream_body)
            _figure(f"{name}, full response", _full(direct), _full(gateway), log, "latency_ms")
            _figure(f"{stream_name}, first chunk", _first(open_direct), _first(open_gateway), log, "first_chunk_ms")
        print(f"RSS after warm-up: chat app {_rss_mb(chat_pid):.1f} MB, converse app {_rss_mb(converse_pid):.1f} MB")


if __name__ == "__main__":
    main()
