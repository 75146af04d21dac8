"""OpenAI batch lines ⇄ Bedrock records ⇄ OpenAI output lines, and the batch/file objects (pure, no I/O)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from gptoss.batch_records import BatchResult, Limits, iter_lines
from gptoss.errors import GatewayError
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B, KNOWN_MODELS
from gptoss.openai_batch import (
    batch_object,
    check_line,
    custom_ids,
    epoch,
    execution_input,
    file_object,
    line_of,
    output_line,
    parse_batch_request,
    parse_purpose,
    record_id,
    validate_batch_lines,
)
from hypothesis import given
from hypothesis import strategies as st

LIMITS = Limits(min_records=100, max_records=5, max_file_bytes=100_000)


def line(custom_id: object = "req-1", model: str = "gpt-oss-120b", **body: object) -> bytes:
    request = {"model": model, "messages": [{"role": "user", "content": "hi"}], **body}
    return json.dumps(
        {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": request}
    ).encode()


def validate(lines: list[bytes], limits: Limits = LIMITS) -> tuple[list[tuple], list[dict]]:
    staged: list[bytes] = []
    report = validate_batch_lines(lines, size=100, enabled=KNOWN_MODELS, limits=limits, emit=staged.append)
    problems = [(p.line, p.code, getattr(p, "param", None)) for p in report.problems]
    return problems, [json.loads(x) for x in staged]


def test_a_valid_file_becomes_bedrock_records_named_by_line_with_the_bedrock_model_id() -> None:
    # Given two OpenAI batch lines naming the model by alias, one replaying reasoning in its history
    history = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello", "reasoning_content": "the user greets"},
        {"role": "user", "content": "and now?"},
    ]
    lines = [line("a"), line("b", model="openai/gpt-oss-120b", messages=history, max_completion_tokens=50)]
    # When the file is validated
    problems, staged = validate(lines)
    # Then it is valid, and each line is a record Bedrock accepts: Bedrock id, no stream, no replayed reasoning
    assert problems == []
    assert [r["recordId"] for r in staged] == ["line-000001", "line-000002"]
    assert {r["modelInput"]["model"] for r in staged} == {GPT_OSS_120B}
    assert all("stream" not in r["modelInput"] for r in staged)
    assert "reasoning_content" not in json.dumps(staged)
    assert staged[1]["modelInput"]["max_completion_tokens"] == 50


def test_a_file_below_bedrocks_batch_minimum_is_valid() -> None:
    # Given one request (the batch minimum is 100)
    problems, staged = validate([line()])
    # Then it is valid: small files run on demand
    assert problems == [] and len(staged) == 1


def test_every_problem_is_reported_with_its_line_and_param() -> None:
    # Given lines with each kind of mistake
    lines = [
        line("a"),
        b"{not json",
        line("a"),  # duplicate custom_id
        line("c", temperature="hot"),  # the request contract refuses it
        line("d", model="gpt-oss-20b"),  # another model than line 1's
        line("e", model="gpt-5"),  # not a gpt-oss model
        line("f", stream=True),
        json.dumps({"custom_id": "g", "method": "GET", "url": "/v1/embeddings", "body": {}, "extra": 1}).encode(),
        line(7),
        line("j", thinking={"type": "enabled"}),  # a field InvokeModel would refuse
        b'{"custom_id": "k", "body": ' + b"[" * 5000 + b"]" * 5000 + b"}",  # nested deeper than any request
    ]
    problems, _ = validate(lines, Limits(max_records=50))
    # Then each is listed with its line number and the field it is about
    assert (2, "invalid_json", None) in problems
    assert (3, "duplicate_custom_id", "custom_id") in problems
    assert any(p[0] == 4 and p[2] == "body.temperature" for p in problems)
    assert (5, "mixed_models", "body.model") in problems
    assert any(p[0] == 6 and p[1] == "model_not_found" for p in problems)
    assert (7, "stream_not_allowed", "body.stream") in problems
    assert {(8, "unknown_field", "extra"), (8, "invalid_method", "method"), (8, "invalid_url", "url")} <= set(problems)
    assert (9, "invalid_custom_id", "custom_id") in problems
    assert any(p[0] == 10 and p[2] == "body.thinking" for p in problems)
    assert (11, "json_too_deep", "body") in problems


def test_too_many_requests_and_an_empty_file_are_refused() -> None:
    assert validate([line(str(i)) for i in range(6)])[0][-1] == (None, "too_many_requests", None)
    assert validate([])[0] == [(None, "empty_file", None)]


@given(st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=20, unique=True))
def test_custom_ids_come_back_exactly_through_the_record_ids(ids: list[str]) -> None:
    # Given a file whose custom_ids are arbitrary strings (quotes, newlines, emoji, anything JSON carries)
    lines = [line(custom_id) for custom_id in ids]
    problems, staged = validate(lines, Limits(max_records=50))
    assert problems == []
    # When Bedrock's record ids are mapped back through the input file
    recovered = custom_ids(iter_lines([b"\n".join(lines)]))
    # Then each record names exactly its custom_id
    assert [recovered[line_of(r["recordId"]) - 1] for r in staged] == ids


def test_record_ids_are_only_the_ones_minted_here() -> None:
    assert line_of(record_id(42)) == 42
    assert line_of("rec0001") is None and line_of(None) is None


def test_output_lines_have_openais_shape() -> None:
    completion = {"id": "chatcmpl-1", "object": "chat.completion", "choices": []}
    ok = output_line("batch_1", "a", BatchResult("line-000001", completion=completion))
    assert ok["custom_id"] == "a" and ok["error"] is None
    assert ok["response"]["status_code"] == 200 and ok["response"]["body"] == completion
    assert ok["id"].startswith("batch_req_")
    throttled = output_line("batch_1", "b", BatchResult("line-000002", error={"code": "ThrottlingException"}))
    assert throttled["error"]["code"] == "ThrottlingException"
    assert throttled["response"]["status_code"] == 429
    skipped = output_line("batch_1", "c", BatchResult("x", error={"code": "not_processed", "message": "job failed"}))
    assert skipped["response"] is None and skipped["error"] == {"code": "not_processed", "message": "job failed"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"endpoint": "/v1/chat/completions", "completion_window": "24h"}, "input_file_id"),
        ({"input_file_id": "file-1", "endpoint": "/v1/embeddings", "completion_window": "24h"}, "endpoint"),
        (
            {"input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "1h"},
            "completion_window",
        ),
        ({"input_file_id": "f", "endpoint": "/v1/chat/completions", "completion_window": "24h", "x": 1}, "x"),
        (
            {
                "input_file_id": "f",
                "endpoint": "/v1/chat/completions",
                "completion_window": "24h",
                "metadata": {"k": 1},
            },
            "metadata.k",
        ),
    ],
)
def test_a_bad_create_batch_body_is_a_400_naming_the_param(body: dict, param: str) -> None:
    with pytest.raises(GatewayError) as caught:
        parse_batch_request(body)
    assert caught.value.status == 400 and caught.value.param == param


@pytest.mark.parametrize(
    ("state", "cancelled", "expected"),
    [
        (None, False, "validating"),
        ("submitted", False, "in_progress"),
        ("in_progress", True, "cancelling"),
        ("finalizing", False, "finalizing"),
        ("partially_completed", False, "completed"),
        ("stopped", True, "cancelled"),
        ("cancelled", True, "cancelled"),
        ("invalid", False, "failed"),
        ("error", False, "failed"),
        ("expired", False, "expired"),
        ("validating", False, "validating"),
        ("validating", True, "cancelling"),
        (None, True, "cancelling"),
        ("submitted", True, "cancelling"),
        ("in_progress", False, "in_progress"),
        ("stopping", False, "in_progress"),
        ("finalizing", True, "cancelling"),
        ("completed", False, "completed"),
        ("completed", True, "completed"),
        ("partially_completed", True, "completed"),
        ("stopped", False, "failed"),
        ("cancelled", False, "cancelled"),
        ("expired", True, "expired"),
        ("error", True, "failed"),
    ],
)
def test_run_states_map_to_openai_batch_statuses(state: str | None, cancelled: bool, expected: str) -> None:
    status = {"id": "batch_1", "state": state, "ended_at": "2026-01-01T00:00:10Z"} if state else None
    cancel_at = "2026-01-01T00:00:05Z" if cancelled else None
    batch = batch_object(status, request={"id": "batch_1", "created_at": 100}, cancel_requested_at=cancel_at)
    assert batch["status"] == expected


def test_a_batch_object_carries_counts_timestamps_files_and_validation_errors() -> None:
    status = {
        "id": "batch_1",
        "state": "invalid",
        "model": GPT_OSS_20B,
        "records": {"total": 3, "succeeded": 0, "failed": 0},
        "ended_at": "2026-01-01T00:00:10Z",
    }
    problems = [{"line": 2, "code": "invalid_json", "message": "invalid JSON", "param": None}]
    batch = batch_object(
        status, request={"id": "batch_1", "created_at": 100, "input_file_id": "file-1"}, problems=problems
    )
    assert batch["status"] == "failed" and batch["failed_at"] == 1767225610
    assert batch["errors"]["data"] == [{"code": "invalid_json", "message": "invalid JSON", "param": None, "line": 2}]
    assert batch["request_counts"] == {"total": 3, "completed": 0, "failed": 0}
    assert batch["expires_at"] == 100 + 24 * 3600 and batch["input_file_id"] == "file-1"


# --- the validation report of an OpenAI batch file -----------------------------------------------------------------


def report_of(lines: list[bytes], limits: Limits = LIMITS, size: int = 100) -> tuple[dict, list[dict]]:
    """The validation report (as written for the user) and the staged Bedrock records."""
    staged: list[bytes] = []
    report = validate_batch_lines(lines, size=size, enabled=KNOWN_MODELS, limits=limits, emit=staged.append)
    return report.to_dict(), [json.loads(x) for x in staged]


def request_line(**fields: object) -> bytes:
    """A line of any shape: a valid request with `fields` replaced (None leaves a field out)."""
    request = {**json.loads(line("a")), **fields}
    return json.dumps({name: value for name, value in request.items() if value is not None}).encode()


def line_codes(report: dict) -> list[tuple[int | None, str]]:
    """(line, code) of each problem in a report."""
    return [(p["line"], p["code"]) for p in report["problems"]]


def problem(code: str, message: str, param: str | None = None) -> dict:
    return {"line": 1, "code": code, "message": message, "param": param}


CUSTOM_ID_RULE = "custom_id must be a string of 1-4096 characters"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", problem("blank_line", "blank line: every line must be one JSON request")),
        (b" \t\r", problem("blank_line", "blank line: every line must be one JSON request")),
        (b'{"custom_id": ', problem("invalid_json", "invalid JSON: Expecting value: line 1 column 15 (char 14)")),
        (b'["a"]', problem("invalid_request", "a line must be a JSON object")),
        (
            b"\xff{}",
            {
                "line": 1,
                "code": "invalid_utf8",
                "message": "not UTF-8: byte 0xff at column 1 (invalid start byte); save the file as UTF-8",
            },
        ),
        (
            b'{"custom_id": "k", "body": {"messages": ' + b"[" * 200 + b"]" * 200 + b"}}",
            problem(
                "json_too_deep",
                "invalid JSON: JSON nested more than 128 levels deep: line 1 column 167 (char 166)",
                "body",
            ),
        ),
        (request_line(custom_id=None), problem("missing_custom_id", "missing custom_id", "custom_id")),
        (request_line(custom_id=""), problem("invalid_custom_id", CUSTOM_ID_RULE, "custom_id")),
        (request_line(custom_id="x" * 4097), problem("invalid_custom_id", CUSTOM_ID_RULE, "custom_id")),
        (request_line(custom_id=["a"]), problem("invalid_custom_id", CUSTOM_ID_RULE, "custom_id")),
        (request_line(method="GET"), problem("invalid_method", "method must be 'POST', got 'GET'", "method")),
        (request_line(method=None), problem("invalid_method", "method must be 'POST', got None", "method")),
        (
            request_line(url="/v1/responses"),
            problem(
                "invalid_url",
                "url must be '/v1/chat/completions' (the batch's endpoint), got '/v1/responses'",
                "url",
            ),
        ),
        (
            request_line(header={"x": 1}),
            problem("unknown_field", "unknown field 'header'; a line has custom_id, method, url and body", "header"),
        ),
        (
            request_line(body=["hi"]),
            problem("invalid_body", "body must be a JSON object (a chat completion request)", "body"),
        ),
        (
            request_line(body=None),
            problem("invalid_body", "body must be a JSON object (a chat completion request)", "body"),
        ),
        (
            line(stream=True),
            problem("stream_not_allowed", "body.stream must not be true in a batch", "body.stream"),
        ),
        (
            line(tools=[{"type": "function", "function": {"name": "f"}}]),
            problem("tools_not_allowed", "tools are not supported in batch inference", "body.tools"),
        ),
        (
            line(temperature="hot"),
            problem(
                "invalid_body", "body.temperature: 'temperature' must be a number between 0 and 2.", "body.temperature"
            ),
        ),
        (
            line(model="gpt-5"),
            problem(
                "model_not_found",
                "body.model: The model 'gpt-5' does not exist or is not enabled on this gateway.",
                "body.model",
            ),
        ),
    ],
)
def test_each_bad_line_is_reported_once_with_its_message_and_param_and_staged_nowhere(
    raw: bytes, expected: dict
) -> None:
    # Given a one-line file whose line has exactly one mistake
    # When it is validated
    report, staged = report_of([raw])
    # Then the report names that one problem, with the message and param the user reads, and nothing is staged
    assert report["valid"] is False and report["problem_count"] == 1
    assert report["problems"] == [expected]
    assert staged == []


@pytest.mark.parametrize(
    ("encoding", "code"),
    [("utf-16", "invalid_utf8"), ("utf-32", "invalid_utf8"), ("utf-8-sig", "byte_order_mark")],
)
def test_a_valid_request_saved_in_another_encoding_than_plain_utf8_is_refused(encoding: str, code: str) -> None:
    # Given a valid request saved as UTF-16, UTF-32 or UTF-8 with a byte order mark (all of which JSON could read)
    raw = line("a").decode().encode(encoding)
    # When the file is validated
    report, staged = report_of([raw])
    # Then the line is refused as not plain UTF-8, and nothing is staged
    assert line_codes(report) == [(1, code)]
    assert staged == []


def test_a_line_handed_over_as_text_is_checked_as_its_utf8_bytes_are() -> None:
    # Given a valid line and a refused one, as bytes and as text
    # Then each is checked the same way in both forms (the same custom_id, model, record and problems)
    for raw in (line("a"), line("a", stream=True)):
        assert check_line(raw.decode(), 4, enabled=KNOWN_MODELS, limits=LIMITS) == check_line(
            raw, 4, enabled=KNOWN_MODELS, limits=LIMITS
        )


def test_a_line_with_several_mistakes_lists_them_all_in_the_lines_field_order() -> None:
    # Given one line with two unknown fields, a bad custom_id, method, url and body
    raw = request_line(zeta=1, alpha=2, custom_id=5, method="PUT", url="/v1/embeddings", body="hi")
    # When it is validated
    report, _ = report_of([raw])
    # Then every mistake is listed, unknown fields in alphabetical order first
    assert [(p["code"], p["param"]) for p in report["problems"]] == [
        ("unknown_field", "alpha"),
        ("unknown_field", "zeta"),
        ("invalid_custom_id", "custom_id"),
        ("invalid_method", "method"),
        ("invalid_url", "url"),
        ("invalid_body", "body"),
    ]


def test_a_line_with_a_good_body_but_a_bad_envelope_is_reported_with_its_model_and_staged_nowhere() -> None:
    # Given a valid first line, then a line whose body is fine but whose url is not
    lines = [line("a"), request_line(custom_id="b", url="/v1/completions")]
    # When the file is validated
    report, staged = report_of(lines)
    # Then only the url is reported (the model matches line 1's), and nothing of the bad line reaches Bedrock
    assert line_codes(report) == [(2, "invalid_url")]
    assert [record["recordId"] for record in staged] == ["line-000001"]


# A line of the common shape, and one beyond it (an empty tools list), for rules every line must meet the same way.
SHAPES = [{}, {"tools": []}]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("custom_id", ["x", "x" * 4096, "ä" * 4096])
def test_custom_ids_of_one_to_4096_characters_are_valid(custom_id: str, shape: dict) -> None:
    report, staged = report_of([line(custom_id, **shape)])
    assert report["valid"] is True and len(staged) == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_a_line_of_exactly_the_per_request_limit_is_valid_and_one_byte_more_is_refused(shape: dict) -> None:
    # Given a per-request limit of exactly the length of one valid line
    raw = line("a", **shape)
    limits = Limits(max_records=5, max_record_bytes=len(raw))
    # When that line, and the same line one byte longer, are validated
    at_limit, staged = report_of([raw], limits)
    over, _ = report_of([raw + b" "], limits)
    # Then the first is valid and the second is refused, naming the limit
    assert at_limit["valid"] is True and len(staged) == 1
    message = f"the line is over {len(raw)} bytes (the per-request limit)"
    assert over["problems"] == [problem("request_too_large", message)]


@pytest.mark.parametrize(
    "raw",
    [
        line(stream=False),
        line(tools=[]),
        line(messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}]),
        line(messages=[{"role": "user", "content": "hi", "name": "ann"}], max_tokens=20),
    ],
)
def test_a_line_the_common_shape_does_not_cover_is_still_valid_and_staged(raw: bytes) -> None:
    # Given a valid line beyond the plainest shape (a false stream, no tools, text parts, a name)
    # When it is validated with and without staging
    report, staged = report_of([raw])
    unstaged = validate_batch_lines([raw], size=100, enabled=KNOWN_MODELS, limits=LIMITS)
    # Then it is valid both ways and staged once, for the Bedrock model, under its line's record id
    assert report["valid"] is True and unstaged.valid
    assert [(record["recordId"], record["modelInput"]["model"]) for record in staged] == [("line-000001", GPT_OSS_120B)]
    assert "stream" not in staged[0]["modelInput"]


def test_a_valid_file_reports_its_model_request_count_and_size() -> None:
    # Given three valid lines naming the 20b model by alias and by Bedrock id
    lines = [line("a", model="gpt-oss-20b"), line("b", model=GPT_OSS_20B), line("c", model="openai/gpt-oss-20b")]
    # When the file is validated, staged or not
    report, staged = report_of(lines, size=321)
    unstaged = validate_batch_lines(lines, size=321, enabled=KNOWN_MODELS, limits=LIMITS)
    # Then the report is valid and names the Bedrock model, the requests and the bytes
    expected = {"valid": True, "model": GPT_OSS_20B, "records": 3, "bytes": 321, "problem_count": 0}
    assert report == {**expected, "problems_shown": 0, "problems": []}
    assert unstaged.to_dict() == report
    assert [record["recordId"] for record in staged] == ["line-000001", "line-000002", "line-000003"]


def test_the_batch_model_is_the_first_model_a_line_names_and_lines_without_one_do_not_change_it() -> None:
    # Given a first line naming no usable model, then a 120b line, then lines whose model is unknown or refused
    lines = [line("a", model="gpt-5"), line("b"), line("c", model="gpt-4o"), line("d", temperature="hot")]
    # When the file is validated
    report, _ = report_of(lines)
    # Then the batch model is 120b, and each bad line is reported only for its own mistake (not as a mixed model)
    assert report["model"] == GPT_OSS_120B
    assert line_codes(report) == [
        (1, "model_not_found"),
        (3, "model_not_found"),
        (4, "invalid_body"),
    ]


def test_an_invalid_line_still_sets_the_batch_model_and_counts_its_custom_id() -> None:
    # Given a first line naming 120b with a wrong url, then a 20b line repeating its custom_id
    lines = [request_line(custom_id="a", url="/v1/completions"), line("a", model="gpt-oss-20b")]
    # When the file is validated
    report, _ = report_of(lines)
    # Then line 1's model is the batch's, and line 2 is reported both as another model and as a repeated custom_id
    assert report["model"] == GPT_OSS_120B
    assert line_codes(report) == [
        (1, "invalid_url"),
        (2, "mixed_models"),
        (2, "duplicate_custom_id"),
    ]


def test_lines_without_a_custom_id_are_each_reported_as_missing_one_not_as_repeats() -> None:
    report, _ = report_of([request_line(custom_id=None), request_line(custom_id=None)])
    assert line_codes(report) == [(1, "missing_custom_id"), (2, "missing_custom_id")]


def test_a_line_naming_another_model_says_which_model_the_batch_has() -> None:
    report, _ = report_of([line("a"), line("b", model="gpt-oss-20b")])
    message = f"body.model {GPT_OSS_20B} differs from the batch's model {GPT_OSS_120B} (line 1's)"
    assert report["problems"] == [{**problem("mixed_models", message, "body.model"), "line": 2}]


def test_a_repeated_custom_id_names_the_line_that_used_it_first() -> None:
    # Given custom_id "a" on lines 1 and 3 (and the limit of requests reached exactly by line 3)
    report, _ = report_of([line("a"), line("b"), line("a")], Limits(max_records=3))
    # Then line 3 is reported, naming line 1
    message = "custom_id 'a' already used on line 1"
    assert report["problems"] == [{**problem("duplicate_custom_id", message, "custom_id"), "line": 3}]


def test_custom_ids_past_the_request_limit_are_not_remembered_and_the_count_is_reported() -> None:
    # Given a limit of 2 requests and a third line repeating line 1's custom_id
    report, _ = report_of([line("a"), line("b"), line("a")], Limits(max_records=2))
    # Then the file is refused for its size only, with the count and the limit
    assert report["records"] == 3
    assert report["problems"] == [
        {"line": None, "code": "too_many_requests", "message": "3 requests; a batch allows at most 2"}
    ]


def test_a_file_of_exactly_the_request_limit_is_valid() -> None:
    report, staged = report_of([line("a"), line("b")], Limits(max_records=2))
    assert report["valid"] is True and len(staged) == 2


def test_an_empty_file_is_refused_with_a_message_and_no_model() -> None:
    report, _ = report_of([], size=0)
    assert report == {
        "valid": False,
        "model": "",
        "records": 0,
        "bytes": 0,
        "problem_count": 1,
        "problems_shown": 1,
        "problems": [{"line": None, "code": "empty_file", "message": "the file has no requests"}],
    }


def test_a_file_over_the_size_limit_is_refused_before_any_line_is_read() -> None:
    # Given a file one byte over the limit (its lines would be invalid)
    limits = Limits(max_records=5, max_file_bytes=1000)
    # When it is validated
    report, staged = report_of([b"{not json"], limits, size=1001)
    # Then only its size is reported, and nothing is read or staged
    message = "file is 1001 bytes; the limit is 1000 bytes"
    assert report["problems"] == [{"line": None, "code": "file_too_large", "message": message}]
    assert report["records"] == 0 and report["bytes"] == 1001 and staged == []


def test_a_file_of_exactly_the_size_limit_is_read() -> None:
    report, _ = report_of([line("a")], Limits(max_records=5, max_file_bytes=1000), size=1000)
    assert report["valid"] is True and report["records"] == 1


def test_custom_ids_reads_none_for_a_line_without_a_string_custom_id() -> None:
    # Given an input file's lines: a good one, broken JSON, a JSON array, a number custom_id, a JSON string
    lines = [line("a"), b"{not json", b'["a"]', line(7), b'"a"', request_line(custom_id=None)]
    # When the custom_ids are read back
    # Then only the good line's comes back, the others are None (their results keep an empty custom_id)
    assert custom_ids(lines) == ["a", None, None, None, None, None]


def test_record_ids_have_six_digits_at_least() -> None:
    assert record_id(1) == "line-000001" and record_id(1234567) == "line-1234567"
    assert line_of("line-000001") == 1 and line_of("line-1234567") == 1234567
    assert line_of("line-12345") is None and line_of("xline-000001") is None and line_of("line-000001x") is None


# --- output and error files ----------------------------------------------------------------------------------------


def test_an_output_line_is_openais_success_shape_with_ids_stable_per_batch_and_custom_id() -> None:
    # Given a completed record
    completion = {"id": "chatcmpl-1", "object": "chat.completion", "choices": []}
    result = BatchResult("line-000001", completion=completion)
    # When its output line is written (twice, as a retried step would), and for another batch and custom_id
    ok = output_line("batch_1", "a", result)
    # Then it is OpenAI's shape: an id, the custom_id, a 200 response whose request id shares the id's digest
    assert re.fullmatch(r"batch_req_[0-9a-f]{32}", ok["id"])
    assert ok == {
        "id": ok["id"],
        "custom_id": "a",
        "response": {
            "status_code": 200,
            "request_id": "req_" + ok["id"].removeprefix("batch_req_"),
            "body": completion,
        },
        "error": None,
    }
    # And the ids are the same on a retry, and differ for another batch or another custom_id
    assert output_line("batch_1", "a", result)["id"] == ok["id"]
    assert len({ok["id"], output_line("batch_2", "a", result)["id"], output_line("batch_1", "b", result)["id"]}) == 3


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        ({"code": "ValidationException", "message": "bad thing"}, 400, "invalid_request_error"),
        ({"code": "ModelTimeoutException", "message": "bad thing"}, 504, "api_error"),
        ({"code": "ThrottlingException", "message": "bad thing"}, 429, "rate_limit_error"),
    ],
)
def test_a_record_bedrock_refused_is_an_error_line_with_the_http_response_it_would_have_got(
    error: dict, status: int, kind: str
) -> None:
    # Given a record Bedrock answered with an error
    # When its error line is written
    failed = output_line("batch_1", "a", BatchResult("line-000001", error=error))
    # Then it carries the error and the response an OpenAI client would have got: status, error object
    assert failed["error"] == error
    assert failed["response"] == {
        "status_code": status,
        "request_id": "req_" + failed["id"].removeprefix("batch_req_"),
        "body": {"error": {"message": "bad thing", "type": kind, "param": None, "code": error["code"]}},
    }


def test_a_failed_record_without_details_still_gets_a_code_and_a_message() -> None:
    failed = output_line("batch_1", "a", BatchResult("line-000001", error={"code": "", "message": None}))
    assert failed["error"] == {"code": "error", "message": "the request failed"}
    assert failed["response"]["status_code"] == 502
    assert failed["response"]["body"]["error"] == {
        "message": "the request failed",
        "type": "api_error",
        "param": None,
        "code": "error",
    }
    assert output_line("batch_1", "a", BatchResult("line-000001"))["error"] == failed["error"]


@pytest.mark.parametrize("code", ["not_processed", "invalid_output", "batch_cancelled"])
def test_a_record_the_model_never_answered_has_an_error_and_no_response(code: str) -> None:
    skipped = output_line("batch_1", "a", BatchResult("line-000001", error={"code": code, "message": "why"}))
    assert skipped["response"] is None and skipped["error"] == {"code": code, "message": "why"}


# --- requests to the API -------------------------------------------------------------------------------------------

CREATE = {"input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h"}


def refusal(call: Callable[..., object], *args: object) -> tuple[int, str, str, str | None]:
    """(status, type, message, param) of the OpenAI error `call(*args)` raises."""
    with pytest.raises(GatewayError) as caught:
        call(*args)
    return caught.value.status, caught.value.type, caught.value.message, caught.value.param


def test_a_create_batch_body_gives_the_input_file_and_metadata() -> None:
    assert parse_batch_request(CREATE) == {"input_file_id": "file-1", "metadata": None}
    metadata = {f"k{i}": "v" * 512 for i in range(15)} | {"k" * 64: ""}
    asked = parse_batch_request({**CREATE, "metadata": metadata, "output_expires_after": {"anchor": "created_at"}})
    assert asked == {"input_file_id": "file-1", "metadata": metadata}


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        (["file-1"], "The request body must be a JSON object.", None),
        ({**CREATE, "zz": 1, "aa": 2}, "Unrecognized request argument supplied: aa", "aa"),
        (
            {**CREATE, "input_file_id": ""},
            "'input_file_id' must be the id of a file uploaded with purpose 'batch'.",
            "input_file_id",
        ),
        (
            {**CREATE, "input_file_id": 7},
            "'input_file_id' must be the id of a file uploaded with purpose 'batch'.",
            "input_file_id",
        ),
        (
            {**CREATE, "endpoint": "/v1/responses"},
            "'endpoint' must be '/v1/chat/completions': the gateway runs chat completion batches only.",
            "endpoint",
        ),
        ({**CREATE, "completion_window": None}, "'completion_window' must be '24h'.", "completion_window"),
        ({**CREATE, "metadata": ["k"]}, "'metadata' must be an object of at most 16 pairs.", "metadata"),
        (
            {**CREATE, "metadata": {f"k{i}": "v" for i in range(17)}},
            "'metadata' must be an object of at most 16 pairs.",
            "metadata",
        ),
        (
            {**CREATE, "metadata": {"k" * 65: "v"}},
            "metadata keys are at most 64 characters and values strings of at most 512.",
            "metadata." + "k" * 65,
        ),
        (
            {**CREATE, "metadata": {"k": "v" * 513}},
            "metadata keys are at most 64 characters and values strings of at most 512.",
            "metadata.k",
        ),
    ],
)
def test_a_bad_create_batch_body_is_a_400_saying_what_is_wrong(body: object, message: str, param: str | None) -> None:
    assert refusal(parse_batch_request, body) == (400, "invalid_request_error", message, param)


def test_only_batch_files_can_be_uploaded() -> None:
    assert parse_purpose("batch") == "batch"
    message = "'purpose' must be 'batch': the gateway stores batch input files."
    assert refusal(parse_purpose, "fine-tune") == (400, "invalid_request_error", message, "purpose")
    assert refusal(parse_purpose, None) == (400, "invalid_request_error", message, "purpose")


def test_a_batch_created_through_the_api_starts_the_state_machine_as_an_s3_upload_would() -> None:
    # Given a batch created through the API over an uploaded file
    batch = {"id": "batch_1", "owner": "team-a", "input_file_id": "file-1"}
    # When the state machine's input is built
    event = execution_input("bucket-1", "files/team-a/file-1.jsonl", "etag-1", 1234, batch)
    # Then it is S3's "Object Created" shape naming the file, with the batch beside it
    assert event == {
        "source": "gptoss.batch-api",
        "detail-type": "Batch Created",
        "detail": {
            "bucket": {"name": "bucket-1"},
            "object": {"key": "files/team-a/file-1.jsonl", "etag": "etag-1", "size": 1234},
            "batch": batch,
        },
    }


def test_a_file_object_has_openais_shape() -> None:
    assert file_object("file-1", filename="in.jsonl", size=12, created_at=100, purpose="batch") == {
        "id": "file-1",
        "object": "file",
        "bytes": 12,
        "created_at": 100,
        "filename": "in.jsonl",
        "purpose": "batch",
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01T00:00:10Z", 1767225610),
        ("2026-01-01T01:00:10+01:00", 1767225610),
        ("2026-01-01T00:00:10.900000+00:00", 1767225610),
        (1767225610, 1767225610),
        (1767225610.9, 1767225610),
        (0, 0),
        (True, None),
        ("", None),
        ("yesterday", None),
        (None, None),
        (["2026-01-01T00:00:10Z"], None),
    ],
)
def test_times_are_seconds_since_the_epoch(value: object, expected: int | None) -> None:
    assert epoch(value) == expected


# --- the batch object ----------------------------------------------------------------------------------------------

API_REQUEST = {"id": "batch_1", "created_at": 100, "input_file_id": "file-1", "metadata": {"team": "a"}}


def test_a_completed_api_batch_shows_every_time_count_file_and_its_usage() -> None:
    # Given the run record of a batch created through the API that completed with its output and error files
    status = {
        "id": "batch_1",
        "state": "partially_completed",
        "model": GPT_OSS_120B,
        "file": "s3://bucket/files/team/file-1.jsonl",
        "created_at": "2026-01-01T00:00:00Z",
        "submitted_at": "2026-01-01T00:00:01Z",
        "finalizing_at": "2026-01-01T00:00:08Z",
        "ended_at": "2026-01-01T00:00:10Z",
        "updated_at": "2026-01-01T00:00:11Z",
        "records": {"total": 3, "succeeded": 2, "failed": 1},
        "tokens": {"input": 30, "output": 12},
        "openai": {"output_file_id": "file-out", "error_file_id": "file-err"},
    }
    # When the batch object is built
    batch = batch_object(status, request=API_REQUEST)
    # Then it is OpenAI's batch object with all of it
    assert batch == {
        "id": "batch_1",
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "model": GPT_OSS_120B,
        "errors": None,
        "input_file_id": "file-1",
        "completion_window": "24h",
        "status": "completed",
        "output_file_id": "file-out",
        "error_file_id": "file-err",
        "created_at": 100,
        "in_progress_at": 1767225601,
        "expires_at": 100 + 86400,
        "finalizing_at": 1767225608,
        "completed_at": 1767225610,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 3, "completed": 2, "failed": 1},
        "usage": {
            "input_tokens": 30,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 12,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 42,
        },
        "metadata": {"team": "a"},
    }


def test_a_batch_just_created_through_the_api_is_validating_with_nothing_counted_yet() -> None:
    # Given a batch created through the API whose run has not written its status yet
    batch = batch_object(None, request=API_REQUEST)
    # Then it is validating, created when asked, with zero counts and no times, files, usage or errors
    assert batch["id"] == "batch_1" and batch["status"] == "validating" and batch["input_file_id"] == "file-1"
    assert batch["created_at"] == 100 and batch["expires_at"] == 100 + 86400
    assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert batch["metadata"] == {"team": "a"} and batch["model"] is None
    nothing = ("errors", "output_file_id", "error_file_id", "in_progress_at", "finalizing_at", "cancelling_at", "usage")
    assert {name: batch[name] for name in nothing} == dict.fromkeys(nothing)
    assert [name for name, value in batch.items() if name.endswith("_at") and value is not None] == [
        "created_at",
        "expires_at",
    ]


def test_a_run_started_by_an_upload_takes_its_id_time_file_and_model_from_its_status() -> None:
    # Given the status of a run started by an S3 upload (no API request), before its counts and tokens are known
    status = {
        "id": "nightly",
        "state": "in_progress",
        "file": "s3://bucket/input/nightly.jsonl",
        "created_at": "2026-01-01T00:00:00Z",
        "model": GPT_OSS_20B,
        "records": {"total": 4},
        "tokens": {},
    }
    # When the batch object is built
    batch = batch_object(status)
    # Then the run's own id, file, model and creation time are shown, and the counts not given are 0
    assert (batch["id"], batch["input_file_id"], batch["model"]) == ("nightly", status["file"], GPT_OSS_20B)
    assert batch["created_at"] == 1767225600 and batch["expires_at"] == 1767225600 + 86400
    assert batch["request_counts"] == {"total": 4, "completed": 0, "failed": 0}
    assert batch["usage"] is None and batch["metadata"] is None and batch["status"] == "in_progress"


def test_a_batch_without_any_creation_time_counts_from_zero() -> None:
    batch = batch_object({"id": "x", "state": "in_progress"})
    assert batch["created_at"] == 0 and batch["expires_at"] == 86400


def test_the_model_asked_for_shows_until_the_run_names_its_own() -> None:
    batch = batch_object({"state": "validating"}, request={**API_REQUEST, "model": "gpt-oss-20b"})
    assert batch["model"] == "gpt-oss-20b"


def test_usage_counts_missing_token_figures_as_zero() -> None:
    usage = batch_object({"state": "completed", "tokens": {"input": 7, "output": None}})["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (7, 0, 7)
    usage = batch_object({"state": "completed", "tokens": {"output": "5"}})["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (0, 5, 5)


@pytest.mark.parametrize(
    ("state", "cancelled", "ended"),
    [
        ("completed", False, "completed_at"),
        ("error", False, "failed_at"),
        ("expired", False, "expired_at"),
        ("cancelled", False, "cancelled_at"),
        ("stopped", True, "cancelled_at"),
    ],
)
def test_an_ended_batch_shows_when_it_ended_in_its_statuss_field_only(state: str, cancelled: bool, ended: str) -> None:
    # Given an ended run, with and without its end time recorded (then its last update stands for it)
    cancel_at = "2026-01-01T00:00:05Z" if cancelled else None
    status = {"state": state, "ended_at": "2026-01-01T00:00:10Z", "updated_at": "2026-01-01T00:00:20Z"}
    batch = batch_object(status, request=API_REQUEST, cancel_requested_at=cancel_at)
    updated = batch_object({**status, "ended_at": None}, request=API_REQUEST, cancel_requested_at=cancel_at)
    # Then the end time is in the field of its status, and no other end field is set
    ends = ("completed_at", "failed_at", "expired_at", "cancelled_at")
    assert {name: batch[name] for name in ends} == {**dict.fromkeys(ends), ended: 1767225610}
    assert {name: updated[name] for name in ends} == {**dict.fromkeys(ends), ended: 1767225620}
    assert batch["cancelling_at"] == (1767225605 if cancelled else None)


def test_a_batch_asked_to_cancel_shows_when_it_was_asked_and_no_end_yet() -> None:
    status = {"state": "in_progress", "updated_at": "2026-01-01T00:00:20Z"}
    batch = batch_object(status, request=API_REQUEST, cancel_requested_at="2026-01-01T00:00:05Z")
    assert batch["status"] == "cancelling" and batch["cancelling_at"] == 1767225605
    assert [batch[name] for name in ("completed_at", "failed_at", "expired_at", "cancelled_at")] == [None] * 4


@pytest.mark.parametrize(("state", "status"), [("error", "failed"), ("expired", "expired")])
def test_a_failed_or_expired_run_shows_its_message_as_the_batchs_error(state: str, status: str) -> None:
    batch = batch_object({"state": state, "message": "the job failed: quota"}, request=API_REQUEST)
    assert batch["status"] == status
    assert batch["errors"] == {
        "object": "list",
        "data": [{"code": state, "message": "the job failed: quota", "param": None, "line": None}],
    }


@pytest.mark.parametrize(
    "status", [{"state": "error"}, {"state": "error", "message": ""}, {"state": "completed", "message": "done"}]
)
def test_a_batch_without_a_failure_message_has_no_errors(status: dict) -> None:
    assert batch_object(status, request=API_REQUEST)["errors"] is None


def test_an_invalid_input_files_problems_are_the_batchs_errors_each_with_its_line() -> None:
    # Given the validation report's problems of an invalid input (a line problem and a file problem)
    problems = [
        {"line": 2, "code": "invalid_url", "message": "url must be ...", "param": "url"},
        {"line": None, "code": "too_many_requests", "message": "6 requests"},
    ]
    # When the batch object is built
    batch = batch_object({"state": "invalid", "message": "the input file is invalid"}, problems=problems)
    # Then its errors are those problems, in order, each with code, message, param and line
    assert batch["errors"] == {
        "object": "list",
        "data": [
            {"code": "invalid_url", "message": "url must be ...", "param": "url", "line": 2},
            {"code": "too_many_requests", "message": "6 requests", "param": None, "line": None},
        ],
    }
