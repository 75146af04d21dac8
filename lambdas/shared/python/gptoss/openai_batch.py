"""The OpenAI Batch API over Bedrock batch records: input lines ⇄ staged records ⇄ output lines, and its objects.

Input line (OpenAI): ``{"custom_id": "<any string>", "method": "POST", "url": "/v1/chat/completions", "body": {...}}``.
Every ``body`` goes through the one request contract (`parse_chat_request`) and model resolution (`resolve_model`);
the common line shapes take a fast path built from the contract's own predicates (`batch_records.plain_chat_body`,
property-tested never to accept what the full check refuses, nor to stage another record). All lines of a file name
the same model, as OpenAI requires. A valid line becomes one Bedrock record,
``{"recordId": "line-000042", "modelInput": <InvokeModel body>}``: the model named by its Bedrock id, no ``stream``,
no replayed ``reasoning_content``. ``custom_id`` is any string up to MAX_CUSTOM_ID_CHARS, unique in the file; Bedrock's
``recordId`` is far stricter, so the record id is the line number and the way back is the input file itself (line
N's ``custom_id``): nothing about ``custom_id`` is lost or escaped.

Output line (OpenAI): ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``; a failed
record has ``error: {"code", "message"}`` and, when Bedrock answered it, a ``response`` with the error status.

Pure functions, no I/O: callers hand in lines (bytes without the newline) and write what they get back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from gptoss import json_limits
from gptoss.batch_records import (
    TOOL_FIELDS,
    BatchResult,
    Limits,
    Problem,
    Report,
    decode_line,
    plain_chat_body,
    record_line,
)
from gptoss.chat_request import parse_chat_request
from gptoss.errors import GatewayError, from_bedrock_error, invalid_request
from gptoss.invoke import to_batch_input
from gptoss.models import resolve_model

ENDPOINT = "/v1/chat/completions"
API_EVENT_SOURCE = "gptoss.batch-api"
COMPLETION_WINDOW = "24h"
COMPLETION_WINDOW_SECONDS = 24 * 3600
MAX_CUSTOM_ID_CHARS = 4096
LINE_KEYS = frozenset({"custom_id", "method", "url", "body"})
FILE_PURPOSE = "batch"
OUTPUT_PURPOSE = "batch_output"
MAX_METADATA_PAIRS = 16
_RECORD_ID = re.compile(r"line-([0-9]{6,})")
# Failure codes the lifecycle itself gives (the record never got an answer from the model): no `response`.
LIFECYCLE_CODES = frozenset({"not_processed", "invalid_output", "batch_cancelled"})

Json = dict[str, Any]


@dataclass(frozen=True)
class LineProblem(Problem):
    """A problem with one OpenAI batch line; `param` names the field (`body.messages[0].role`), as OpenAI's do."""

    param: str | None = None

    def to_dict(self) -> dict:
        return {**super().to_dict(), "param": self.param}


def record_id(line_number: int) -> str:
    """Bedrock's recordId for the input file's line `line_number` (1-based)."""
    return f"line-{line_number:06d}"


def line_of(record_id_: str | None) -> int | None:
    """The input line a recordId stands for, or None for an id this module did not mint."""
    match = _RECORD_ID.fullmatch(record_id_ or "")
    return int(match.group(1)) if match else None


class CheckedLine(NamedTuple):
    """One input line: its custom_id and model when readable, the Bedrock record when valid, and its problems."""

    custom_id: str | None
    model: str | None
    record: Json | None
    problems: tuple[Problem, ...]


def check_line(
    line: bytes | str, line_number: int, *, enabled: Sequence[str], limits: Limits, stage: bool = True
) -> CheckedLine:
    """Validate one OpenAI batch line; a valid one comes back as its Bedrock record (without `stage`, a line the fast
    path takes comes back without its record: building it is most of a valid line's cost)."""
    if len(line) <= limits.max_record_bytes:
        try:
            # Strict UTF-8 first (as `decode_line`): json.loads(bytes) would also take UTF-16/32.
            plain = _plain_line(json.loads(line.decode("utf-8") if isinstance(line, bytes) else line), enabled)
        except (ValueError, RecursionError):
            plain = None
        if plain is not None:
            custom_id, model, body = plain
            record = {"recordId": record_id(line_number), "modelInput": to_batch_input(body, model)} if stage else None
            return CheckedLine(custom_id, model, record, ())
    return _check_line(line, line_number, enabled=enabled, limits=limits)


def _plain_line(request: object, enabled: Sequence[str]) -> tuple[str, str, Json] | None:
    """Fast path: (custom_id, Bedrock model id, body) of a line the full check would accept (a plain chat body:
    `batch_records.plain_chat_body`), else None and the caller runs the full check."""
    if type(request) is not dict or request.keys() != LINE_KEYS:
        return None
    custom_id, body = request["custom_id"], request["body"]
    if (
        type(custom_id) is not str
        or not 0 < len(custom_id) <= MAX_CUSTOM_ID_CHARS
        or request["method"] != "POST"
        or request["url"] != ENDPOINT
        or type(body) is not dict
    ):
        return None
    name = body.get("model")
    model = _enabled_model(name, tuple(enabled)) if type(name) is str else None
    if model is None or not plain_chat_body(body):
        return None
    return custom_id, model, body


@lru_cache(maxsize=64)
def _enabled_model(name: str, enabled: tuple[str, ...]) -> str | None:
    try:
        return resolve_model(name, enabled)
    except GatewayError:
        return None


def _check_line(line: bytes | str, line_number: int, *, enabled: Sequence[str], limits: Limits) -> CheckedLine:
    """The full check of one line: every problem it has, each with its param."""
    if len(line) > limits.max_record_bytes:
        message = f"the line is over {limits.max_record_bytes} bytes (the per-request limit)"
        return _refused(LineProblem(line_number, "request_too_large", message))
    text, problem = decode_line(line, line_number)
    if problem is not None:
        return _refused(problem)
    try:
        request = json_limits.loads(text)
    except json_limits.JsonTooDeep as exc:
        return _refused(LineProblem(line_number, "json_too_deep", f"invalid JSON: {exc}", exc.field))
    except (ValueError, RecursionError) as exc:
        if not text.strip():
            return _refused(LineProblem(line_number, "blank_line", "blank line: every line must be one JSON request"))
        return _refused(LineProblem(line_number, "invalid_json", f"invalid JSON: {exc}"))
    if type(request) is not dict:
        return _refused(LineProblem(line_number, "invalid_request", "a line must be a JSON object"))
    problems: list[Problem] = []

    def add(code: str, message: str, param: str | None) -> None:
        problems.append(LineProblem(line_number, code, message, param))

    for key in sorted(request.keys() - LINE_KEYS):
        add("unknown_field", f"unknown field {key!r}; a line has custom_id, method, url and body", key)
    custom_id = _custom_id(request.get("custom_id"), add)
    if request.get("method") != "POST":
        add("invalid_method", f"method must be 'POST', got {request.get('method')!r}", "method")
    if request.get("url") != ENDPOINT:
        add("invalid_url", f"url must be {ENDPOINT!r} (the batch's endpoint), got {request.get('url')!r}", "url")
    model, record = _body(request.get("body"), line_number, enabled, add)
    if problems:
        return CheckedLine(custom_id, model, None, tuple(problems))
    return CheckedLine(custom_id, model, record, ())


def _refused(problem: Problem) -> CheckedLine:
    return CheckedLine(None, None, None, (problem,))


def _custom_id(value: object, add: Callable[[str, str, str | None], None]) -> str | None:
    if value is None:
        add("missing_custom_id", "missing custom_id", "custom_id")
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_CUSTOM_ID_CHARS:
        add("invalid_custom_id", f"custom_id must be a string of 1-{MAX_CUSTOM_ID_CHARS} characters", "custom_id")
        return None
    return value


def _body(
    body: object, line_number: int, enabled: Sequence[str], add: Callable[[str, str, str | None], None]
) -> tuple[str | None, Json | None]:
    """The body's Bedrock model id and the Bedrock record, or (model or None, None) after adding its problems."""
    if not isinstance(body, dict):
        add("invalid_body", "body must be a JSON object (a chat completion request)", "body")
        return None, None
    if body.get("stream") is True:
        add("stream_not_allowed", "body.stream must not be true in a batch", "body.stream")
    if any(body.get(name) for name in TOOL_FIELDS):
        add("tools_not_allowed", "tools are not supported in batch inference", "body.tools")
    model = None
    try:
        request = parse_chat_request(body)
        model = resolve_model(request["model"], enabled)
    except GatewayError as exc:
        where = f"body.{exc.param}" if exc.param else "body"
        add(exc.code or "invalid_body", f"{where}: {exc.message}", where)
        return model, None
    return model, {"recordId": record_id(line_number), "modelInput": to_batch_input(request, model)}


def validate_batch_lines(
    lines: Iterable[bytes],
    *,
    size: int,
    enabled: Sequence[str],
    limits: Limits,
    emit: Callable[[bytes], object] | None = None,
) -> Report:
    """Validate a whole OpenAI batch file (streamed); each valid line's Bedrock record goes to `emit` as one JSONL
    line. The file is good only if the report is valid: callers discard what was emitted otherwise.

    The batch model is the first line's; a line naming another model is a problem. There is no minimum beyond one
    request (small files run on demand); `limits.max_records` and `max_file_bytes` apply."""
    report = Report(model="", bytes=size)
    if size > limits.max_file_bytes:
        report.add(Problem(None, "file_too_large", f"file is {size} bytes; the limit is {limits.max_file_bytes} bytes"))
        return report
    seen: dict[str, int] = {}
    line_number = 0
    for line_number, line in enumerate(lines, start=1):
        checked = check_line(line, line_number, enabled=enabled, limits=limits, stage=emit is not None)
        for problem in checked.problems:
            report.add(problem)
        if checked.model is not None:
            if not report.model:
                report.model = checked.model
            elif checked.model != report.model:
                message = f"body.model {checked.model} differs from the batch's model {report.model} (line 1's)"
                report.add(LineProblem(line_number, "mixed_models", message, "body.model"))
        if checked.custom_id is not None and line_number <= limits.max_records:
            first = seen.setdefault(checked.custom_id, line_number)
            if first != line_number:
                message = f"custom_id {checked.custom_id!r} already used on line {first}"
                report.add(LineProblem(line_number, "duplicate_custom_id", message, "custom_id"))
        if checked.record is not None and emit is not None:
            emit(record_line(checked.record))
    report.records = line_number
    if report.records == 0:
        report.add(Problem(None, "empty_file", "the file has no requests"))
    elif report.records > limits.max_records:
        message = f"{report.records} requests; a batch allows at most {limits.max_records}"
        report.add(Problem(None, "too_many_requests", message))
    return report


def custom_ids(lines: Iterable[bytes]) -> list[str | None]:
    """custom_id of each line of an input file that passed validation (index 0 is line 1)."""
    ids: list[str | None] = []
    for line in lines:
        try:
            value = json.loads(line).get("custom_id")
        except (ValueError, AttributeError):
            value = None
        ids.append(value if isinstance(value, str) else None)
    return ids


def output_line(batch_id: str, custom_id: str, result: BatchResult) -> Json:
    """One line of the batch's output file (a success) or error file (anything else), in OpenAI's shape."""
    digest = hashlib.sha256(f"{batch_id}\n{custom_id}".encode()).hexdigest()[:32]
    request_id = f"req_{digest}"
    line: Json = {"id": f"batch_req_{digest}", "custom_id": custom_id, "response": None, "error": None}
    if result.completion is not None:
        line["response"] = {"status_code": 200, "request_id": request_id, "body": result.completion}
        return line
    error = result.error or {}
    code, message = str(error.get("code") or "error"), str(error.get("message") or "the request failed")
    line["error"] = {"code": code, "message": message}
    if code not in LIFECYCLE_CODES:
        mapped = from_bedrock_error(code, message)
        body = {"error": {"message": message, "type": mapped.type, "param": None, "code": code}}
        line["response"] = {"status_code": mapped.status, "request_id": request_id, "body": body}
    return line


# --- requests to the API -------------------------------------------------------------------------------------------

BATCH_FIELDS = frozenset({"input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after"})


def parse_batch_request(body: object) -> Json:
    """Validate a `POST /v1/batches` body: `{input_file_id, endpoint, completion_window, metadata?}`."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    unknown = sorted(body.keys() - BATCH_FIELDS)
    if unknown:
        raise invalid_request(f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0])
    file_id = body.get("input_file_id")
    if not isinstance(file_id, str) or not file_id:
        raise invalid_request(
            "'input_file_id' must be the id of a file uploaded with purpose 'batch'.", "input_file_id"
        )
    if body.get("endpoint") != ENDPOINT:
        message = f"'endpoint' must be {ENDPOINT!r}: the gateway runs chat completion batches only."
        raise invalid_request(message, param="endpoint")
    if body.get("completion_window") != COMPLETION_WINDOW:
        raise invalid_request(f"'completion_window' must be {COMPLETION_WINDOW!r}.", param="completion_window")
    return {"input_file_id": file_id, "metadata": parse_metadata(body.get("metadata"))}


def parse_metadata(metadata: object) -> dict[str, str] | None:
    """OpenAI's metadata rule: at most 16 pairs, keys up to 64 characters, string values up to 512."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_PAIRS:
        raise invalid_request(f"'metadata' must be an object of at most {MAX_METADATA_PAIRS} pairs.", "metadata")
    for key, value in metadata.items():
        if len(key) > 64 or not isinstance(value, str) or len(value) > 512:
            message = "metadata keys are at most 64 characters and values strings of at most 512."
            raise invalid_request(message, param=f"metadata.{key}")
    return dict(metadata)


def parse_purpose(purpose: object) -> str:
    if purpose != FILE_PURPOSE:
        raise invalid_request(f"'purpose' must be {FILE_PURPOSE!r}: the gateway stores batch input files.", "purpose")
    return FILE_PURPOSE


def execution_input(bucket: str, key: str, etag: str, size: int, batch: Mapping[str, Any]) -> Json:
    """The batch state machine's input for a batch created through the API: S3's "Object Created" event shape,
    naming the input file, plus `detail.batch` (`{"id", "owner", "input_file_id"}`)."""
    return {
        "source": API_EVENT_SOURCE,
        "detail-type": "Batch Created",
        "detail": {
            "bucket": {"name": bucket},
            "object": {"key": key, "etag": etag, "size": size},
            "batch": dict(batch),
        },
    }


# --- objects -------------------------------------------------------------------------------------------------------


def file_object(file_id: str, *, filename: str, size: int, created_at: int, purpose: str) -> Json:
    """An OpenAI `file` object."""
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": created_at,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


def epoch(value: object) -> int | None:
    """Seconds since the epoch for an ISO-8601 time (the run records' format), or None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


# Run state (status/<name>.json) → OpenAI batch status.
_STATUS = {
    "validating": "validating",
    "submitted": "in_progress",
    "in_progress": "in_progress",
    "stopping": "in_progress",
    "finalizing": "finalizing",
    "completed": "completed",
    "partially_completed": "completed",
    "cancelled": "cancelled",
    "expired": "expired",
}
_ENDED_AT = {"completed": "completed_at", "failed": "failed_at", "expired": "expired_at", "cancelled": "cancelled_at"}


def batch_status(state: str | None, *, cancel_requested: bool) -> str:
    """OpenAI's status for a run state; a run asked to cancel is `cancelling` until it ends, then `cancelled`."""
    status = _STATUS.get(state or "validating", "failed")
    if cancel_requested and status in ("validating", "in_progress", "finalizing"):
        return "cancelling"
    if cancel_requested and state == "stopped":
        return "cancelled"
    return status


def batch_object(
    status: Mapping[str, Any] | None,
    *,
    request: Mapping[str, Any] | None = None,
    cancel_requested_at: str | None = None,
    problems: Sequence[Mapping[str, Any]] = (),
) -> Json:
    """The OpenAI `batch` object of a run: `request` is what `POST /v1/batches` stored (None for a run started by
    an S3 upload), `status` the run's status record (None until its first step ran), `problems` the validation
    report's problems of an invalid input."""
    status = status or {}
    request = request or {}
    state = status.get("state")
    openai_status = batch_status(state, cancel_requested=cancel_requested_at is not None)
    created_at = request.get("created_at") or epoch(status.get("created_at")) or 0
    records = status.get("records") or {}
    tokens = status.get("tokens") or {}
    outputs = status.get("openai") or {}
    result: Json = {
        "id": request.get("id") or status.get("id"),
        "object": "batch",
        "endpoint": ENDPOINT,
        "model": status.get("model") or request.get("model"),
        "errors": _errors(status, openai_status, problems),
        "input_file_id": request.get("input_file_id") or status.get("file"),
        "completion_window": COMPLETION_WINDOW,
        "status": openai_status,
        "output_file_id": outputs.get("output_file_id"),
        "error_file_id": outputs.get("error_file_id"),
        "created_at": created_at,
        "in_progress_at": epoch(status.get("submitted_at")),
        "expires_at": created_at + COMPLETION_WINDOW_SECONDS,
        "finalizing_at": epoch(status.get("finalizing_at")),
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": epoch(cancel_requested_at),
        "cancelled_at": None,
        "request_counts": {
            "total": records.get("total") or 0,
            "completed": records.get("succeeded") or 0,
            "failed": records.get("failed") or 0,
        },
        "usage": _usage(tokens) if tokens else None,
        "metadata": request.get("metadata"),
    }
    ended = _ENDED_AT.get(openai_status)
    if ended:
        result[ended] = epoch(status.get("ended_at") or status.get("updated_at"))
    return result


def _errors(status: Mapping[str, Any], openai_status: str, problems: Sequence[Mapping[str, Any]]) -> Json | None:
    if problems:
        data = [
            {"code": p.get("code"), "message": p.get("message"), "param": p.get("param"), "line": p.get("line")}
            for p in problems
        ]
        return {"object": "list", "data": data}
    if openai_status in ("failed", "expired") and status.get("message"):
        error = {"code": status.get("state"), "message": status.get("message"), "param": None, "line": None}
        return {"object": "list", "data": [error]}
    return None


def _usage(tokens: Mapping[str, Any]) -> Json:
    prompt, completion = int(tokens.get("input") or 0), int(tokens.get("output") or 0)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }
