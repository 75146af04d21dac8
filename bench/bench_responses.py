"""What the Responses API adds on top of chat completions: the chat app (uvicorn, own process) in front of the
Bedrock emulator (chunk_delay 0, own process), `POST /v1/responses` versus `POST /v1/chat/completions` for the same
prompt, alternating request by request on one keep-alive connection each.

Rows: `store: false` (translation only), `store: true` (plus one DynamoDB PutItem, here moto's DynamoDB server in
this process over loopback, so only a lower bound for a real table's few milliseconds), and the first streamed
event (`response.created`) versus the first chat chunk. Loopback only, bounded loops.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import ExitStack
from functools import partial

from bench.bench_latency import (
    CHAT_REQUEST,
    MODEL,
    PROMPT,
    REQUESTS,
    WARMUP,
    KeepAlive,
    _first,
    _full,
    _measure,
    _report,
    _serve,
    bench_environment,
)
from bench.servers import UVICORN, free_port
from local.response_table import DEFAULT_TABLE, LocalResponseTable

RESPONSES_REQUEST = {"model": MODEL, "input": PROMPT}


def main() -> None:
    env = {**bench_environment(), "POWERTOOLS_METRICS_DISABLED": "true", "RESPONSES_TABLE": DEFAULT_TABLE}
    emulator_port, chat_port = free_port(), free_port()
    with ExitStack() as stack:
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        table = stack.enter_context(LocalResponseTable(DEFAULT_TABLE))
        stack.enter_context(
            _serve(["-m", "local.emulator", "--port", str(emulator_port), "--chunk-delay", "0"], emulator_port, env)
        )
        app_env = {
            **env,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{emulator_port}",
            "AWS_ENDPOINT_URL_DYNAMODB": table.url,
        }
        log = stack.enter_context(tempfile.NamedTemporaryFile(prefix="bench-responses-", suffix=".log"))
        stack.enter_context(_serve([*UVICORN, "--port", str(chat_port), "chat_api:app"], chat_port, app_env, log))
        # The request context the Lambda Web Adapter hands the app: it names the caller's API key (the owner).
        context = json.dumps({"identity": {"apiKeyId": "bench-key"}})
        chat, responses = KeepAlive(chat_port), KeepAlive(chat_port, {"x-amzn-request-context": context})
        stack.callback(chat.close)
        stack.callback(responses.close)
        chat_body = json.dumps(CHAT_REQUEST).encode()
        chat_stream = json.dumps({**CHAT_REQUEST, "stream": True}).encode()

        def body(**extra: object) -> bytes:
            return json.dumps({**RESPONSES_REQUEST, **extra}).encode()

        print(
            f"{REQUESTS} requests per side and figure after {WARMUP} warm-up, alternating; baseline ('direct' below) ="
            " POST /v1/chat/completions on the same app; emulator chunk_delay 0; loopback"
        )
        baseline = _full(partial(chat.post, "/v1/chat/completions", chat_body))
        for label, request in (("store false", body(store=False)), ("store true (moto DynamoDB)", body())):
            direct_ms, gateway_ms = _measure(baseline, _full(partial(responses.post, "/v1/responses", request)))
            _report(f"Responses {label}, full", direct_ms, gateway_ms, [])
        first_chat = _first(partial(chat.stream, "/v1/chat/completions", chat_stream))
        first_event = _first(partial(responses.stream, "/v1/responses", body(store=False, stream=True)))
        direct_ms, gateway_ms = _measure(first_chat, first_event)
        _report("Responses stream, first event", direct_ms, gateway_ms, [])


if __name__ == "__main__":
    main()
