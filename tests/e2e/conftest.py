"""The local server (`make local`'s app) started in-process over real HTTP, backed by the Bedrock emulator, with
stored Responses in `make local`'s in-process DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from gateway.settings import Settings
from gptoss.models import KNOWN_MODELS

from local.batch import LocalBatch
from local.emulator.server import EmulatorServer
from local.response_table import DEFAULT_TABLE, LocalResponseTable
from local.server import LocalServer, create_app
from tests.functions.api_helpers import GUARDRAIL, fake_credentials

SETTINGS = Settings(enabled_models=KNOWN_MODELS, guardrail=GUARDRAIL, responses_table=DEFAULT_TABLE)
# Environment `make local`'s batch side sets for itself: unset while it runs in a test module, restored after.
LOCAL_BATCH_ENV = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "BUCKET_NAME",
    "BATCH_ROLE_ARN",
    "BATCH_POLL_SECONDS",
    "BATCH_MAX_POLL_SECONDS",
    "BATCH_MIN_RECORDS",
    "BATCH_ON_DEMAND_BACKOFF_MS",
)


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, chunk_delay=0.0) as server:
        yield server


@pytest.fixture(scope="session")
def gateway_url(emulator: EmulatorServer) -> Iterator[str]:
    # No EMF output, as under `python -m local`: it is written after the answer's last byte, so it would land
    # between tests (metrics are checked in tests/functions).
    with pytest.MonkeyPatch.context() as env, fake_credentials():
        env.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        with LocalResponseTable(DEFAULT_TABLE) as table:
            app = create_app(settings=SETTINGS, endpoint_url=emulator.url, store_endpoint_url=table.url)
            with LocalServer(app) as server:
                yield server.url


@pytest.fixture(autouse=True)
def _fresh_emulator(emulator: EmulatorServer) -> None:
    emulator.faults.reset()


@pytest.fixture(params=["/v1", "/converse/v1"], ids=["invoke", "converse"])
def client(request: pytest.FixtureRequest, gateway_url: str) -> openai.OpenAI:
    """The official SDK pointed at one of the two base URLs, changing nothing else."""
    return openai.OpenAI(base_url=gateway_url + request.param, api_key="any-key", max_retries=0)


@pytest.fixture(scope="module")
def local_batch_gateway(emulator: EmulatorServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """`make local`'s server with its batch side (local store, steps in-process, upload watcher), batch minimum 3.

    Each module gets its own bucket: moto's servers in one process share their state."""
    with pytest.MonkeyPatch.context() as env, fake_credentials():
        for name in LOCAL_BATCH_ENV:
            env.setenv(name, "")
            env.delenv(name)
        env.setenv("BUCKET_NAME", f"gptoss-local-{request.module.__name__.rsplit('.', 1)[-1].replace('_', '-')}")
        env.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        env.setenv("BATCH_MIN_RECORDS", "3")
        env.setenv("BATCH_ON_DEMAND_BACKOFF_MS", "0")
        with LocalBatch(emulator.url, poll_seconds=0, watch_seconds=0.05) as batch:
            app = create_app(settings=SETTINGS, endpoint_url=emulator.url, batch=batch.app())
            with LocalServer(app) as server:
                yield server.url
