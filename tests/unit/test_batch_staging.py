"""What a batch job reads: the records validation stages for Bedrock, from an upload to `input/`
(`gptoss.batch_records`) and from an OpenAI batch file (`gptoss.openai_batch`), and the fast paths that stage them."""

from __future__ import annotations

import json

from gptoss.batch_records import Limits, validate_lines
from gptoss.chat_request import parse_chat_request
from gptoss.invoke import to_batch_input
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B, KNOWN_MODELS
from gptoss.openai_batch import ENDPOINT, _check_line, _plain_line, check_line
from gptoss.request_contract import invoke_fields
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.bench_openai_batch import batch_line
from local.emulator import invoke as bedrock_invoke

_text = st.text(max_size=4)
_messages = st.lists(
    st.one_of(
        st.fixed_dictionaries({"role": st.sampled_from(["system", "developer", "user"]), "content": _text}),
        st.fixed_dictionaries({"role": st.just("assistant"), "content": _text}, optional={"reasoning_content": _text}),
        st.fixed_dictionaries(
            {
                "role": st.just("user"),
                "content": st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": _text}), max_size=2),
            }
        ),
    ),
    min_size=1,
    max_size=3,
)
# Values the contract accepts (some of them accepted but not sent to InvokeModel) ...
_valid = {
    "model": st.sampled_from([GPT_OSS_120B, "gpt-oss-120b", "openai/gpt-oss-120b"]),
    "max_completion_tokens": st.integers(1, 5000),
    "temperature": st.floats(0, 2),
    "stop": st.one_of(st.text(min_size=1, max_size=3), st.lists(st.text(min_size=1, max_size=3), max_size=4)),
    "reasoning_effort": st.sampled_from(["low", "medium", "high"]),
    "metadata": st.dictionaries(st.text(min_size=1, max_size=3), _text, max_size=2),
    "n": st.just(1),
    "store": st.just(False),
    "logit_bias": st.just({}),
    "service_tier": st.sampled_from(["auto", "default"]),
    "stream": st.just(False),
}
# ... and, for one field at a time, values it refuses (or another model, or "not given").
_wrong = {
    "model": st.sampled_from([GPT_OSS_20B, "gpt-4o", ""]),
    "max_completion_tokens": st.sampled_from([0, 1.5, True]),
    "temperature": st.sampled_from([2.5, -1, "hot"]),
    "n": st.just(2),
    "store": st.just(True),
    "logit_bias": st.just({"50256": -100}),
    "service_tier": st.just("flex"),
    "stream": st.just(True),
    "stream_options": st.just({"include_usage": True}),
    "tools": st.just([{"type": "function", "function": {"name": "f"}}]),
    "unknown": st.just(1),
}


@st.composite
def _bodies(draw: st.DrawFn) -> dict:
    body = draw(st.fixed_dictionaries({"messages": _messages}, optional=_valid))
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(_wrong)))
        body[name] = draw(st.one_of(_wrong[name], st.none()))
    return body


def staged_records(line: bytes, model: str = GPT_OSS_120B) -> tuple[bool, list[bytes]]:
    staged: list[bytes] = []
    report = validate_lines(
        [line], size=len(line), model=model, enabled=KNOWN_MODELS, limits=Limits(), emit=staged.append
    )
    return report.valid, staged


def test_records_bedrock_would_refuse_as_written_are_rewritten_and_plain_ones_pass_byte_for_byte() -> None:
    # Given records naming the model by alias, replaying reasoning_content, or sending fields InvokeModel is not sent,
    # and a plain record (model by its Bedrock id) with a CRLF line end
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "reasoning_content": "r"}]
    alias = {"model": "gpt-oss-120b", "messages": history[:1]}
    defaults = {"messages": history[:1], "n": 1, "store": False, "logit_bias": {}, "service_tier": "default"}
    plain = json.dumps({"recordId": "p", "modelInput": {"model": GPT_OSS_120B, "messages": history[:1]}}).encode()
    # When each is validated and staged
    outcomes = [
        staged_records(json.dumps({"recordId": "a", "modelInput": body}).encode())
        for body in (alias, {"messages": history}, defaults)
    ]
    # Then each is valid, staged in the form Bedrock accepts
    assert [valid for valid, _ in outcomes] == [True, True, True]
    inputs = [json.loads(line)["modelInput"] for _, [line] in outcomes]
    assert inputs == [
        {"model": GPT_OSS_120B, "messages": history[:1]},
        {"model": GPT_OSS_120B, "messages": [history[0], {"role": "assistant", "content": "yo"}]},
        {"model": GPT_OSS_120B, "messages": history[:1]},
    ]
    # And the plain record is passed on as written
    assert staged_records(plain + b"\r") == (True, [plain + b"\n"])


@settings(max_examples=300, deadline=None)
@given(body=_bodies())
def test_every_record_validation_accepts_is_staged_as_invoke_model_takes_it_with_nothing_else_lost(body: dict) -> None:
    # Given any record of a gpt-oss-120b upload
    line = json.dumps({"recordId": "r1", "modelInput": body}).encode()
    # When it is validated and staged
    valid, staged = staged_records(line)
    # Then an invalid record stages nothing
    if not valid:
        assert staged == []
        return
    # And a valid one is staged once, in a form Bedrock's strict InvokeModel parser accepts (the emulator's): no
    # field InvokeModel does not take, the model (if named) by its Bedrock id, no replayed reasoning_content
    [record] = [json.loads(line) for line in staged]
    model_input = record["modelInput"]
    assert record["recordId"] == "r1"
    bedrock_invoke.parse_body(json.dumps(model_input).encode(), GPT_OSS_120B, stream=False)
    assert model_input.keys() <= invoke_fields()
    assert model_input.get("model", GPT_OSS_120B) == GPT_OSS_120B
    assert not any("reasoning_content" in message for message in model_input["messages"])
    # And it is what the full check's own request becomes for InvokeModel (nothing else dropped or changed)
    expected = to_batch_input(parse_chat_request({**body, "model": GPT_OSS_120B}), GPT_OSS_120B)
    assert {**{k: v for k, v in model_input.items() if k != "stream"}, "model": GPT_OSS_120B} == expected


def test_the_openai_fast_path_takes_the_benchmarked_line_shape() -> None:
    # Given the line shape the OpenAI batch benchmark measures (developer + user turns, sampling fields, an alias)
    line = json.loads(batch_line(7))
    # When the fast path looks at it
    # Then it takes it (so the property below is not vacuous)
    assert _plain_line(line, KNOWN_MODELS) is not None


@settings(max_examples=300, deadline=None)
@given(
    body=_bodies(),
    custom_id=st.sampled_from(["task-1", "", "x" * 4097, 'any "string" ä']),
    method=st.sampled_from(["POST", "GET"]),
    extra=st.sampled_from([{}, {"header": 1}]),
)
def test_the_openai_fast_path_never_accepts_what_the_full_check_refuses_nor_stages_another_record(
    body: dict, custom_id: str, method: str, extra: dict
) -> None:
    # Given any OpenAI batch line
    line = json.dumps({"custom_id": custom_id, "method": method, "url": ENDPOINT, "body": body, **extra}).encode()
    # When it is checked (fast path first), and by the full check alone
    checked = check_line(line, 7, enabled=KNOWN_MODELS, limits=Limits())
    full = _check_line(line, 7, enabled=KNOWN_MODELS, limits=Limits())
    # Then both agree on everything: custom_id, model, problems and the Bedrock record
    assert checked == full
