"""Batch input validation and output parsing (pure, no I/O)."""

from __future__ import annotations

import json

import pytest
from gptoss.batch_records import (
    Limits,
    check_record,
    iter_lines,
    parse_output_line,
    plainly_valid,
    record_id_of,
    validate_lines,
)
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B, KNOWN_MODELS
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.bench_validator import SHAPES

LIMITS = Limits(min_records=2, max_records=5, max_file_bytes=10_000)


def record(record_id: str = "rec1", **model_input: object) -> bytes:
    body = {"messages": [{"role": "user", "content": "hi"}], **model_input}
    return json.dumps({"recordId": record_id, "modelInput": body}).encode()


def validate(lines: list[bytes], *, model: str = GPT_OSS_120B, limits: Limits = LIMITS) -> list[tuple[int | None, str]]:
    report = validate_lines(
        lines, size=sum(len(x) + 1 for x in lines), model=model, enabled=KNOWN_MODELS, limits=limits
    )
    return [(problem.line, problem.code) for problem in report.problems]


def test_a_valid_file_has_no_problems() -> None:
    # Given two well-formed records, one naming the batch model by alias
    lines = [record("a1"), record("a2", model="gpt-oss-120b", max_completion_tokens=100)]
    # When it is validated
    report = validate_lines(lines, size=100, model=GPT_OSS_120B, enabled=KNOWN_MODELS, limits=LIMITS)
    # Then it is valid and every record was counted
    assert report.valid
    assert report.records == 2
    assert report.to_dict()["problems"] == []


@pytest.mark.parametrize(
    ("bad_line", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"[" * 5000, "json_too_deep"),
        (b"", "blank_line"),
        (b"[1, 2]", "invalid_record"),
        (json.dumps({"modelInput": {"messages": [{"role": "user", "content": "x"}]}}).encode(), "missing_record_id"),
        (record("has space"), "invalid_record_id"),
        (record("x" * 65), "invalid_record_id"),
        (json.dumps({"recordId": 7, "modelInput": {}}).encode(), "invalid_record_id"),
        (json.dumps({"recordId": "b1"}).encode(), "missing_model_input"),
        (json.dumps({"recordId": "b1", "modelInput": "hi"}).encode(), "invalid_model_input"),
        (json.dumps({"recordId": "b1", "modelInput": {"messages": []}}).encode(), "invalid_model_input"),
        (record("b1", temperature=5), "invalid_model_input"),
        (record("b1", stream=True), "stream_not_allowed"),
        (record("b1", model="gpt-oss-20b"), "model_mismatch"),
        (record("b1", model="gpt-4o"), "model_mismatch"),
        (record("b1", tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]), "tools_not_allowed"),
    ],
)
def test_each_broken_line_is_reported_with_its_line_number(bad_line: bytes, code: str) -> None:
    # Given a file whose second line is broken
    lines = [record("ok1"), bad_line, record("ok3")]
    # When it is validated
    problems = validate(lines)
    # Then the problem names line 2 and what is wrong
    assert (2, code) in problems
    assert all(line == 2 for line, _ in problems)


@pytest.mark.parametrize(
    ("bad_line", "code"),
    [
        (b"\xef\xbb\xbf" + record("b1"), "byte_order_mark"),
        (record("b1").decode().encode("utf-16"), "invalid_utf8"),
        (record("b1").decode().encode("utf-16-be"), "invalid_json"),
        (record("b1", temperature=1).replace(b"hi", b"caf\xe9"), "invalid_utf8"),
        (record("b1").replace(b"hi", b"\xed\xa0\x80"), "invalid_utf8"),
        (b"42", "invalid_record"),
        (b'"text"', "invalid_record"),
        (b"null", "invalid_record"),
        (b"   \r", "blank_line"),
        (record("b1", max_completion_tokens=0), "invalid_model_input"),
        (record("b1", max_completion_tokens=-5), "invalid_model_input"),
        (record("b1", max_completion_tokens=True), "invalid_model_input"),
        (record("b1", max_completion_tokens=1.5), "invalid_model_input"),
        (record("b1", model="openai.gpt-oss-20b-1:0"), "model_mismatch"),
        (record("b1", model=7), "model_mismatch"),
    ],
)
def test_encoding_and_value_edge_cases_are_line_numbered_problems(bad_line: bytes, code: str) -> None:
    # Given a file whose second line has a byte order mark, is UTF-16, has a non-UTF-8 byte or a lone surrogate,
    # is a bare JSON value or whitespace, or has an out-of-range token limit or another model
    lines = [record("ok1"), bad_line, record("ok3")]
    # When it is validated (never a crash)
    problems = validate(lines)
    # Then line 2 alone is reported, with the precise problem
    assert (2, code) in problems
    assert all(line == 2 for line, _ in problems)


def test_crlf_endings_trailing_whitespace_and_the_model_id_are_accepted() -> None:
    # Given a CRLF file with whitespace around a record, naming the batch model by its Bedrock id and by an alias
    data = record("c1", model=GPT_OSS_120B) + b"  \t\r\n" + record("c2", model="gpt-oss-120b") + b"\r\n"
    # When split as the pipeline streams it, and validated
    problems = validate(list(iter_lines([data])))
    # Then nothing is reported
    assert problems == []


def test_a_record_over_the_size_limit_is_reported_without_holding_the_line() -> None:
    # Given a 3 MB line arriving in 64 KiB chunks between two normal records, and a 1 MB per-record limit
    limits = Limits(min_records=2, max_records=5, max_record_bytes=1_000_000)
    huge = record("big", temperature=1).replace(b"hi", b"x" * 3_000_000)
    data = record("ok1") + b"\n" + huge + b"\n" + record("ok3") + b"\n"
    chunks = [data[i : i + 65_536] for i in range(0, len(data), 65_536)]
    # When split with that limit and validated
    lines = list(iter_lines(chunks, limits.max_record_bytes))
    problems = validate(lines, limits=limits)
    # Then the long line was cut just past the limit, the next record is intact, and line 2 is too large
    assert [len(line) for line in lines][1] == 1_000_001
    assert json.loads(lines[2])["recordId"] == "ok3"
    assert problems == [(2, "record_too_large")]


def test_a_duplicate_record_id_names_the_first_line() -> None:
    # Given the same recordId on lines 1 and 3
    lines = [record("dup"), record("other"), record("dup")]
    # When it is validated
    report = validate_lines(lines, size=10, model=GPT_OSS_120B, enabled=KNOWN_MODELS, limits=LIMITS)
    # Then line 3 is reported as a duplicate of line 1
    [problem] = report.problems
    assert (problem.line, problem.code) == (3, "duplicate_record_id")
    assert "line 1" in problem.message


def test_record_count_and_file_size_quotas_are_enforced() -> None:
    # Given one record (under the batch minimum of 2), no record, too many records, and a file over the size limit
    below_minimum = validate([record("only")])
    empty = validate([])
    too_many = validate([record(f"r{i}") for i in range(6)])
    report = validate_lines(iter([]), size=10_001, model=GPT_OSS_120B, enabled=KNOWN_MODELS, limits=LIMITS)
    # Then the single record is valid (it runs on demand), and each other file has a whole-file problem
    assert below_minimum == []
    assert empty == [(None, "empty_file")]
    assert too_many == [(None, "too_many_records")]
    assert [(p.line, p.code) for p in report.problems] == [(None, "file_too_large")]


def test_tools_are_accepted_when_the_limits_allow_them() -> None:
    # Given a record offering a tool, and limits that allow tools
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    lines = [record("t1", tools=[tool]), record("t2")]
    # When it is validated
    problems = validate(lines, limits=Limits(min_records=2, max_records=5, allow_tools=True))
    # Then nothing is reported
    assert problems == []


def test_the_model_is_checked_against_the_batch_model() -> None:
    # Given a batch for the 20b model and records naming it by different aliases
    lines = [record("m1", model="openai/gpt-oss-20b"), record("m2", model=GPT_OSS_20B)]
    # When validated for the 20b model
    # Then both agree with it
    assert validate(lines, model=GPT_OSS_20B) == []


def test_only_the_first_problems_are_kept_but_all_are_counted() -> None:
    # Given 1,500 broken lines
    lines = [b"nope"] * 1500
    # When validated with a generous record quota
    limits = Limits(min_records=1, max_records=10_000)
    report = validate_lines(lines, size=10, model=GPT_OSS_120B, enabled=KNOWN_MODELS, limits=limits)
    # Then the report keeps 1,000 problems and counts all of them
    assert report.problem_count == 1500
    assert len(report.problems) == 1000
    assert report.to_dict()["problems_shown"] == 1000


def test_lines_are_reassembled_across_chunk_boundaries() -> None:
    # Given a stream cut in awkward places, with CRLF endings and no final newline
    chunks = [b'{"a"', b":1}\r\n{", b'"b":2}\n', b"", b'{"c":3}']
    # When split into lines
    lines = list(iter_lines(chunks))
    # Then each JSON line is intact
    assert [json.loads(line) for line in lines] == [{"a": 1}, {"b": 2}, {"c": 3}]


def test_a_trailing_newline_does_not_make_an_extra_line() -> None:
    # Given a file ending with a newline
    # When split
    # Then there are exactly two lines
    assert list(iter_lines([b"x\ny\n"])) == [b"x", b"y"]


def test_record_id_of_reads_a_validated_line() -> None:
    # Given a well-formed record line and a garbage line
    # When their record ids are read
    # Then the record's id comes back, and nothing for the garbage
    assert record_id_of(record("abc")) == "abc"
    assert record_id_of(b"garbage") is None


def output_line(record_id: str, content: str) -> bytes:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": GPT_OSS_120B,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }
    return json.dumps({"recordId": record_id, "modelInput": {}, "modelOutput": completion}).encode()


def test_a_successful_output_line_becomes_a_completion_with_reasoning_split_out() -> None:
    # Given Bedrock's output for a record whose answer starts with inline reasoning
    line = output_line("r1", "<reasoning>think first</reasoning>The answer.")
    # When parsed
    result = parse_output_line(line, model=GPT_OSS_120B)
    # Then it is a chat.completion with the reasoning separated from the content
    assert result.succeeded
    message = result.to_dict()["response"]["choices"][0]["message"]
    assert message["content"] == "The answer."
    assert message["reasoning_content"] == "think first"
    assert result.to_dict()["recordId"] == "r1"
    assert result.usage() == (11, 7)


def test_a_failed_output_line_keeps_bedrocks_error() -> None:
    # Given Bedrock's output for a record that failed
    line = json.dumps({"recordId": "r2", "modelInput": {}, "error": {"errorCode": 400, "errorMessage": "bad input"}})
    # When parsed
    result = parse_output_line(line, model=GPT_OSS_120B)
    # Then it is a failure carrying Bedrock's code and message
    assert not result.succeeded
    assert result.to_dict() == {"recordId": "r2", "error": {"code": "400", "message": "bad input"}}


@pytest.mark.parametrize(
    "line",
    [
        b"oops",
        b"[]",
        b"\xff\xfe",
        b"[" * 5000,
        json.dumps({"recordId": "r3", "modelOutput": {}}).encode(),
        json.dumps({"recordId": "r3", "modelOutput": {"output": {"message": {"content": [{"text": "hi"}]}}}}).encode(),
        json.dumps({"recordId": "r3", "modelOutput": {"choices": [{"message": None}]}}).encode(),
        json.dumps({"recordId": "r3", "modelOutput": {"choices": "none"}}).encode(),
    ],
)
def test_an_unreadable_output_line_is_a_failure_not_a_crash(line: bytes) -> None:
    # Given a Bedrock output line that is not JSON or not an object, or whose modelOutput is missing, Converse-shaped
    # or otherwise not a chat.completion
    # When it is parsed
    result = parse_output_line(line, model=GPT_OSS_120B)
    # Then it is reported as invalid output
    assert not result.succeeded
    assert result.error["code"] == "invalid_output"


def test_a_truncated_output_line_is_still_attributed_to_its_record() -> None:
    # Given an output line cut off mid-JSON, its recordId still readable
    line = output_line("r7", "answer")[:60]
    # When parsed
    result = parse_output_line(line, model=GPT_OSS_120B)
    # Then the failure carries that recordId
    assert (result.record_id, result.error["code"]) == ("r7", "invalid_output")


def test_usage_that_is_not_a_count_adds_no_tokens() -> None:
    # Given a completion whose usage numbers are not counts
    value = json.loads(output_line("r8", "ok"))
    value["modelOutput"]["usage"] = {"prompt_tokens": "many", "completion_tokens": -3}
    # When parsed and its usage read
    result = parse_output_line(json.dumps(value), model=GPT_OSS_120B)
    # Then it succeeded and counts zero tokens rather than failing the whole collection
    assert result.succeeded
    assert result.usage() == (0, 0)


_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.lists(st.text(max_size=3), max_size=1),
)
_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "developer", "user", "assistant"]), "content": st.text(max_size=5)}
)
_plausible = {
    "model": st.just(GPT_OSS_120B),
    "max_completion_tokens": st.integers(1, 5000),
    "max_tokens": st.integers(1, 5000),
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1),
    "reasoning_effort": st.sampled_from(["low", "medium", "high"]),
    "stream": st.just(False),
    "stop": st.one_of(st.text(min_size=1, max_size=3), st.lists(st.text(min_size=1, max_size=3), max_size=4)),
    "seed": st.integers(0, 10),
    "presence_penalty": st.floats(-2, 2),
    "user": st.text(max_size=5),
    "metadata": st.dictionaries(st.text(min_size=1, max_size=3), st.text(max_size=3), max_size=2),
}
_KEYS = [*_plausible, "messages", "n", "tools", "logit_bias", "top_logprobs", "store", "unknown_field"]


@st.composite
def _model_inputs(draw: st.DrawFn) -> dict:
    """A plausible chat body, then maybe one field or message made wrong."""
    body = draw(st.fixed_dictionaries({"messages": st.lists(_message, min_size=1, max_size=3)}, optional=_plausible))
    if draw(st.booleans()):
        body[draw(st.sampled_from(_KEYS))] = draw(_junk)
    if draw(st.booleans()):
        messages = body.get("messages")
        if isinstance(messages, list) and messages:
            message = draw(st.sampled_from(messages))
            if isinstance(message, dict):
                message[draw(st.sampled_from(["role", "content", "name", "tool_calls"]))] = draw(_junk)
    return body


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.__name__)
def test_the_fast_path_takes_every_realistic_record_shape(shape) -> None:
    # Given each record shape the validator benchmark mixes (stop, sampling fields and metadata, multi-turn history)
    value = {"recordId": "r1", "modelInput": shape(1, "some document text")}
    # When the fast path looks at it
    # Then it accepts it (and the property below shows it never accepts what the full check refuses)
    assert plainly_valid(value, GPT_OSS_120B) == "r1"


def test_the_fast_path_takes_the_common_record_shape() -> None:
    # Given a plain record: text messages and ordinary sampling fields
    value = {"recordId": "r1", "modelInput": {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}}
    # When the fast path looks at it, and at the same record streaming
    accepted = plainly_valid(value, GPT_OSS_120B)
    streaming = plainly_valid({**value, "modelInput": {**value["modelInput"], "stream": True}}, GPT_OSS_120B)
    # Then it accepts the first (so the property below is not vacuous) and leaves the other to the full check
    assert (accepted, streaming) == ("r1", None)


@settings(max_examples=300, deadline=None)
@given(model_input=_model_inputs(), record_id=st.sampled_from(["ok1", "bad id", "", "x" * 64, "x" * 65]))
def test_the_fast_path_never_accepts_what_the_full_check_rejects(model_input: dict, record_id: str) -> None:
    # Given any record
    record_value = {"recordId": record_id, "modelInput": model_input}
    # When the fast path accepts it
    accepted = plainly_valid(record_value, GPT_OSS_120B)
    # Then the full check finds no problem either
    if accepted is not None:
        line = json.dumps(record_value)
        _, problems = check_record(line, 1, model=GPT_OSS_120B, enabled=KNOWN_MODELS, limits=Limits())
        assert problems == []
