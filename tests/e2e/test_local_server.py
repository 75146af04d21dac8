"""`make local` specifics: real incremental streaming over HTTP, the optional API key, the backend choice."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import httpx
import openai
import pytest
from gateway.settings import Settings
from gptoss.models import KNOWN_MODELS

from local.__main__ import choose_backend
from local.emulator.server import EmulatorServer
from local.server import LocalServer, create_app
from tests.functions.api_helpers import GUARDRAIL, fake_credentials

CHUNK_DELAY = 0.02
SETTINGS = Settings(enabled_models=KNOWN_MODELS, guardrail=GUARDRAIL)


@pytest.fixture(scope="module")
def slow_gateway() -> Iterator[str]:
    """A gateway over an emulator that waits CHUNK_DELAY between stream events, like a model generating."""
    with (
        fake_credentials(),
        EmulatorServer(port=0, chunk_delay=CHUNK_DELAY) as emulator,
        LocalServer(create_app(settings=SETTINGS, endpoint_url=emulator.url)) as server,
    ):
        yield server.url


@pytest.fixture(scope="module")
def keyed_gateway(emulator: EmulatorServer) -> Iterator[str]:
    app = create_app(settings=SETTINGS, endpoint_url=emulator.url, api_key="s3cret")
    with fake_credentials(), LocalServer(app) as server:
        yield server.url


@pytest.mark.parametrize("prefix", ["/v1", "/converse/v1"])
def test_first_chunk_leaves_before_the_model_finishes(slow_gateway: str, prefix: str) -> None:
    # Given a model that takes CHUNK_DELAY per stream event
    client = openai.OpenAI(base_url=slow_gateway + prefix, api_key="x", max_retries=0)
    started = time.perf_counter()
    arrivals: list[float] = []
    # When the SDK streams an answer
    for _ in client.chat.completions.create(
        model="gpt-oss-20b", messages=[{"role": "user", "content": "Tell me a long story"}], stream=True
    ):
        arrivals.append(time.perf_counter() - started)
    # Then chunks arrived one by one while the model was still generating: the first one at least half the model's
    # generation time (CHUNK_DELAY per event) before the last. A buffered answer arrives in one burst (spread ~0).
    # Only the spread is timed, not the first chunk's absolute delay, which a loaded machine can stretch.
    assert len(arrivals) > 10
    assert arrivals[-1] - arrivals[0] > CHUNK_DELAY * (len(arrivals) / 2), arrivals


def test_local_api_key_is_enforced_when_set(keyed_gateway: str) -> None:
    # Given LOCAL_API_KEY is set
    wrong = openai.OpenAI(base_url=keyed_gateway + "/v1", api_key="guess", max_retries=0)
    right = openai.OpenAI(base_url=keyed_gateway + "/v1", api_key="s3cret", max_retries=0)
    # When a client uses a wrong key, Then AuthenticationError (401 authentication_error)
    with pytest.raises(openai.AuthenticationError) as raised:
        wrong.chat.completions.create(model="gpt-oss-20b", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["type"] == "authentication_error"
    # And with no key at all
    missing = httpx.get(keyed_gateway + "/v1/models")
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
    # And the right key works, and health checks stay open
    assert right.models.list().data
    assert httpx.get(keyed_gateway + "/healthz").status_code == 200


def test_any_key_is_accepted_when_no_local_key(gateway_url: str) -> None:
    # Given no LOCAL_API_KEY, When a client sends an arbitrary key, Then it is served
    client = openai.OpenAI(base_url=gateway_url + "/v1", api_key="whatever-123", max_retries=0)
    assert client.models.list().data


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an explicit runtime endpoint, Then it wins even with credentials configured
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9")
    assert choose_backend() == "endpoint"
    # Given no endpoint but credentials, Then real Bedrock
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
    assert choose_backend() == "bedrock"
    # Given no endpoint and no credentials anywhere, Then the emulator
    monkeypatch.setattr(boto3.session.Session, "get_credentials", lambda self: None)
    assert choose_backend() == "emulator"


def test_unknown_route_is_an_openai_404(gateway_url: str) -> None:
    # Given the local server, When a client calls an API it does not have, Then an OpenAI error object
    response = httpx.post(gateway_url + "/v1/embeddings", json={"input": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["message"]
