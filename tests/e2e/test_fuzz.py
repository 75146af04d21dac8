"""Fuzzing the POST routes from lambdas/shared/openapi.yaml with schemathesis over real HTTP (local server +
emulator): over 1,000 generated requests, valid and invalid, then schemathesis' valid requests made hostile (unknown
members, nesting far past the limit, huge strings). No 5xx ever; every 4xx is an OpenAI error object; every 200
matches the documented response schema.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
import yaml
from gptoss.json_limits import MAX_JSON_DEPTH
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
HOSTILE_SHAPES = ("unknown-member", "deep-nesting", "huge-string")
HOSTILE_EXAMPLES = 60  # x 5 operations x 3 shapes = 900 requests
MAX_REQUEST_BYTES = 1_048_576  # the local server's default body limit: huge strings land on both sides of it
HUGE_STRING_SIZES = (65_536, 500_000, MAX_REQUEST_BYTES - 200, MAX_REQUEST_BYTES + 1, 3 * MAX_REQUEST_BYTES)
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


def generated(examples: int) -> hypothesis.settings:
    """Hypothesis settings for sending `examples` requests: the same ones on every run, no shrinking, no deadline."""
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate],
    )


def fuzz(operation: Any, path: str, mode: GenerationMode, send: Any) -> int:
    """Send EXAMPLES_PER_CASE generated requests for one operation and mode; returns how many were sent."""
    sent = 0
    strategy = st.builds(with_enabled_model, operation.as_strategy(mode), st.booleans())

    @generated(EXAMPLES_PER_CASE)
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


# A JSON string standing for a raw value spliced into the serialised body (nesting too deep for json.dumps to write).
PLACEHOLDER = "\u0000hostile\u0000"


def json_nodes(body: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in `body`, the body itself first."""
    paths = [path]
    if isinstance(body, dict):
        for key, value in body.items():
            paths += json_nodes(value, (*path, key))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            paths += json_nodes(value, (*path, index))
    return paths


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return body


@st.composite
def hostile_body(draw: st.DrawFn, body: Any, shape: str) -> tuple[bytes, str]:
    """`body` made hostile in one place; returns the raw JSON and a label for the figures."""
    body = json.loads(json.dumps(body))
    if shape == "unknown-member":
        objects = [path for path in json_nodes(body) if isinstance(_at(body, path), dict)]
        target = _at(body, draw(st.sampled_from(objects))) if objects else body
        name = draw(st.sampled_from(["amazon-bedrock-guardrailConfig", "guardrailConfig", "serviceTier"]) | st.text())
        target[name] = draw(st.none() | st.booleans() | st.text(max_size=5) | st.dictionaries(st.text(), st.text()))
        return json.dumps(body).encode(), shape
    members = json_nodes(body)[1:] or [()]  # a member when there is one, else the whole body
    if shape == "huge-string":
        # Mostly in place of a string the request already has (so that many still reach the model), else anywhere
        texts = [path for path in members if isinstance(_at(body, path), str)]
        path = draw(st.sampled_from(texts) | st.sampled_from(members) if texts else st.sampled_from(members))
        size = draw(st.sampled_from(HUGE_STRING_SIZES) | st.integers(min_value=10_000, max_value=2 * MAX_REQUEST_BYTES))
        raw = json.dumps(replaced(body, path, draw(st.sampled_from("x\u00e9\U0001f600")) * size)).encode()
        return raw, f"{shape} ({'over' if len(raw) > MAX_REQUEST_BYTES else 'under'} the body limit)"
    path = draw(st.sampled_from(members))
    depth = draw(st.integers(min_value=MAX_JSON_DEPTH + 1, max_value=20_000))
    closed = draw(st.booleans())
    raw = "[" * depth + ("]" * depth if closed else "")
    text = json.dumps(replaced(body, path, PLACEHOLDER)).replace(json.dumps(PLACEHOLDER), raw, 1)
    return text.encode(), shape


def _at(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        body = body[step]
    return body


def fuzz_hostile(operation: Any, path: str, shape: str, gateway_url: str, figures: Counter[Any]) -> None:
    """Send HOSTILE_EXAMPLES of the operation's valid requests (for an enabled model, so that they get past the model
    check), each made hostile as `shape` says, as raw JSON over HTTP."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer fuzz-key"  # stored responses belong to a key, as deployed

    @generated(HOSTILE_EXAMPLES)
    @hypothesis.given(case=st.builds(with_enabled_model, operation.as_strategy(), st.just(True)), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        raw, label = data.draw(hostile_body(case.body, shape))
        request = case.as_transport_kwargs(base_url=gateway_url)
        request.pop("json", None)
        response = session.request(**request, data=raw, timeout=30)
        figures[(path, label, response.status_code)] += 1
        try:
            check(path, _Response(response))
        except (AssertionError, json.JSONDecodeError) as failure:
            raise AssertionError(f"{label} on {path}: {raw[:300]!r}\n{failure}") from None

    run()


@pytest.mark.slow
def test_fuzz_hostile_shapes_never_5xx(gateway_url: str) -> None:
    # Given the documented API and a live local server
    schema = schemathesis.openapi.from_dict(bounded(yaml.safe_load(OPENAPI_PATH.read_text())))
    figures: Counter[tuple[str, str, int]] = Counter()
    # When schemathesis' valid requests for every POST route are made hostile in one random place each
    for path in OPERATIONS:
        for shape in HOSTILE_SHAPES:
            fuzz_hostile(schema[path]["POST"], path, shape, gateway_url, figures)
    # Then none failed the checks (no 5xx, OpenAI errors), and every route saw every shape
    print_figures(figures)
    assert sum(figures.values()) == len(OPERATIONS) * len(HOSTILE_SHAPES) * HOSTILE_EXAMPLES
    assert {(path, label.split(" ")[0]) for path, label, _ in figures} == {
        (path, shape) for path in OPERATIONS for shape in HOSTILE_SHAPES
    }


class _Response:
    """A requests response seen through the attributes `check` reads from schemathesis' Response."""

    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self.text = response.text
        self.headers = {name.lower(): [value] for name, value in response.headers.items()}
        self.json = response.json


def print_figures(figures: Counter[tuple[str, str, int]]) -> None:
    """The run's figures (shown with `pytest -s`): requests per route, shape and status."""
    print(f"\nhostile fuzz: {sum(figures.values())} requests, {sum(n for k, n in figures.items() if k[2] >= 500)} 5xx")
    for (path, label, status), count in sorted(figures.items()):
        print(f"  {path:32} {label:40} {status}: {count}")
