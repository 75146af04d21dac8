"""The Responses API through the official OpenAI SDK over real HTTP (`make local`'s server), on both base URLs."""

from __future__ import annotations

import openai
import pytest

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_create_gives_output_text_reasoning_and_usage(client: openai.OpenAI) -> None:
    # When an app asks with responses.create
    response = client.responses.create(model="gpt-oss-20b", input="Why is the sky blue?", instructions="Be brief.")
    # Then the SDK's conveniences work on what the gateway returns
    assert response.status == "completed"
    assert "[emulated]" in response.output_text
    reasoning = response.output[0]
    assert reasoning.type == "reasoning" and reasoning.content and reasoning.content[0].text
    assert response.usage is not None and response.usage.output_tokens > 0
    assert response.usage.output_tokens_details.reasoning_tokens >= 0


def test_stream_helper_collects_the_final_response(client: openai.OpenAI) -> None:
    # When an app streams with responses.stream
    with client.responses.stream(model="gpt-oss-20b", input="Count to three") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    # Then the text arrived in pieces and adds up to the final response's text
    assert len(deltas) > 1
    assert "".join(deltas) == final.output_text and final.status == "completed"


def test_previous_response_id_continues_and_the_chain_is_retrievable(client: openai.OpenAI) -> None:
    first = client.responses.create(model="gpt-oss-20b", input="My name is Ada.")
    second = client.responses.create(model="gpt-oss-20b", input="What is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert client.responses.retrieve(second.id).output_text == second.output_text
    items = client.responses.input_items.list(second.id, order="asc")
    assert [item.type for item in items.data] == ["message", "reasoning", "message", "message"]


def test_another_api_key_cannot_see_or_continue_a_response(client: openai.OpenAI) -> None:
    # Given a response stored under one key
    response = client.responses.create(model="gpt-oss-20b", input="Private notes")
    other = client.with_options(api_key="another-key")
    # Then a client with another key gets 404 on every way in, like a response that does not exist
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model="gpt-oss-20b", input="go on", previous_response_id=response.id)
    # and the owner still has it, until it deletes it
    assert client.responses.retrieve(response.id).id == response.id
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_tool_round_trip_through_input_items(client: openai.OpenAI) -> None:
    # Given a turn that calls a tool
    first = client.responses.create(
        model="gpt-oss-20b", input="Use the get_weather tool for Oslo", tools=[WEATHER], store=False
    )
    call = next(item for item in first.output if item.type == "function_call")
    # When the app runs it and sends everything back statelessly
    second = client.responses.create(
        model="gpt-oss-20b",
        tools=[WEATHER],
        store=False,
        input=[
            {"role": "user", "content": "Use the get_weather tool for Oslo"},
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": "Snow, -3 C"},
        ],
    )
    # Then the model answers from the tool's result
    assert "Snow, -3 C" in second.output_text


def test_hosted_tools_are_refused_naming_the_tool(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-oss-20b", input="news?", tools=[{"type": "web_search"}])
    assert caught.value.param == "tools[0].type"  # type: ignore[attr-defined]
