"""The per-request EMF metrics the dashboards and alarms query: a Bedrock throttle counts as an Error and a Throttle."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chat_api import create_app

from tests.functions.api_helpers import HELLO, stubbed


def emf_documents(output: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [document for document in documents if "_aws" in document]


def test_a_bedrock_throttle_emits_errors_and_throttles(capsys: pytest.CaptureFixture[str]) -> None:
    # Given Bedrock throttles the call
    with stubbed(create_app, "chat") as (http, stubber):
        stubber.add_client_error("invoke_model", "ThrottlingException", "slow down", 429)
        capsys.readouterr()
        # When the client asks
        response = http.post("/v1/chat/completions", json=HELLO)
    # Then it gets a 429, and the EMF output counts one Error and one Throttle for the route
    assert response.status_code == 429
    errors = [doc for doc in emf_documents(capsys.readouterr().out) if "Errors" in doc]
    assert len(errors) == 1
    assert (errors[0]["Errors"], errors[0]["Throttles"], errors[0]["route"]) == ([1.0], [1.0], "/v1/chat/completions")
    names = {metric["Name"] for metric in errors[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {"Errors", "Throttles"}
