"""Batch input validation and output parsing (pure, no I/O)."""

from __future__ import annotations

import json
import tracemalloc

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
    assert result.to_dict()["response"]["model"] == GPT_OSS_120B
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


def report_of(lines: list[bytes], *, limits: Limits = LIMITS, size: int | None = None) -> dict:
    size = sum(len(x) + 1 for x in lines) if size is None else size
    return validate_lines(lines, size=size, model=GPT_OSS_120B, enabled=KNOWN_MODELS, limits=limits).to_dict()


def problems_on_line_2(bad_line: bytes, limits: Limits = LIMITS) -> list[tuple[str, str]]:
    problems = report_of([record("ok1"), bad_line, record("ok3")], limits=limits)["problems"]
    assert all(problem["line"] == 2 for problem in problems)
    return [(problem["code"], problem["message"]) for problem in problems]


USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        (
            b"caf\xe9 x",
            [("invalid_utf8", "not UTF-8: byte 0xe9 at column 4 (invalid continuation byte); save the file as UTF-8")],
        ),
        (
            b"\xef\xbb\xbf" + record("b1"),
            [
                (
                    "byte_order_mark",
                    "the line starts with a byte order mark (BOM): save the file as UTF-8 without BOM",
                )
            ],
        ),
        (b"[" * 200, [("json_too_deep", "JSON nested more than 128 levels deep (column 129); flatten the record")]),
        (
            b"{x",
            [
                (
                    "invalid_json",
                    "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
                )
            ],
        ),
        (b" \t", [("blank_line", "blank line: every line must be one JSON record")]),
        (b"[]", [("invalid_record", "a record must be a JSON object")]),
        (b"{}", [("missing_record_id", "missing recordId"), ("missing_model_input", "missing modelInput")]),
        (
            record("a b"),
            [
                (
                    "invalid_record_id",
                    "recordId 'a b' must be 1-64 letters, digits, '-' or '_' (starting with a letter or digit)",
                )
            ],
        ),
        (
            json.dumps({"recordId": "b1", "modelInput": 5}).encode(),
            [("invalid_model_input", "modelInput must be a JSON object (a chat request)")],
        ),
        (
            record("b1", model="gpt-4o", stream=True, tools=[{"type": "function"}]),
            [
                ("stream_not_allowed", "modelInput.stream must not be true in a batch"),
                ("model_mismatch", f"modelInput.model 'gpt-4o' differs from the batch model {GPT_OSS_120B}"),
                ("tools_not_allowed", "tools are not supported in batch inference"),
                ("invalid_model_input", "modelInput.tools[0].function: A tool needs a 'function' object."),
            ],
        ),
        (
            record("b1", temperature="hot"),
            [("invalid_model_input", "modelInput.temperature: 'temperature' must be a number between 0 and 2.")],
        ),
    ],
)
def test_each_problem_says_what_is_wrong_and_how_to_fix_it(bad_line: bytes, expected: list[tuple[str, str]]) -> None:
    # Given a file whose second line is broken in one way (or several)
    # When it is validated
    # Then the report's problems for line 2 carry the exact code and message the user reads
    assert problems_on_line_2(bad_line) == expected


def test_a_streamed_record_is_checked_as_the_batch_job_will_run_it() -> None:
    # Given a record asking to stream, with stream options (only allowed when streaming)
    line = record("b1", stream=True, stream_options={"include_usage": True})
    # When it is validated
    # Then both are reported: the job never streams, so its stream options are wrong as well
    assert problems_on_line_2(line) == [
        ("stream_not_allowed", "modelInput.stream must not be true in a batch"),
        ("invalid_model_input", "modelInput.stream_options: 'stream_options' is only allowed when 'stream' is true."),
    ]


def test_a_record_at_the_size_limit_is_accepted_and_one_byte_more_is_refused() -> None:
    # Given a per-record limit, a plain record and one naming the model by alias both exactly that size, and a record
    # one byte over it
    plain = record("p1")
    alias = record("a1", model="gpt-oss-120b")
    limit = max(len(plain), len(alias))
    plain, alias = plain.ljust(limit), alias.ljust(limit)
    limits = Limits(min_records=1, max_records=5, max_record_bytes=limit)
    # When each is validated and staged
    valid, lines = staged([plain, alias], limits=limits)
    # Then both pass (the plain one staged as written) and the longer one is refused with the limit in the message
    assert (valid, len(lines), lines[0]) == (True, 2, plain.strip() + b"\n")
    assert problems_on_line_2(plain + b" ", limits=limits) == [
        ("record_too_large", f"the record is over {limit} bytes (the per-record limit)")
    ]


def test_the_report_shows_the_file_model_counts_and_problems() -> None:
    # Given a three-line file with a blank second line
    lines = [record("r1"), b"", record("r3")]
    # When it is validated
    report = report_of(lines, size=123)
    # Then the report a user reads says everything about it
    assert report == {
        "valid": False,
        "model": GPT_OSS_120B,
        "records": 3,
        "bytes": 123,
        "problem_count": 1,
        "problems_shown": 1,
        "problems": [{"line": 2, "code": "blank_line", "message": "blank line: every line must be one JSON record"}],
    }


def test_whole_file_problems_say_the_limit() -> None:
    # Given an empty file, a file with one record too many, and a file one byte over the size limit
    empty = report_of([])
    too_many = report_of([record(f"r{i}") for i in range(6)])
    too_large = report_of([record("r1")], size=10_001)
    # Then each has one whole-file problem with the figure and the limit
    assert empty["problems"] == [{"line": None, "code": "empty_file", "message": "the file has no records"}]
    assert too_many["problems"] == [
        {"line": None, "code": "too_many_records", "message": "6 records; a batch allows at most 5"}
    ]
    assert too_large["problems"] == [
        {"line": None, "code": "file_too_large", "message": "file is 10001 bytes; the limit is 10000 bytes"}
    ]
    assert (too_large["valid"], too_large["records"]) == (False, 0)


def test_files_exactly_at_the_record_and_size_limits_are_valid() -> None:
    # Given a file of exactly the maximum record count, whose size is exactly the file limit
    lines = [record(f"r{i}") for i in range(5)]
    # When it is validated
    report = report_of(lines, size=10_000)
    # Then it is valid
    assert (report["valid"], report["records"]) == (True, 5)


def test_a_duplicate_is_found_after_a_line_without_a_usable_id_and_on_the_last_counted_line() -> None:
    # Given a file whose first line has no recordId, and whose last allowed line (5) repeats line 2's id
    lines = [b"{}", record("dup"), record("r3"), record("r4"), record("dup")]
    # When it is validated
    problems = report_of(lines)["problems"]
    # Then the duplicate on line 5 is reported naming line 2
    assert problems[-1] == {
        "line": 5,
        "code": "duplicate_record_id",
        "message": "recordId 'dup' already used on line 2",
    }


def staged(lines: list[bytes], *, limits: Limits = LIMITS) -> tuple[bool, list[bytes]]:
    out: list[bytes] = []
    report = validate_lines(
        lines, size=sum(map(len, lines)), model=GPT_OSS_120B, enabled=KNOWN_MODELS, limits=limits, emit=out.append
    )
    return report.valid, out


EVERY_ROLE = [
    {"role": "system", "content": "be brief"},
    {"role": "developer", "content": "answer in English"},
    {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "there"}]},
    {"role": "assistant", "content": "hello"},
    {"role": "user", "content": "and?"},
]


@pytest.mark.parametrize(
    "model_input",
    [
        {"messages": EVERY_ROLE},
        {"model": GPT_OSS_120B, "messages": USER, "stream": False},
        {"messages": USER, "max_completion_tokens": 10, "max_tokens": 10, "temperature": 0.5, "top_p": 0.9},
        {"messages": USER, "stop": ["\n"], "seed": 3, "frequency_penalty": 0.5, "presence_penalty": -0.5},
        {"messages": USER, "reasoning_effort": "low", "user": "u-1", "metadata": {"team": "data"}},
    ],
    ids=["every-role-and-text-parts", "bedrock-model-id", "limits-and-sampling", "stop-seed-penalties", "metadata"],
)
def test_a_plain_record_reaches_the_batch_job_byte_for_byte(model_input: dict) -> None:
    # Given a record InvokeModel takes as written (text turns, fields it is sent), with whitespace around it
    line = b" " + json.dumps({"recordId": "p1", "modelInput": model_input}).encode() + b" \r"
    # When the file is validated and staged
    valid, lines = staged([line])
    # Then the job reads the user's own line, unchanged but for the surrounding whitespace
    assert (valid, lines) == (True, [line.strip() + b"\n"])


@pytest.mark.parametrize(
    ("model_input", "expected"),
    [
        ({"messages": USER, "n": 1, "store": False}, {"messages": USER, "model": GPT_OSS_120B}),
        ({"model": "openai/gpt-oss-120b", "messages": USER}, {"model": GPT_OSS_120B, "messages": USER}),
        (
            {"messages": [{"role": "user", "content": "hi", "name": "ann"}], "stream": None},
            {"messages": [{"role": "user", "content": "hi", "name": "ann"}], "model": GPT_OSS_120B},
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "cache": 1}]}]},
            {
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "cache": 1}]}],
                "model": GPT_OSS_120B,
            },
        ),
    ],
    ids=["unsent-defaults", "alias", "named-turn-and-null", "extra-part-member"],
)
def test_any_other_valid_record_reaches_the_batch_job_as_invoke_model_takes_it(
    model_input: dict, expected: dict
) -> None:
    # Given valid records that are not plain: fields InvokeModel is not sent, a model alias, a named turn, a null
    # field, a text part with another member
    line = json.dumps({"recordId": "q1", "modelInput": model_input}).encode()
    # When the file is validated and staged
    valid, lines = staged([line])
    # Then the job reads one compact line with the body as InvokeModel takes it (naming the model by its Bedrock id)
    assert valid
    assert lines == [json.dumps({"recordId": "q1", "modelInput": expected}, separators=(",", ":")).encode() + b"\n"]


def test_a_record_text_with_a_lone_surrogate_escape_is_staged_as_an_escape() -> None:
    # Given a valid record that needs rewriting (a model alias) whose text holds a lone surrogate escape
    line = (
        b'{"recordId": "s1", "modelInput": {"model": "gpt-oss-120b", '
        b'"messages": [{"role": "user", "content": "\\ud800 \xc3\xa4"}]}}'
    )
    # When the file is validated and staged
    valid, lines = staged([line])
    # Then the staged line is still UTF-8 JSON: the surrogate stays an escape (and so does any other non-ASCII text)
    assert valid
    assert lines == [
        b'{"recordId":"s1","modelInput":{"model":"openai.gpt-oss-120b-1:0","messages":[{"role":"user",'
        b'"content":"\\ud800 \\u00e4"}]}}\n'
    ]


def test_a_rewritten_record_keeps_non_ascii_text_as_utf8() -> None:
    # Given a record with an alias and non-ASCII text
    line = json.dumps(
        {"recordId": "u1", "modelInput": {"model": "gpt-oss-120b", "messages": [{"role": "user", "content": "Grüße"}]}},
        ensure_ascii=False,
    ).encode()
    # When staged
    valid, lines = staged([line])
    # Then the text is written as UTF-8, not as escapes
    assert valid
    assert "Grüße".encode() in lines[0]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"abc\nabcd\nabcde\n"], [b"abc", b"abcd", b"abcd"]),
        ([b"ab", b"c", b"d", b"e\nxy"], [b"abcd", b"xy"]),
        ([b"abcdefgh"], [b"abcd"]),
        ([b"abcdef", b"gh", b"\nok"], [b"abcd", b"ok"]),
        ([b"ab", b"cdefg\nhijklmn"], [b"abcd", b"hijk"]),
        ([b"a", b"b"], [b"ab"]),
    ],
    ids=[
        "one-chunk",
        "across-chunks",
        "no-final-newline",
        "cut-line-then-next",
        "cut-line-then-cut-tail",
        "last-line-across-chunks",
    ],
)
def test_a_line_over_the_limit_is_cut_one_byte_past_it_however_it_arrives(
    chunks: list[bytes], expected: list[bytes]
) -> None:
    # Given lines of 3, 4 and 5 bytes, or one line spread over chunks, and a 3-byte line limit
    # When split with that limit
    # Then lines up to 4 bytes are whole, longer ones are cut to 4 bytes (so they show as too long), the next is intact
    assert list(iter_lines(chunks, 3)) == expected


def test_record_id_of_is_none_for_a_line_without_a_string_id() -> None:
    # Given lines that are JSON but not a record with a string recordId
    # When their record ids are read
    # Then none has one
    assert [record_id_of(line) for line in (b"[1]", b'{"recordId": 7}', b"{}")] == [None, None, None]


def test_bedrocks_error_codes_and_messages_are_kept_with_fallbacks() -> None:
    # Given Bedrock errors with a code and a `message`, with neither, as a bare string, and a record id that is not a
    # string
    lines = [
        {"recordId": "e1", "error": {"errorCode": "ValidationException", "message": "too long"}},
        {"recordId": "e2", "error": {"errorMessage": ""}},
        {"recordId": "e3", "error": "throttled"},
        {"recordId": 5, "error": {"errorCode": 500, "errorMessage": "boom"}},
    ]
    # When parsed
    results = [parse_output_line(json.dumps(line), model=GPT_OSS_120B).to_dict() for line in lines]
    # Then each is a failure with Bedrock's own words where it gave them
    assert results == [
        {"recordId": "e1", "error": {"code": "ValidationException", "message": "too long"}},
        {"recordId": "e2", "error": {"code": "model_error", "message": "Bedrock reported an error for this record"}},
        {"recordId": "e3", "error": {"code": "model_error", "message": "throttled"}},
        {"recordId": None, "error": {"code": "500", "message": "boom"}},
    ]


def test_an_empty_error_beside_a_completion_is_a_success() -> None:
    # Given a line with an answer and an empty error member
    value = json.loads(output_line("r9", "fine"))
    value["error"] = {}
    # When parsed
    result = parse_output_line(json.dumps(value), model=GPT_OSS_120B)
    # Then the record succeeded with its answer
    assert result.succeeded
    assert result.to_dict()["response"]["choices"][0]["message"]["content"] == "fine"


def bedrock_output(model_output: object) -> bytes:
    return json.dumps({"recordId": "r3", "modelInput": {}, "modelOutput": model_output}).encode()


@pytest.mark.parametrize(
    ("line", "record_id", "message"),
    [
        (b"oops", None, "Bedrock wrote a line that is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"[1]", None, "Bedrock wrote a line that is not a JSON object"),
        (json.dumps({"recordId": "r3"}).encode(), "r3", "Bedrock returned no modelOutput for this record"),
        (bedrock_output("text"), "r3", "Bedrock's modelOutput for this record is not a chat.completion"),
        (bedrock_output({"choices": []}), "r3", "Bedrock's modelOutput for this record is not a chat.completion"),
        (
            bedrock_output({"choices": [{"message": {}}, "x"]}),
            "r3",
            "Bedrock's modelOutput for this record is not a chat.completion",
        ),
        (
            bedrock_output(
                {
                    "choices": [{"message": {"role": "assistant", "content": "x"}}],
                    "amazon-bedrock-invocationMetrics": {"inputTokenCount": "many"},
                }
            ),
            "r3",
            "unreadable modelOutput: invalid literal for int() with base 10: 'many'",
        ),
    ],
    ids=[
        "not-json",
        "not-object",
        "no-output",
        "output-not-object",
        "no-choices",
        "a-choice-not-object",
        "bad-metrics",
    ],
)
def test_an_unreadable_output_line_says_what_bedrock_wrote_wrong(
    line: bytes, record_id: str | None, message: str
) -> None:
    # Given a Bedrock output line that cannot become a completion
    # When parsed
    result = parse_output_line(line, model=GPT_OSS_120B)
    # Then the failure names its record (when the line is an object) and says why
    assert result.to_dict() == {"recordId": record_id, "error": {"code": "invalid_output", "message": message}}


def test_a_truncated_text_line_is_attributed_to_its_record_only_from_its_first_4_kib() -> None:
    # Given truncated output lines given as text: one with the recordId at the start, one whose recordId ends just
    # past the first 4,096 bytes
    early = output_line("r7", "answer").decode()[:60]
    late = " " * (4097 - len('{"recordId": "r8"')) + '{"recordId": "r8", "modelOut'
    # When parsed
    results = [parse_output_line(line, model=GPT_OSS_120B) for line in (early, late)]
    # Then the first keeps its record, the second is not searched that far
    assert [result.record_id for result in results] == ["r7", None]


def test_usage_counts_only_non_negative_integers() -> None:
    # Given completions whose usage is missing, not an object, booleans, or zero and a count
    def usage(value: object) -> tuple[int, int]:
        line = json.loads(output_line("u1", "ok"))
        line["modelOutput"]["usage"] = value
        return parse_output_line(json.dumps(line), model=GPT_OSS_120B).usage()

    # When their usage is read
    # Then only the counts count
    assert usage("lots") == (0, 0)
    assert usage({"prompt_tokens": True, "completion_tokens": False}) == (0, 0)
    assert usage({"prompt_tokens": 0, "completion_tokens": 4}) == (0, 4)
    assert parse_output_line(b"oops", model=GPT_OSS_120B).usage() == (0, 0)


def test_a_record_with_a_problem_is_never_staged() -> None:
    # Given records whose chat body is fine but whose recordId is wrong or whose model is another one
    lines = [record("bad id"), record("m1", model=GPT_OSS_20B)]
    # When the file is validated and staged
    # Then it is invalid and nothing is handed on for the batch job
    assert staged(lines) == (False, [])


def test_check_record_returns_the_record_id_and_the_line_numbered_problems() -> None:
    # Given a record with a good id and a model from another batch, checked as line 4
    line = record("c1", model=GPT_OSS_20B)
    # When checked on its own
    record_id, problems = check_record(line, 4, model=GPT_OSS_120B, enabled=KNOWN_MODELS, limits=Limits())
    # Then its id comes back with the problem on line 4
    assert record_id == "c1"
    assert [problem.to_dict() for problem in problems] == [
        {
            "line": 4,
            "code": "model_mismatch",
            "message": f"modelInput.model {GPT_OSS_20B!r} differs from the batch model {GPT_OSS_120B}",
        }
    ]


def test_a_huge_line_is_dropped_as_it_arrives_not_held_in_memory() -> None:
    # Given a 32 MiB line arriving in 64 KiB chunks, and a 1 MiB line limit
    chunk = b"x" * 65_536
    tracemalloc.start()
    try:
        # When it is split
        lengths = [len(line) for line in iter_lines((chunk for _ in range(512)), 1_048_576)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Then it comes out cut just past the limit, and no more than a few MiB were ever held (not the 32 MiB line)
    assert lengths == [1_048_577]
    assert peak < 8 * 1_048_576


def test_a_broken_text_output_line_with_a_lone_surrogate_is_still_attributed() -> None:
    # Given a truncated output line given as text that holds a lone surrogate
    line = '{"recordId": "r5", "modelOutput": "\ud800'
    # When parsed
    result = parse_output_line(line, model=GPT_OSS_120B)
    # Then it is a failure of that record, not a crash
    assert (result.record_id, result.error["code"]) == ("r5", "invalid_output")


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        ({"temperature": 0.5}, "modelInput.messages: Missing required parameter: 'messages'."),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "https://x"}]}]},
            "modelInput.messages[0].content[0].type: Content parts of type 'image_url' are not supported: "
            "gpt-oss is text-only.",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "modelInput.messages[0].content[0].text: A text content part needs a string 'text' field.",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "refusal", "text": "x"}]}]},
            "modelInput.messages[0].content[0].type: Invalid content part type 'refusal'; expected 'text'.",
        ),
    ],
    ids=["no-messages", "image-part", "text-not-a-string", "other-part-type"],
)
def test_a_record_shaped_like_a_plain_one_is_still_refused_for_what_it_lacks(model_input: dict, message: str) -> None:
    # Given records close to the common shape: no messages, or a content part that is not a text part
    # When validated
    # Then each is refused with the chat validator's own message
    line = json.dumps({"recordId": "b1", "modelInput": model_input}).encode()
    assert problems_on_line_2(line) == [("invalid_model_input", message)]
