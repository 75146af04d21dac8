"""Fixtures' building blocks for the chat/converse function tests: settings, stubbed clients, emulator-backed apps."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.response import StreamingBody
from botocore.stub import Stubber
from gateway.aws import client as aws_client
from gateway.observability import logger
from gateway.response_store import ATTRIBUTE_DEFINITIONS, KEY_SCHEMA
from gateway.settings import Settings
from gptoss.guardrail import GuardrailConfig
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B
from starlette.applications import Starlette
from starlette.testclient import TestClient

GUARDRAIL = GuardrailConfig(identifier="gr-test123", version="3", trace=True)
SETTINGS = Settings(enabled_models=(GPT_OSS_20B, GPT_OSS_120B), guardrail=GUARDRAIL)
ONLY_20B = Settings(enabled_models=(GPT_OSS_20B,))
HELLO = {"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "Hello"}]}

# (Bedrock error code, Bedrock HTTP status, message) → (gateway status, OpenAI type, OpenAI code)
ERROR_CASES: list[tuple[str, int, str, int, str, str | None]] = [
    ("ThrottlingException", 429, "Too many requests", 429, "rate_limit_error", "rate_limit_exceeded"),
    ("ServiceQuotaExceededException", 400, "Quota hit", 429, "insufficient_quota", "insufficient_quota"),
    ("ValidationException", 400, "Input is too long for requested model.", 400, "invalid_request_error",
     "context_length_exceeded"),
    ("ValidationException", 400, "Malformed input request", 400, "invalid_request_error", None),
    ("AccessDeniedException", 403, "not authorized to invoke", 403, "permission_error", None),
    ("ResourceNotFoundException", 404, "model not found", 404, "invalid_request_error", "model_not_found"),
    ("ModelTimeoutException", 408, "timed out", 504, "api_error", None),
    ("ServiceUnavailableException", 503, "unavailable", 503, "api_error", None),
    ("ModelNotReadyException", 429, "not ready", 503, "api_error", None),
    ("ModelErrorException", 424, "model failed", 502, "api_error", None),
    ("InternalServerException", 500, "oops", 500, "api_error", None),
]  # fmt: skip


# A loopback port nothing listens on: a client pointed here fails fast instead of calling Bedrock.
UNREACHABLE_ENDPOINT = "http://127.0.0.1:9"


def bedrock_client(function: str, endpoint_url: str | None = None) -> BaseClient:
    """A bedrock-runtime client as the function builds it (same config and user agent), for Stubber tests, or
    pointed at UNREACHABLE_ENDPOINT for tests asserting that no call is made."""
    return aws_client("bedrock-runtime", function=function, max_attempts=2, endpoint_url=endpoint_url)


@contextmanager
def stubbed(
    create_app: Callable[..., Starlette], function: str, settings: Settings = SETTINGS
) -> Iterator[tuple[TestClient, Stubber]]:
    """The app wired to a Stubber-ed client; on exit, every queued Bedrock response must have been used."""
    client = bedrock_client(function)
    with Stubber(client) as stubber, TestClient(create_app(settings=settings, bedrock=client)) as http:
        yield http, stubber
        stubber.assert_no_pending_responses()


def invoke_body(payload: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def bedrock_completion(content: str, *, finish_reason: str = "stop", **extra: Any) -> dict[str, Any]:
    """An InvokeModel response body as gpt-oss on Bedrock writes it."""
    return {
        "id": "chatcmpl-bedrock",
        "object": "chat.completion",
        "created": 1754400000,
        "model": GPT_OSS_20B,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16},
        **extra,
    }


def invoke_response(payload: dict[str, Any]) -> dict[str, Any]:
    """A stubbed InvokeModel response carrying `payload` as its body."""
    return {"body": invoke_body(payload), "contentType": "application/json"}


def converse_reply(text: str = "Hi there", *, reasoning: str = "The user greets me.", **extra: Any) -> dict[str, Any]:
    """A Converse response as gpt-oss on Bedrock answers: a reasoning block, then the text."""
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"reasoningContent": {"reasoningText": {"text": reasoning}}}, {"text": text}],
            }
        },
        "stopReason": "end_turn",
        "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19},
        "metrics": {"latencyMs": 42},
        **extra,
    }


@contextmanager
def request_logs() -> Iterator[list[dict[str, Any]]]:
    """The gateway's structured log lines (JSON-decoded) written while inside the block."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    lines: list[dict[str, Any]] = []
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


@contextmanager
def capture_params(client: BaseClient, operation: str) -> Iterator[list[dict[str, Any]]]:
    """Every parameter dict the app passes to `operation` (InvokeModel bodies are bytes, so pin them here)."""
    seen: list[dict[str, Any]] = []
    event = f"before-parameter-build.bedrock-runtime.{operation}"

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    client.meta.events.register(event, record)
    try:
        yield seen
    finally:
        client.meta.events.unregister(event, record)


# Set for module/session-scoped servers, which start before the suite's per-test fake-credential fixture runs.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def fake_credentials() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield


RESPONSES_TABLE = "gptoss-responses-test"


def create_responses_table(table: str = RESPONSES_TABLE) -> None:
    """The Responses table as the stack deploys it (same key schema), in the active moto mock."""
    boto3.client("dynamodb").create_table(
        TableName=table,
        KeySchema=list(KEY_SCHEMA),
        AttributeDefinitions=list(ATTRIBUTE_DEFINITIONS),
        BillingMode="PAY_PER_REQUEST",
    )
