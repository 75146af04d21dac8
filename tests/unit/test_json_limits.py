"""The JSON nesting limit: deep input is refused as invalid JSON naming where it is, never a RecursionError."""

from __future__ import annotations

import copy
import json

import pytest
from gptoss.batch_records import Limits, validate_lines
from gptoss.json_limits import MAX_JSON_DEPTH, JsonTooDeep, loads, nesting_exceeds
from gptoss.models import GPT_OSS_20B
from hypothesis import given
from hypothesis import strategies as st


def nested(depth: int, leaf: str = "0") -> str:
    """`depth` arrays inside each other around `leaf`: `[[0]]` for 2."""
    return "[" * depth + leaf + "]" * depth


def depth_of(value: object) -> int:
    """The reference definition: a scalar is 0 deep, a container one more than its deepest child."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return 1 + max((depth_of(child) for child in value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3),
    max_leaves=40,
)


@given(value=json_values, limit=st.integers(min_value=0, max_value=8))
def test_nesting_exceeds_agrees_with_the_recursive_definition(value: object, limit: int) -> None:
    # Given any JSON value and a limit
    # When its nesting is checked
    # Then it exceeds the limit exactly when its depth is greater
    assert nesting_exceeds(value, limit) == (depth_of(value) > limit)


def test_the_limit_itself_is_accepted_and_one_more_level_is_refused() -> None:
    # Given bodies nested exactly at the limit and one level over it
    at_limit = json.dumps({"messages": json.loads(nested(MAX_JSON_DEPTH - 1))})
    over = json.dumps({"messages": json.loads(nested(MAX_JSON_DEPTH))})
    # When they are decoded
    # Then the first decodes as json.loads would, the second is refused naming its top-level member
    assert loads(at_limit) == json.loads(at_limit)
    with pytest.raises(JsonTooDeep) as refused:
        loads(over)
    assert refused.value.field == "messages"
    assert refused.value.limit == MAX_JSON_DEPTH


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 5_000, 100_000], ids=["just-over", "900", "5k", "100k"])
def test_deep_input_is_refused_whether_or_not_json_loads_could_decode_it(depth: int) -> None:
    # Given a body with a deeply nested value after an ordinary member (json.loads gives up from ~1000 levels)
    text = '{"model": "gpt-oss-20b", "tools": ' + nested(depth) + "}"
    # When it is decoded
    with pytest.raises(JsonTooDeep) as refused:
        loads(text)
    # Then it is a JSONDecodeError (handled like any invalid JSON) naming the member and the position
    error = refused.value
    assert isinstance(error, json.JSONDecodeError)
    assert error.field == "tools"
    assert error.pos == len('{"model": "gpt-oss-20b", "tools": ') + MAX_JSON_DEPTH - 1
    assert f"more than {MAX_JSON_DEPTH} levels" in str(error)


def test_brackets_inside_strings_and_keys_do_not_count() -> None:
    # Given a shallow body whose strings (values and keys, with escaped quotes) are full of brackets
    brackets = "[{" * 5_000
    text = json.dumps({"messages": [{"role": "user", "content": brackets}], f'k"{brackets}': brackets})
    # When it is decoded
    # Then it is accepted unchanged
    assert loads(text) == json.loads(text)


def test_the_member_is_found_after_keys_and_values_that_look_like_json() -> None:
    # Given a deep member that follows a string value containing `"x":` and brackets
    text = '{"a": "\\"b\\": [[[", "c": {"d": 1}, "deep": ' + nested(2_000) + "}"
    # When it is decoded
    with pytest.raises(JsonTooDeep) as refused:
        loads(text)
    # Then the error names the real top-level member
    assert refused.value.field == "deep"


def test_a_top_level_array_has_no_member_to_name() -> None:
    with pytest.raises(JsonTooDeep) as refused:
        loads(nested(3_000))
    assert refused.value.field is None


def test_an_accepted_body_survives_the_gateways_recursive_work() -> None:
    # Given a body nested right at the limit
    value = loads(json.dumps({"tools": json.loads(nested(MAX_JSON_DEPTH - 1))}))
    # When it is deep-copied and re-encoded, as the gateway does with every body
    # Then neither runs out of stack
    assert json.loads(json.dumps(copy.deepcopy(value))) == value


def test_the_batch_validator_reports_a_too_deep_line_by_number() -> None:
    # Given a file whose second record hides deep nesting in its modelInput and whose third is 10 KB of brackets
    ok = json.dumps({"recordId": "r1", "modelInput": {"messages": [{"role": "user", "content": "hi"}]}})
    deep = (
        '{"recordId": "r2", "modelInput": {"messages": [{"role": "user", "content": "hi"}], "x": ' + nested(900) + "}}"
    )
    lines = [ok.encode(), deep.encode(), ("[" * 10_000).encode(), ok.replace("r1", "r4").encode()]
    # When the file is validated
    report = validate_lines(lines, size=20_000, model=GPT_OSS_20B, enabled=(GPT_OSS_20B,), limits=Limits(min_records=1))
    # Then each deep line is reported with its number instead of the validator crashing, and the rest still count
    problems = [(problem.line, problem.code) for problem in report.problems]
    assert problems == [(2, "json_too_deep"), (3, "json_too_deep")]
    assert report.records == 4


def test_the_member_is_named_when_the_body_starts_with_whitespace() -> None:
    # Given a too-deep body sent with a leading newline, as some clients pretty-print it
    with pytest.raises(JsonTooDeep) as refused:
        loads("\n  " + '{"tools": ' + nested(MAX_JSON_DEPTH + 1) + "}")
    # Then the error still names the member
    assert refused.value.field == "tools"


def test_the_member_is_the_top_level_one_around_closed_siblings_and_inner_keys() -> None:
    # Given a deep value under an inner key, after a sibling whose arrays open and close
    text = '{"messages": {"done": [[1]], "inner": ' + nested(MAX_JSON_DEPTH) + "}}"
    # When it is decoded
    with pytest.raises(JsonTooDeep) as refused:
        loads(text)
    # Then the error names the top-level member, and points at the bracket that crosses the limit
    assert refused.value.field == "messages"
    assert refused.value.pos == text.index("[", text.index('"inner"')) + MAX_JSON_DEPTH - 2


@pytest.mark.parametrize("opener", ["[", '{"k": '])
def test_a_body_cut_short_after_nesting_too_deep_is_too_deep_not_just_invalid(opener: str) -> None:
    # Given arrays or objects opened past the limit and never closed (shallow enough for any Python to decode that far)
    text = opener * (MAX_JSON_DEPTH + 20)
    # When it is decoded
    with pytest.raises(JsonTooDeep) as refused:
        loads(text)
    # Then the error is the nesting limit, at the opener that crosses it
    assert refused.value.pos == len(opener) * MAX_JSON_DEPTH


def test_a_body_broken_before_it_nests_too_deep_is_invalid_json() -> None:
    # Given a body whose syntax breaks before it opens too many levels, and one that breaks right at the limit
    early = "[" * 10 + "x" + "[" * (MAX_JSON_DEPTH + 20)
    at_limit = "[" * (MAX_JSON_DEPTH - 1) + "{["
    for text in (early, at_limit):
        # When it is decoded
        with pytest.raises(json.JSONDecodeError) as refused:
            loads(text)
        # Then it is reported as invalid JSON where the decoder stopped, not as too deep
        assert not isinstance(refused.value, JsonTooDeep)
    assert refused.value.pos == MAX_JSON_DEPTH
