"""Structured logs (Powertools Logger) and EMF metrics (Powertools Metrics), one log line and flush per request."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricResolution, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from gptoss.errors import GatewayError

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "gpt-oss-gateway")
logger = Logger(service=SERVICE)
_metrics = EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "GptOssGateway"), service=SERVICE)

_ID_HEADERS = ("x-amzn-requestid", "x-amzn-request-id", "x-request-id")
# API Gateway API key ids are short alphanumeric strings; anything else is not logged or used as a dimension.
_KEY_ID = re.compile(r"^[A-Za-z0-9]{1,128}$")


def _request_context(headers: Mapping[str, str]) -> dict[str, Any]:
    """API Gateway's requestContext, which the Lambda Web Adapter forwards as JSON in `x-amzn-request-context`.

    It also carries the caller's API key value (`identity.apiKey`): only the fields read below may leave this module.
    """
    raw = headers.get("x-amzn-request-context")
    if not raw:
        return {}
    try:
        context = json.loads(raw)
    except ValueError:
        return {}
    return context if isinstance(context, dict) else {}


def request_id(headers: Mapping[str, str]) -> str:
    """The caller's or API Gateway's request id (via the Lambda Web Adapter), else a new one."""
    for name in _ID_HEADERS:
        value = headers.get(name)
        if value:
            return value[:128]
    value = _request_context(headers).get("requestId")
    if isinstance(value, str) and value:
        return value[:128]
    return uuid.uuid4().hex


def api_key_id(headers: Mapping[str, str]) -> str | None:
    """The id (never the value) of the usage-plan API key API Gateway matched for this request, if any."""
    identity = _request_context(headers).get("identity")
    value = identity.get("apiKeyId") if isinstance(identity, dict) else None
    return value if isinstance(value, str) and _KEY_ID.match(value) else None


@dataclass
class RequestRecord:
    """What one request did: emitted as a single log line and one EMF flush when it ends."""

    route: str
    request_id: str
    log_prompts: bool = False
    api_key_id: str | None = None
    model: str | None = None
    stream: bool = False
    started: float = field(default_factory=time.perf_counter)
    first_chunk_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    guardrail_action: str | None = None
    error: dict[str, object] | None = None

    def mark_first_chunk(self) -> None:
        if self.first_chunk_ms is None:
            self.first_chunk_ms = (time.perf_counter() - self.started) * 1000

    def record_usage(self, usage: Mapping[str, object] | None) -> None:
        """Take token counts from an OpenAI `usage` or a Converse `usage` object."""
        if not usage:
            return
        prompt = usage.get("prompt_tokens", usage.get("inputTokens"))
        completion = usage.get("completion_tokens", usage.get("outputTokens"))
        if isinstance(prompt, int):
            self.input_tokens = prompt
        if isinstance(completion, int):
            self.output_tokens = completion

    def record_error(self, error: GatewayError) -> None:
        """Note the error answered; a message that may quote the request (prompt text) is kept only with LOG_PROMPTS."""
        message = error.message
        if error.quotes_request and not self.log_prompts:
            message = "(withheld: it may quote the request; set LOG_PROMPTS=true to log it)"
        self.error = {"type": error.type, "code": error.code, "param": error.param, "message": message}

    def log_payload(self, kind: str, payload: object) -> None:
        """Log a prompt or completion, only when LOG_PROMPTS=true."""
        if self.log_prompts:
            logger.info(kind, extra={"request_id": self.request_id, "route": self.route, kind: payload})

    def finish(self, status: int) -> None:
        latency_ms = (time.perf_counter() - self.started) * 1000
        model = self.model or "unknown"
        fields: dict[str, object] = {
            "request_id": self.request_id,
            "route": self.route,
            "model": model,
            "status": status,
            "api_key_id": self.api_key_id,
            "stream": self.stream,
            "latency_ms": round(latency_ms, 3),
        }
        if self.first_chunk_ms is not None:
            fields["first_chunk_ms"] = round(self.first_chunk_ms, 3)
        if self.input_tokens is not None:
            fields["input_tokens"] = self.input_tokens
            fields["output_tokens"] = self.output_tokens
        if self.guardrail_action:
            fields["guardrail_action"] = self.guardrail_action
        if self.error:
            fields["error"] = self.error
        logger.info("request completed", extra=fields)
        _emit_metrics(self, model, status, latency_ms)


def _emit_metrics(record: RequestRecord, model: str, status: int, latency_ms: float) -> None:
    """One EMF document for the request (by route and model), one for its tokens by API key id (who spent what), and
    one for an error (by route and status).

    Powertools serialises the documents from metric sets built here: its add_metric/add_dimension path revalidates
    constant names and units and formats debug messages on every call, most of the flush's cost.
    """
    if is_metrics_disabled():
        return
    metrics = {"Latency": _metric(MetricUnit.Milliseconds, latency_ms)}
    if record.first_chunk_ms is not None:
        metrics["TimeToFirstChunk"] = _metric(MetricUnit.Milliseconds, record.first_chunk_ms)
    if record.input_tokens is not None:
        metrics["InputTokens"] = _metric(MetricUnit.Count, record.input_tokens)
        metrics["OutputTokens"] = _metric(MetricUnit.Count, record.output_tokens or 0)
    if record.guardrail_action == "INTERVENED":
        metrics["GuardrailInterventions"] = _metric(MetricUnit.Count, 1)
    _flush(metrics, {"route": record.route, "model": model, "service": SERVICE})
    if record.api_key_id and record.input_tokens is not None:
        tokens = {name: metrics[name] for name in ("InputTokens", "OutputTokens")}
        _flush(tokens, {"api_key_id": record.api_key_id, "service": SERVICE})
    if status >= 400:
        errors = {"Errors": _metric(MetricUnit.Count, 1)}
        if status == 429:  # only Bedrock's ThrottlingException / ServiceQuotaExceededException answer 429
            errors["Throttles"] = _metric(MetricUnit.Count, 1)
        _flush(errors, {"route": record.route, "status": str(status), "service": SERVICE})


def _metric(unit: MetricUnit, value: float) -> dict[str, object]:
    return {"Unit": unit.value, "StorageResolution": MetricResolution.Standard.value, "Value": [float(value)]}


def _flush(metrics: dict[str, dict[str, object]], dimensions: dict[str, str]) -> None:
    document = _metrics.serialize_metric_set(metrics=metrics, dimensions=dimensions, metadata={})
    print(json.dumps(document, separators=(",", ":")), flush=True)
