"""Token usage per API key: each answered request records its input/output tokens under the caller's usage-plan key
id, which API Gateway puts in requestContext.identity.apiKeyId and the Lambda Web Adapter forwards as the JSON header
`x-amzn-request-context`. The key value, which that header also carries, is never written anywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import chat_api
import converse_api
import pytest
from starlette.testclient import TestClient

from local.emulator.server import EmulatorServer
from tests.api_contract import sse_events
from tests.functions.api_helpers import SETTINGS, fake_credentials, request_logs
from tests.functions.test_request_metrics import emf_documents

KEY_ID = "a1b2c3d4e5"
KEY_VALUE = "sk-THIS-IS-THE-SECRET-KEY-VALUE-0123456789"
ROUTES = {"/v1/chat/completions": chat_api, "/converse/v1/chat/completions": converse_api}


def lambda_web_adapter_headers(**identity: Any) -> dict[str, str]:
    """The request-context header the Lambda Web Adapter adds for an API Gateway REST API event."""
    context = {
        "requestId": "req-0001",
        "stage": "api",
        "identity": {"sourceIp": "203.0.113.9", "apiKey": KEY_VALUE, "apiKeyId": KEY_ID, **identity},
        "authorizer": {"principalId": "key-0123456789abcdef"},
    }
    return {"x-amzn-request-context": json.dumps(context)}


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, TestClient]]:
    with EmulatorServer(port=0, chunk_delay=0.0) as emulator, fake_credentials():
        clients = {
            route: TestClient(module.create_app(settings=SETTINGS, endpoint_url=emulator.url))
            for route, module in ROUTES.items()
        }
        with clients["/v1/chat/completions"], clients["/converse/v1/chat/completions"]:
            yield clients


def by_key(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in documents if "api_key_id" in doc]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_answer_records_its_tokens_under_the_callers_key_id_and_never_the_key(
    apps: dict[str, TestClient], route: str, stream: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "Count to three"}], "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    capsys.readouterr()
    # Given a request API Gateway matched to the key with id a1b2c3d4e5
    with request_logs() as logs:
        response = apps[route].post(route, json=body, headers=lambda_web_adapter_headers())
    assert response.status_code == 200, response.text
    if stream:
        [usage] = [
            event["usage"] for event in sse_events(response.text) if isinstance(event, dict) and event.get("usage")
        ]
    else:
        usage = response.json()["usage"]
    output = capsys.readouterr()
    # Then one EMF document counts the answer's tokens by that key id (the dashboard's "tokens by API key" series)
    [document] = by_key(emf_documents(output.out))
    assert document["api_key_id"] == KEY_ID
    assert (document["InputTokens"], document["OutputTokens"]) == (
        [float(usage["prompt_tokens"])],
        [float(usage["completion_tokens"])],
    )
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["api_key_id", "service"]]
    # And the request log names the key id
    [completed] = [line for line in logs if line.get("message") == "request completed"]
    assert completed["api_key_id"] == KEY_ID
    # And the key value itself appears in no log line, metric or error output
    assert KEY_VALUE not in output.out + output.err + json.dumps(logs)


def test_a_request_without_a_key_id_records_no_per_key_tokens(
    apps: dict[str, TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "Hi"}]}
    capsys.readouterr()
    # Given requests with no request context (make local) and with a forged, malformed key id
    assert apps["/v1/chat/completions"].post("/v1/chat/completions", json=body).status_code == 200
    forged = lambda_web_adapter_headers(apiKeyId='x" } ], "evil": [ "')
    assert apps["/v1/chat/completions"].post("/v1/chat/completions", json=body, headers=forged).status_code == 200
    # Then tokens are still counted by model, but no series is made up per key
    documents = emf_documents(capsys.readouterr().out)
    assert [doc for doc in documents if "InputTokens" in doc and "model" in doc]
    assert by_key(documents) == []
