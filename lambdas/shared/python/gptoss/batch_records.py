"""Batch inference records: validate input JSONL lines and turn Bedrock's `.jsonl.out` lines into results.

Input line (what Bedrock expects): ``{"recordId": "<id>", "modelInput": {<chat completion body>}}``.
Output line (what Bedrock writes): ``{"recordId", "modelInput", "modelOutput"}`` or ``{..., "error": {...}}``.

``recordId`` rule: 1-64 characters, ASCII letters and digits, ``-`` and ``_`` allowed after the first character.
Bedrock documents the id only as an "alphanumeric string" (its examples use 11 characters, e.g. ``CALL0000001``);
ids are required here (Bedrock would invent missing ones, which breaks matching results to inputs).

Line rules, stricter than JSON-per-line where Bedrock's behaviour is undocumented (a file it might misread never
starts a paid job): every line is strict UTF-8 (no byte order mark, no UTF-16, no lone surrogates), one JSON object,
at most ``max_record_bytes``; blank lines are refused (Bedrock does not document skipping them). A CR before the
newline (CRLF files) and whitespace around the object are fine: both are JSON whitespace.

Staging: Bedrock's job reads the records as InvokeModel takes them, not as uploaded. While validating, each valid
line can be handed on (`validate_lines(emit=...)`) as the line the job will read: a plainly valid record whose body
InvokeModel takes as is (no `model`, or the Bedrock id) is passed on byte for byte; any other valid record is
rewritten with `gptoss.invoke.to_batch_input` (an alias becomes the Bedrock id, assistant `reasoning_content` is
removed, fields the contract accepts but does not send, such as `n: 1` or `store: false`, are left out), so no record
fails in the paid job over something validation could see.

Pure functions, no I/O: callers hand in lines (bytes without the trailing newline) from a file or an S3 stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from gptoss import json_limits
from gptoss.chat_request import parse_chat_request
from gptoss.errors import GatewayError
from gptoss.invoke import from_invoke_response, to_batch_input
from gptoss.models import resolve_model
from gptoss.request_contract import SIMPLE_CHECKS, invoke_fields

RECORD_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# A run is named after its file (`input/[<model>/]<name>.jsonl`); the name appears in S3 keys and the status API.
RUN_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
DEFAULT_MIN_RECORDS = 100
DEFAULT_MAX_RECORDS = 50_000
DEFAULT_MAX_FILE_BYTES = 1_000_000_000
# One record is one chat request: the same 1 MiB bound as the API's MAX_REQUEST_BYTES (a full 128k-token context
# fits). It also bounds the memory a line can take while a file is streamed.
DEFAULT_MAX_RECORD_BYTES = 1_048_576
_RECORD_ID_IN_TEXT = re.compile(rb'"recordId"\s*:\s*"([A-Za-z0-9][A-Za-z0-9_-]{0,63})"')
MAX_REPORTED_PROBLEMS = 1000
# Bedrock batch inference takes no tools: a record offering any is refused (both file formats).
TOOL_FIELDS = ("tools", "functions", "function_call")


@dataclass(frozen=True)
class Limits:
    """Quotas a batch input file must respect (Bedrock's defaults unless configured)."""

    min_records: int = DEFAULT_MIN_RECORDS
    max_records: int = DEFAULT_MAX_RECORDS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a batch file; `line` is 1-based, None for whole-file problems."""

    line: int | None
    code: str
    message: str

    def to_dict(self) -> dict:
        return {"line": self.line, "code": self.code, "message": self.message}


@dataclass
class Report:
    """Outcome of validating a whole file; `problems` keeps the first MAX_REPORTED_PROBLEMS."""

    model: str
    records: int = 0
    bytes: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.problem_count == 0

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(problem)

    def to_dict(self) -> dict:
        return {
            "valid": self.valid,
            "model": self.model,
            "records": self.records,
            "bytes": self.bytes,
            "problem_count": self.problem_count,
            "problems_shown": len(self.problems),
            "problems": [problem.to_dict() for problem in self.problems],
        }


def iter_lines(chunks: Iterable[bytes], max_line_bytes: int | None = None) -> Iterator[bytes]:
    """Split a stream of byte chunks into lines without their newline; memory is one chunk plus one line.

    A CR before the newline is kept: JSON ignores it, and a blank CRLF line still strips to nothing.
    With `max_line_bytes`, a longer line is cut to `max_line_bytes + 1` bytes (so the caller can tell it was too
    long) and the rest of it is dropped unread: one huge line never fills memory. Each chunk is copied once, so a
    line spanning many chunks costs linear, not quadratic, time.
    """
    room = None if max_line_bytes is None else max_line_bytes + 1
    pending: list[bytes] = []
    pending_size = 0
    for chunk in chunks:
        if not chunk:
            continue
        parts = chunk.split(b"\n")
        last = parts.pop()
        if parts:
            if pending:
                pending.append(parts[0])
                parts[0] = b"".join(pending)
                pending, pending_size = [], 0
            for line in parts:
                yield line if room is None or len(line) <= room else line[:room]
        if last and (room is None or pending_size < room):
            piece = last if room is None else last[: room - pending_size]
            pending.append(piece)
            pending_size += len(piece)
    if pending:
        line = b"".join(pending)
        yield line if room is None else line[:room]


def decode_line(line: bytes | str, line_number: int) -> tuple[str | None, Problem | None]:
    """The line as text, or the problem that keeps it from being one strict-UTF-8 JSON line."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = (
                f"not UTF-8: byte 0x{line[exc.start]:02x} at column {exc.start + 1} ({exc.reason}); "
                "save the file as UTF-8"
            )
            return None, Problem(line_number, "invalid_utf8", message)
    if line.startswith("\ufeff"):
        message = "the line starts with a byte order mark (BOM): save the file as UTF-8 without BOM"
        return None, Problem(line_number, "byte_order_mark", message)
    return line, None


def check_record(
    line: bytes | str, line_number: int, *, model: str, enabled: Sequence[str], limits: Limits
) -> tuple[str | None, list[Problem]]:
    """Validate one input line; returns its well-formed recordId (or None) and its problems."""
    record_id, problems, _ = _check_record(line, line_number, model=model, enabled=enabled, limits=limits)
    return record_id, problems


def _check_record(
    line: bytes | str, line_number: int, *, model: str, enabled: Sequence[str], limits: Limits
) -> tuple[str | None, list[Problem], bytes | None]:
    """`check_record`, plus the line Bedrock's job reads when the record is valid (rewritten: see the module doc)."""
    if len(line) > limits.max_record_bytes:
        message = f"the record is over {limits.max_record_bytes} bytes (the per-record limit)"
        return None, [Problem(line_number, "record_too_large", message)], None
    text, problem = decode_line(line, line_number)
    if problem is not None:
        return None, [problem], None
    try:
        record = json_limits.loads(text)
    except json_limits.JsonTooDeep as exc:
        message = f"{exc.msg} (column {exc.colno}); flatten the record"
        return None, [Problem(line_number, "json_too_deep", message)], None
    except ValueError as exc:
        if not text.strip():
            return None, [Problem(line_number, "blank_line", "blank line: every line must be one JSON record")], None
        return None, [Problem(line_number, "invalid_json", f"invalid JSON: {exc}")], None
    if type(record) is not dict:
        return None, [Problem(line_number, "invalid_record", "a record must be a JSON object")], None
    problems: list[Problem] = []
    record_id = _check_record_id(record.get("recordId"), line_number, problems)
    request = _check_model_input(record.get("modelInput"), line_number, model=model, enabled=enabled, out=problems)
    if problems or request is None:
        return record_id, problems, None
    return record_id, problems, record_line({**record, "modelInput": to_batch_input(request, model)})


def record_line(record: dict) -> bytes:
    """One JSONL line of a record for Bedrock: compact UTF-8 JSON (escaping only what UTF-8 cannot carry)."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode() + b"\n"
    except UnicodeEncodeError:  # a lone surrogate (a `\ud800` escape in the input) stays an escape
        return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def _check_record_id(record_id: object, line_number: int, problems: list[Problem]) -> str | None:
    if record_id is None:
        problems.append(Problem(line_number, "missing_record_id", "missing recordId"))
        return None
    if not isinstance(record_id, str) or not RECORD_ID_PATTERN.fullmatch(record_id):
        problems.append(
            Problem(
                line_number,
                "invalid_record_id",
                f"recordId {record_id!r} must be 1-64 letters, digits, '-' or '_' (starting with a letter or digit)",
            )
        )
        return None
    return record_id


def _check_model_input(
    model_input: object, line_number: int, *, model: str, enabled: Sequence[str], out: list[Problem]
) -> dict | None:
    """Add the problems of a record's modelInput to `out`; returns the validated chat request (None if invalid)."""
    if model_input is None:
        out.append(Problem(line_number, "missing_model_input", "missing modelInput"))
        return None
    if not isinstance(model_input, dict):
        out.append(Problem(line_number, "invalid_model_input", "modelInput must be a JSON object (a chat request)"))
        return None
    if model_input.get("stream") is True:
        out.append(Problem(line_number, "stream_not_allowed", "modelInput.stream must not be true in a batch"))
    requested = model_input.get("model")
    if requested is not None and _resolve(requested, enabled) != model:
        out.append(
            Problem(
                line_number, "model_mismatch", f"modelInput.model {requested!r} differs from the batch model {model}"
            )
        )
    if any(model_input.get(name) for name in TOOL_FIELDS):
        out.append(Problem(line_number, "tools_not_allowed", "tools are not supported in batch inference"))
    body = {**model_input, "model": model}
    if body.get("stream") is True:
        body["stream"] = False
    try:
        return parse_chat_request(body)
    except GatewayError as exc:
        where = f"modelInput.{exc.param}" if exc.param else "modelInput"
        out.append(Problem(line_number, "invalid_model_input", f"{where}: {exc.message}"))
        return None


def _resolve(name: object, enabled: Sequence[str]) -> str | None:
    if not isinstance(name, str):
        return None
    try:
        return resolve_model(name, enabled)
    except GatewayError:
        return None


def _simple_content(content: object) -> bool:
    if type(content) is str:
        return True
    return type(content) is list and all(
        type(part) is dict and len(part) == 2 and part.get("type") == "text" and type(part.get("text")) is str
        for part in content
    )


def _simple_messages(messages: object) -> bool:
    """Tools-free text turns: {"role", "content"} with string or text-part content, no names, no reasoning."""
    if type(messages) is not list or not messages:
        return False
    for message in messages:
        if (
            type(message) is not dict
            or len(message) != 2
            or message.get("role") not in _SIMPLE_ROLES
            or not _simple_content(message.get("content"))
        ):
            return False
    return True


_SIMPLE_ROLES = ("system", "developer", "user", "assistant")
# Fields the fast path checks with the request contract's own predicates; a record with any other field (tools,
# response_format, cross-field rules such as top_logprobs) or a null value takes the full check.
_FAST_CHECKS = {
    name: check for name, check in SIMPLE_CHECKS.items() if name not in ("stream", "stream_options", "top_logprobs")
}


# The fields an InvokeModel body carries as sent: a plainly valid record with only these is staged byte for byte.
_SENT_AS_IS = invoke_fields()


def plain_chat_body(body: dict) -> bool:
    """Fast path for the common chat bodies of a batch (tools-free text turns, simple fields): True when the full
    check would accept every field but `model`, which the caller checks. False means: run the full check."""
    if "messages" not in body:
        return False
    for name, value in body.items():
        if name == "messages":
            if not _simple_messages(value):
                return False
        elif name == "stream":
            if value is not False:
                return False
        elif name != "model":
            check = _FAST_CHECKS.get(name)
            if check is None or not check(value):
                return False
    return True


def plainly_valid(record: object, model: str) -> str | None:
    """Fast path for the common record shapes: its recordId when `check_record` would find no problem (the body is
    `plain_chat_body` and names no model or the batch model's Bedrock id), else None and the caller runs the full
    check. Property-tested against `check_record`."""
    if type(record) is not dict:
        return None
    record_id = record.get("recordId")
    model_input = record.get("modelInput")
    if type(record_id) is not str or type(model_input) is not dict or not RECORD_ID_PATTERN.fullmatch(record_id):
        return None
    if model_input.get("model", model) != model or not plain_chat_body(model_input):
        return None
    return record_id


def _staged_line(line: bytes, record: dict, model: str) -> bytes:
    """A plainly valid record as Bedrock's job reads it: the line itself when InvokeModel takes its body as is,
    else the record with its body rewritten."""
    model_input = record["modelInput"]
    if model_input.keys() <= _SENT_AS_IS:
        return line.strip() + b"\n"
    return record_line({**record, "modelInput": to_batch_input(model_input, model)})


def validate_lines(
    lines: Iterable[bytes],
    *,
    size: int,
    model: str,
    enabled: Sequence[str],
    limits: Limits | None = None,
    emit: Callable[[bytes], object] | None = None,
) -> Report:
    """Validate a whole file given its size and its lines; ids are kept only up to `max_records` (memory stays flat).

    `lines` come from `iter_lines(chunks, limits.max_record_bytes)`, so an over-long line arrives already cut.
    Each valid line goes to `emit` as the line Bedrock's job will read (see the module doc); the file is good only if
    the report is valid: callers discard what was emitted otherwise. Any number of records from one up to
    `limits.max_records` is valid: a file under `limits.min_records` runs on demand, not as a Bedrock batch job."""
    limits = limits or Limits()
    report = Report(model=model, bytes=size)
    if size > limits.max_file_bytes:
        report.add(Problem(None, "file_too_large", f"file is {size} bytes; the limit is {limits.max_file_bytes} bytes"))
        return report
    seen: dict[str, int] = {}
    max_records = limits.max_records
    loads = json.loads
    line_number = 0
    max_record_bytes = limits.max_record_bytes
    for line_number, line in enumerate(lines, start=1):
        try:
            # Strict UTF-8 first: json.loads(bytes) would also take UTF-16/32 and lone surrogates.
            record = loads(line.decode("utf-8")) if len(line) <= max_record_bytes else None
        except (ValueError, RecursionError):
            record = None
        record_id = plainly_valid(record, model)
        if record_id is not None:
            if emit is not None:
                emit(_staged_line(line, record, model))
        else:
            record_id, problems, staged = _check_record(line, line_number, model=model, enabled=enabled, limits=limits)
            for problem in problems:
                report.add(problem)
            if staged is not None and emit is not None:
                emit(staged)
        if record_id is None or line_number > max_records:
            continue
        first = seen.setdefault(record_id, line_number)
        if first != line_number:
            report.add(
                Problem(line_number, "duplicate_record_id", f"recordId {record_id!r} already used on line {first}")
            )
    report.records = line_number
    if report.records == 0:
        report.add(Problem(None, "empty_file", "the file has no records"))
    elif report.records > limits.max_records:
        report.add(
            Problem(None, "too_many_records", f"{report.records} records; a batch allows at most {limits.max_records}")
        )
    return report


def record_id_of(line: bytes | str) -> str | None:
    """The recordId of an input line that already passed validation (None if unreadable)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    record_id = record.get("recordId") if isinstance(record, dict) else None
    return record_id if isinstance(record_id, str) else None


@dataclass(frozen=True)
class BatchResult:
    """One record's outcome: a chat.completion when it succeeded, else an error."""

    record_id: str | None
    completion: dict | None = None
    error: dict | None = None

    @property
    def succeeded(self) -> bool:
        return self.completion is not None

    def usage(self) -> tuple[int, int]:
        """(prompt_tokens, completion_tokens) of a successful record; 0 for a count Bedrock did not give as a number."""
        usage = (self.completion or {}).get("usage")
        usage = usage if isinstance(usage, dict) else {}
        return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))

    def to_dict(self) -> dict:
        if self.completion is not None:
            return {"recordId": self.record_id, "response": self.completion}
        return {"recordId": self.record_id, "error": self.error}


def _count(value: object) -> int:
    return value if type(value) is int and value >= 0 else 0


def failed(record_id: str | None, code: str, message: str) -> BatchResult:
    return BatchResult(record_id, error={"code": code, "message": message})


def parse_output_line(line: bytes | str, *, model: str) -> BatchResult:
    """Turn one line of Bedrock's `.jsonl.out` into a result, with `<reasoning>` split into `reasoning_content`.

    Never raises: an unreadable line is a failure, attributed to its recordId when the text still shows one."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return failed(_record_id_in_text(line), "invalid_output", f"Bedrock wrote a line that is not JSON: {exc}")
    if not isinstance(record, dict):
        return failed(None, "invalid_output", "Bedrock wrote a line that is not a JSON object")
    record_id = record.get("recordId") if isinstance(record.get("recordId"), str) else None
    error = record.get("error")
    if error:
        return _from_bedrock_error(record_id, error)
    output = record.get("modelOutput")
    if output is None:
        return failed(record_id, "invalid_output", "Bedrock returned no modelOutput for this record")
    if not _is_completion(output):
        return failed(record_id, "invalid_output", "Bedrock's modelOutput for this record is not a chat.completion")
    try:
        completion = from_invoke_response(output, model=model)
    except (GatewayError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        return failed(record_id, "invalid_output", f"unreadable modelOutput: {exc}")
    return BatchResult(record_id, completion=completion)


def _is_completion(output: object) -> bool:
    """The shape of an InvokeModel chat.completion: choices, each with a message object."""
    choices = output.get("choices") if isinstance(output, dict) else None
    return (
        isinstance(choices, list)
        and bool(choices)
        and all(isinstance(choice, dict) and isinstance(choice.get("message"), dict) for choice in choices)
    )


def _record_id_in_text(line: bytes | str) -> str | None:
    raw = line.encode("utf-8", "replace") if isinstance(line, str) else line
    match = _RECORD_ID_IN_TEXT.search(raw[:4096])
    return match.group(1).decode() if match else None


def _from_bedrock_error(record_id: str | None, error: object) -> BatchResult:
    if not isinstance(error, dict):
        return failed(record_id, "model_error", str(error))
    code = error.get("errorCode", "model_error")
    message = error.get("errorMessage") or error.get("message") or "Bedrock reported an error for this record"
    return failed(record_id, str(code), str(message))
