"""Fuzzing the POST routes from lambdas/shared/openapi.yaml with schemathesis over real HTTP (local server +
emulator): over 1,000 generated requests, valid and invalid. No 5xx ever; every 4xx is an OpenAI error object;
every 200 matches the documented response schema.
"""

from __future__ import annotations

import json
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
import yaml
from gptoss.models import GPT_OSS_20B
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.api_contract import OPENAPI_PATH, assert_chunks, assert_schema, sse_events

OPERATIONS = [
    "/v1/chat/completions",
    "/converse/v1/chat/completions",
    "/model/{modelId}/converse",
    "/v1/responses",
    "/converse/v1/responses",
]
EXAMPLES_PER_CASE = 102  # x 5 operations x 2 modes = 1,020 requests
RESPONSE_SCHEMA = {
    "/v1/chat/completions": "ChatCompletion",
    "/converse/v1/chat/completions": "ChatCompletion",
    "/model/{modelId}/converse": "ConverseResponse",
    "/v1/responses": "ResponseObject",
    "/converse/v1/responses": "ResponseObject",
}


def bounded(node: Any) -> Any:
    """The schema with free-form objects narrowed (no open-ended extra keys, at most a few string-valued entries).

    Unbounded `type: object` members make hypothesis generate huge nested JSON at ~0.5 s per case; the narrowed
    document keeps every documented field and shape, so the run stays about a minute.
    """
    if isinstance(node, list):
        return [bounded(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: bounded(value) for key, value in node.items()}
    if node == {}:
        return {"type": "string", "maxLength": 8}
    if node.get("type") == "object" and "additionalProperties" not in node:
        if "properties" in node:
            node["additionalProperties"] = False
        else:
            node.update(additionalProperties={"type": "string", "maxLength": 8}, maxProperties=2)
    return node


def with_enabled_model(case: Any, use_enabled: bool) -> Any:
    """Point about half of the cases at an enabled model so that they reach the (emulated) model.

    Those are not streamed (streams are covered by the other e2e tests) to keep the run within about a minute.
    """
    if use_enabled:
        if isinstance(case.body, dict) and "model" in case.body:
            case.body["model"] = "gpt-oss-20b"
            case.body.pop("stream", None)
        if case.path_parameters and "modelId" in case.path_parameters:
            case.path_parameters["modelId"] = GPT_OSS_20B
    return case


def check(path: str, response: Any) -> None:
    """The gateway's contract for one schemathesis Response."""
    status = response.status_code
    assert status < 500, f"{status}: {response.text[:500]}"
    if status >= 400:
        assert_schema("ErrorResponse", response.json())
        return
    assert status == 200, status
    content_type = response.headers.get("content-type") or [""]
    if content_type[0].startswith("text/event-stream") and path.endswith("/responses"):
        assert_responses_events(response.text)
        return
    if content_type[0].startswith("text/event-stream"):
        events = sse_events(response.text)
        chunks = [event for event in events if not (isinstance(event, dict) and "error" in event)]
        assert_chunks(chunks)
        return
    assert_schema(RESPONSE_SCHEMA[path], response.json())


def assert_responses_events(text: str) -> None:
    """A Responses stream: `event: <type>` / `data: <event>` pairs numbered from 0, ending in a terminal event."""
    events = sse_events(text)
    assert events and all(isinstance(event, dict) for event in events), events[-3:]
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert events[-1]["type"] in ("response.completed", "response.incomplete", "response.failed"), events[-1]
    for event in events:
        assert f"event: {event['type']}\n" in text


def fuzz(operation: Any, path: str, mode: GenerationMode, send: Any) -> int:
    """Send EXAMPLES_PER_CASE generated requests for one operation and mode; returns how many were sent."""
    sent = 0
    strategy = st.builds(with_enabled_model, operation.as_strategy(mode), st.booleans())

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_CASE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        nonlocal sent
        response = send(case)
        sent += 1
        try:
            check(path, response)
        except (AssertionError, json.JSONDecodeError) as failure:
            raise AssertionError(f"{case.as_curl_command()}\n{failure}") from None

    run()
    return sent


@pytest.mark.slow
def test_fuzz_post_routes_never_5xx_and_always_openai_errors(gateway_url: str) -> None:
    # Given the documented API and a live local server
    schema = schemathesis.openapi.from_dict(bounded(yaml.safe_load(OPENAPI_PATH.read_text())))
    session = requests.Session()
    session.headers["Authorization"] = "Bearer fuzz-key"  # stored responses belong to a key, as deployed

    def send(case: Any) -> Any:
        return case.call(base_url=gateway_url, session=session, timeout=10)

    # When valid and invalid requests are generated for every POST route
    sent = {
        f"{path} {mode.value}": fuzz(schema[path]["POST"], path, mode, send)
        for path in OPERATIONS
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    }
    # Then none failed the checks, and the run covered more than 1,000 requests
    assert sum(sent.values()) >= 1000, sent
