"""OpenAI batch lines ⇄ Bedrock records ⇄ OpenAI output lines, and the batch/file objects (pure, no I/O)."""

from __future__ import annotations

import json

import pytest
from gptoss.batch_records import BatchResult, Limits, iter_lines
from gptoss.errors import GatewayError
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B, KNOWN_MODELS
from gptoss.openai_batch import (
    batch_object,
    custom_ids,
    line_of,
    output_line,
    parse_batch_request,
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
