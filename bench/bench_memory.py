"""Which memory size for the API functions: the chat function as `cdk synth` packages it (local.lambda_package), run
under the CPU share Lambda gives each memory size (memory / 1,769 MB of one vCPU, as a cgroup v1 CPU quota), against
the Bedrock emulator (uncapped, answering at once, so only the gateway's own cost shows).

Per memory size it prints:
- cold start: process start to the first chat answer (the Web Adapter's readiness check on /healthz, then one call),
  median of several starts;
- added latency: p50 of warm non-streaming calls through the function minus p50 of the same call made directly with
  boto3 (uncapped), the two interleaved call by call;
- relay capacity: output tokens per second the capped function streams (first to last byte of the answer) when
  Bedrock sends as fast as it can;
- cost share: the function's billed compute for a streamed 1,000-token answer (the model's writing time at
  MODEL_TOKENS_PER_SECOND, plus the added latency; a function is billed while it relays the stream) as a share of
  that answer's output-token price. Input tokens are left out, so the share is an upper bound.

Prices (USD, us-east-1, on demand; see bench/README.md for sources): Lambda arm64 $0.0000133334 per GB-s and $0.20
per million requests; gpt-oss-120b $0.60 and gpt-oss-20b $0.30 per million output tokens.
The recommendation is the cheapest size whose cost share for gpt-oss-120b is at most TARGET_SHARE with a cold start
of at most TARGET_COLD_START_S; if no size meets both, the largest size within the cost target (the fastest cold
start the cost target allows): every answer pays the compute, only an environment's first request the cold start.
Needs root and cgroup v1's cpu controller; skipped with a notice otherwise.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MEMORY_SIZES_MB = (128, 256, 384, 512, 768, 1024)
FULL_VCPU_MB = 1769
CFS_PERIOD_US = 100_000
CGROUP_CPU = Path("/sys/fs/cgroup/cpu")
COLD_STARTS = int(os.environ.get("BENCH_MEMORY_COLD_STARTS", "5"))
WARM_CALLS = int(os.environ.get("BENCH_MEMORY_WARM_CALLS", "30"))
STREAMS = 5

LAMBDA_GB_SECOND_USD = 0.0000133334  # arm64, first pricing tier
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
OUTPUT_TOKEN_USD = {"gpt-oss-120b": 0.60 / 1_000_000, "gpt-oss-20b": 0.30 / 1_000_000}
ANSWER_TOKENS = 1_000
# The model's writing pace for the billed-duration estimate: a 1,000-token answer in 10 s.
MODEL_TOKENS_PER_SECOND = 100
TARGET_SHARE = 0.10
TARGET_COLD_START_S = 1.0

ROOT = Path(__file__).resolve().parents[1]
CHAT = {"model": "gpt-oss-120b", "messages": [{"role": "user", "content": "Why is the sky blue?"}]}


def main() -> None:
    problem = _cgroup_problem()
    if problem:
        print(f"NOTICE: bench memory SKIPPED: {problem}")
        return
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from local.emulator.server import EmulatorServer
    from local.lambda_package import lambda_environment

    with (
        tempfile.TemporaryDirectory(prefix="gptoss-bench-memory-") as workdir,
        EmulatorServer(port=0, chunk_delay=0.0) as emulator,
    ):
        function = _package(Path(workdir))
        environment = lambda_environment(emulator.url)
        direct = _direct_boto3_call(emulator.url)
        rows = [_measure(function, environment, memory, direct) for memory in MEMORY_SIZES_MB]
    _print_table(rows)


def _measure(
    function: Any, environment: dict[str, str], memory_mb: int, direct: Callable[[], None]
) -> dict[str, float]:
    share = memory_mb / FULL_VCPU_MB
    with _cpu_cgroup(memory_mb, share) as cgroup:
        cold = [_cold_start_s(function, environment, cgroup) for _ in range(COLD_STARTS)]
        with function.running(_free_port(), environment, cgroup=cgroup, deadline=60) as process:
            through_ms, direct_ms = _interleaved_p50_ms(lambda: _chat(process.port), direct)
            relay = _relay_tokens_per_second(process.port)
    added_s = max(through_ms - direct_ms, 0.0) / 1000
    billed_s = ANSWER_TOKENS / min(MODEL_TOKENS_PER_SECOND, relay) + added_s
    compute_usd = memory_mb / 1024 * billed_s * LAMBDA_GB_SECOND_USD + LAMBDA_REQUEST_USD
    row = {
        "memory_mb": memory_mb,
        "cpu_share": share,
        "cold_start_s": statistics.median(cold),
        "added_ms": added_s * 1000,
        "relay_tps": relay,
        "billed_s": billed_s,
    }
    for model, price in OUTPUT_TOKEN_USD.items():
        row[f"share_{model}"] = compute_usd / (ANSWER_TOKENS * price)
    print(json.dumps({key: round(value, 4) for key, value in row.items()}), flush=True)
    return row


def _cold_start_s(function: Any, environment: dict[str, str], cgroup: Path) -> float:
    """Process start (the adapter running run.sh) to the first chat answer received."""
    started = time.perf_counter()
    with function.running(_free_port(), environment, cgroup=cgroup, deadline=60) as process:
        _chat(process.port)
        return time.perf_counter() - started


def _interleaved_p50_ms(*calls: Callable[[], None]) -> list[float]:
    """p50 in ms of each call, the calls alternating so that machine load hits them alike (after a warm-up)."""
    for _ in range(5):
        for call in calls:
            call()
    timings: list[list[float]] = [[] for _ in calls]
    for _ in range(WARM_CALLS):
        for call, taken in zip(calls, timings, strict=True):
            started = time.perf_counter()
            call()
            taken.append((time.perf_counter() - started) * 1000)
    return [statistics.median(taken) for taken in timings]


def _relay_tokens_per_second(port: int) -> float:
    """Output tokens per second of wall time for streamed answers Bedrock sends without pause (median)."""
    rates = []
    for _ in range(STREAMS):
        tokens, seconds = _stream_tokens(port)
        rates.append(tokens / seconds)
    return statistics.median(rates)


def _chat(port: int) -> None:
    status, body = _post(port, CHAT)
    if status != 200:
        raise RuntimeError(f"chat call answered {status}: {body[:500]!r}")


def _stream_tokens(port: int) -> tuple[int, float]:
    """(output tokens, seconds from the answer's first to its last byte) of one streamed answer."""
    import http.client

    request = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/v1/chat/completions", json.dumps(request), {"Content-Type": "application/json"})
        response = connection.getresponse()
        first = response.read1(65536)
        started = time.perf_counter()
        body = first + response.read()
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"streamed chat call answered {response.status}: {body[:500]!r}")
    for line in body.decode().splitlines():
        if line.startswith("data: {"):
            usage = json.loads(line.removeprefix("data: ")).get("usage")
            if usage:
                return int(usage["completion_tokens"]), seconds
    raise RuntimeError("the stream carried no usage")


def _post(port: int, payload: dict[str, Any]) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body = json.dumps(payload)
        connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _direct_boto3_call(endpoint: str) -> Callable[[], None]:
    """The same InvokeModel call made directly with boto3 (the baseline)."""
    import boto3

    client = boto3.client(
        "bedrock-runtime",
        region_name="us-west-2",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    body = json.dumps({"messages": CHAT["messages"]})

    def call() -> None:
        client.invoke_model(modelId="openai.gpt-oss-120b-1:0", body=body)["body"].read()

    return call


def _package(workdir: Path) -> Any:
    """The chat function as cdk synth packages it (assets from a fresh synthesis, dependencies for this machine)."""
    import aws_cdk as cdk

    from app import build_app
    from local.lambda_package import package_api_function

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["aws:cdk:bundling-stacks"] = []  # the dependency layer is built for this machine by the packager
    app = cdk.App(context=context, outdir=str(workdir / "cdk.out"))
    stack = build_app(app)
    return package_api_function(stack, Path(app.synth().directory), "chat", workdir / "package")


def _cgroup_problem() -> str | None:
    if sys.platform != "linux":
        return "cgroup CPU quotas need Linux"
    if os.geteuid() != 0:
        return "setting a cgroup CPU quota needs root"
    if not (CGROUP_CPU / "cpu.cfs_quota_us").exists():
        return f"no cgroup v1 cpu controller at {CGROUP_CPU}"
    return None


@contextmanager
def _cpu_cgroup(memory_mb: int, share: float) -> Any:
    """A cgroup v1 CPU group limited to `share` of one CPU (CFS quota per 100 ms period), removed afterwards."""
    group = CGROUP_CPU / f"gptoss-bench-{os.getpid()}-{memory_mb}mb"
    group.mkdir()
    try:
        (group / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(int(CFS_PERIOD_US * share)))
        yield group
    finally:
        for _ in range(50):  # the group can be removed once its processes have exited
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def _free_port() -> int:
    from bench.servers import free_port

    return free_port()


def _print_table(rows: list[dict[str, float]]) -> None:
    print()
    print(
        f"model pace {MODEL_TOKENS_PER_SECOND} tokens/s; answer {ANSWER_TOKENS} output tokens; input tokens not priced"
    )
    print(
        "| memory | CPU share | cold start to first answer | added latency p50 | relay capacity | billed per answer "
        "| compute / token cost, 120b | 20b |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['memory_mb']} MB | {row['cpu_share']:.2f} vCPU | {row['cold_start_s']:.2f} s "
            f"| +{row['added_ms']:.1f} ms | {row['relay_tps']:,.0f} tokens/s | {row['billed_s']:.2f} s "
            f"| {row['share_gpt-oss-120b']:.1%} | {row['share_gpt-oss-20b']:.1%} |"
        )
    fitting = [
        row for row in rows if row["share_gpt-oss-120b"] <= TARGET_SHARE and row["cold_start_s"] <= TARGET_COLD_START_S
    ]
    if fitting:
        best = min(fitting, key=lambda row: row["share_gpt-oss-120b"])
        print(
            f"recommended: {best['memory_mb']} MB (cheapest with compute <= {TARGET_SHARE:.0%} of gpt-oss-120b's "
            f"token cost and cold start <= {TARGET_COLD_START_S:.0f} s)"
        )
    else:
        within_cost = [row for row in rows if row["share_gpt-oss-120b"] <= TARGET_SHARE]
        print(
            f"no size meets both targets (compute <= {TARGET_SHARE:.0%} of gpt-oss-120b's token cost, "
            f"cold start <= {TARGET_COLD_START_S:.0f} s)"
        )
        if within_cost:
            best = max(within_cost, key=lambda row: row["memory_mb"])
            print(
                f"recommended: {best['memory_mb']} MB (the largest size within the cost target; cold start "
                f"{best['cold_start_s']:.2f} s there)"
            )
