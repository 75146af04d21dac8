"""The OpenAI Agents SDK, with its default Responses model, runs a two-step function-tool agent against the local
server: the model calls the tool, the SDK runs it and sends the result back, the model answers from it."""

from __future__ import annotations

import asyncio

import openai
import pytest
from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, function_tool, set_tracing_disabled


@pytest.fixture(autouse=True)
def _no_tracing_upload() -> None:
    set_tracing_disabled(True)  # the SDK would otherwise upload traces to OpenAI


def weather_agent(base_url: str, calls: list[str]) -> Agent:
    @function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        calls.append(city)
        return f"Sunny and 21 C in {city}"

    client = openai.AsyncOpenAI(base_url=base_url, api_key="agents-key", max_retries=0)
    return Agent(
        name="weather",
        instructions="Answer weather questions with the get_weather tool.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model="gpt-oss-20b", openai_client=client),
    )


@pytest.mark.parametrize("base_path", ["/v1", "/converse/v1"])
@pytest.mark.parametrize("stream", [False, True], ids=["run", "run_streamed"])
def test_a_function_tool_agent_calls_the_tool_and_answers_from_it(
    gateway_url: str, base_path: str, stream: bool
) -> None:
    # Given an agent with one function tool, on the SDK's default Responses model
    calls: list[str] = []
    agent = weather_agent(gateway_url + base_path, calls)
    question = "What is the weather in Paris? Use the get_weather tool."

    async def run() -> object:
        if not stream:
            return await Runner.run(agent, question, run_config=RunConfig(tracing_disabled=True))
        result = Runner.run_streamed(agent, question, run_config=RunConfig(tracing_disabled=True))
        async for _ in result.stream_events():
            pass
        return result

    # When it runs to its final output
    result = asyncio.run(run())
    # Then the tool ran once and the final answer is built on its result
    assert len(calls) == 1
    assert "Sunny and 21 C" in str(result.final_output)  # type: ignore[attr-defined]
    assert len(result.raw_responses) == 2  # type: ignore[attr-defined]


def test_the_agent_continues_a_run_through_previous_response_id(gateway_url: str) -> None:
    # Given a first run whose last response is stored
    calls: list[str] = []
    agent = weather_agent(gateway_url + "/v1", calls)

    async def two_runs() -> str:
        first = await Runner.run(agent, "What is the weather in Rome? Use the get_weather tool.")
        # When the next run continues from it by id only
        follow_up = await Runner.run(
            agent, "And tomorrow? Use the get_weather tool.", previous_response_id=first.last_response_id
        )
        return str(follow_up.last_response_id)

    last_id = asyncio.run(two_runs())
    # Then the agent completed again, and the server gave the model the first run's turns as well
    assert len(calls) == 2
    owner = openai.OpenAI(base_url=gateway_url + "/v1", api_key="agents-key", max_retries=0)
    seen = owner.responses.input_items.list(last_id, limit=100).model_dump_json()
    assert "What is the weather in Rome?" in seen and "And tomorrow?" in seen
