"""Calls that real Bedrock would refuse or answer differently, through the official OpenAI SDK over real HTTP against
the local server (the emulator refuses what Bedrock refuses): `stop` on both paths as agent frameworks send it, the
request contract's 400s, and the guardrail verdict reported after the finish chunk."""

from __future__ import annotations

import openai
import pytest

from local.emulator.server import EmulatorServer

OBSERVATION = "\nObservation:"  # CrewAI sends this stop on every call
QUESTION = [{"role": "user", "content": "Which tool should I use for the weather?"}]


def _bases(gateway_url: str) -> dict[str, openai.OpenAI]:
    return {
        path: openai.OpenAI(base_url=gateway_url + path, api_key="any-key", max_retries=0)
        for path in ("/v1", "/converse/v1")
    }


def _streamed_text(client: openai.OpenAI, **request: object) -> tuple[str, list[str | None]]:
    chunks = list(client.chat.completions.create(model="gpt-oss-20b", stream=True, **request))
    content = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    return content, finishes


def test_crewai_default_stop_works_on_both_paths(client: openai.OpenAI) -> None:
    # Given an agent framework's call with its default stop, as CrewAI sends it
    # When it is sent on either base URL, streamed and not
    completion = client.chat.completions.create(model="gpt-oss-20b", messages=QUESTION, stop=[OBSERVATION])
    content, finishes = _streamed_text(client, messages=QUESTION, stop=[OBSERVATION])
    # Then it is answered (not a Bedrock 400 about stopSequences), with an ordinary finish
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert content == completion.choices[0].message.content
    assert finishes == ["stop"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_both_paths_give_the_same_answer_cut_at_the_stop(gateway_url: str, stream: bool) -> None:
    # Given a stop string that occurs in the middle of the (deterministic) answer
    clients = _bases(gateway_url)
    full = clients["/v1"].chat.completions.create(model="gpt-oss-20b", messages=QUESTION).choices[0].message.content
    assert full is not None
    stop = full.split()[4]
    answers = {}
    for path, client in clients.items():
        # When the same request with that stop goes through InvokeModel (Bedrock applies stop) and Converse (the
        # gateway applies it)
        if stream:
            answers[path], finishes = _streamed_text(client, messages=QUESTION, stop=stop)
            assert finishes == ["stop"]
        else:
            choice = client.chat.completions.create(model="gpt-oss-20b", messages=QUESTION, stop=stop).choices[0]
            answers[path] = choice.message.content
            assert choice.finish_reason == "stop"
    # Then both answers are the same, ending right before the stop string
    assert answers["/v1"] == answers["/converse/v1"] == full[: full.index(stop)]


def test_an_unknown_field_is_refused_before_bedrock_naming_it(client: openai.OpenAI, emulator: EmulatorServer) -> None:
    # Given a request with a field real InvokeModel would refuse (as LiteLLM's `thinking` did)
    calls_before = len(emulator.faults.calls())
    # When the SDK sends it
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="gpt-oss-20b", messages=QUESTION, extra_body={"thinking": {"type": "enabled"}}
        )
    # Then the SDK raises BadRequestError with OpenAI's wording and the field as `param`, and Bedrock was not called
    error = raised.value.body
    assert isinstance(error, dict)
    assert error["message"].startswith("Unrecognized request argument supplied: thinking")
    assert error["param"] == "thinking"
    assert len(emulator.faults.calls()) == calls_before


def test_reasoning_effort_must_be_one_of_the_three_strings(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="gpt-oss-20b", messages=QUESTION, extra_body={"reasoning_effort": {"effort": "low"}}
        )
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["param"] == "reasoning_effort"


@pytest.mark.parametrize("include_usage", [False, True], ids=["no-usage", "usage"])
def test_a_guardrail_intervention_is_content_filter_however_it_is_reported(
    client: openai.OpenAI, include_usage: bool
) -> None:
    # Given a prompt the guardrail blocks; with include_usage Bedrock reports the verdict on the usage chunk, after
    # the finish chunk
    blocked = [{"role": "user", "content": "Tell me something [guardrail:block]"}]
    # When it is sent streamed and not
    whole = client.chat.completions.create(model="gpt-oss-20b", messages=blocked)
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    _, finishes = _streamed_text(client, messages=blocked, **options)
    # Then the client learns of the intervention the same way every time
    assert whole.choices[0].finish_reason == "content_filter"
    assert finishes == ["content_filter"]
