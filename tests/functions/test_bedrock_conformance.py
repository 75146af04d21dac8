"""The emulator answers like real Bedrock does for gpt-oss: every case of bedrock_conformance.json (a copy of
shared/reference/bedrock-conformance.json: Bedrock's own answers, from public bug reports) replayed over real HTTP
with boto3, on every operation the case names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from local.emulator.server import EmulatorServer

CASES = json.loads((Path(__file__).with_name("bedrock_conformance.json")).read_text())["cases"]
MODELS = ("openai.gpt-oss-20b-1:0", "openai.gpt-oss-120b-1:0")
LONG_TOOL_USE_ID = "t" * 65
TOOL_CONFIG = {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]}


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, chunk_delay=0.0) as emulator:
        yield emulator


@pytest.fixture
def client(emulator: EmulatorServer) -> BaseClient:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("bedrock-runtime", endpoint_url=emulator.url, region_name="us-west-2", config=config)


def _complete_converse(case: dict[str, Any]) -> dict[str, Any]:
    """A complete valid Converse request around the case's relevant part (as the case file says to assume)."""
    request = json.loads(json.dumps(case["request"]).replace("<65+ characters>", LONG_TOOL_USE_ID))
    messages = request.pop("messages", None)
    if messages is None:
        messages = [{"role": "user", "content": [{"text": "Hello"}]}]
    elif case["id"] not in ("converse-starts-with-assistant", "converse-roles-alternate", "converse-blank-text"):
        messages = [{"role": "user", "content": [{"text": "Hello"}]}, *messages]
        if messages[-1]["role"] == "assistant":
            messages.append({"role": "user", "content": [{"text": "Go on"}]})
    if any("toolUse" in block for message in messages for block in message["content"]):
        request["toolConfig"] = TOOL_CONFIG
    return {"messages": messages, **request}


def _call(client: BaseClient, operation: str, model: str, case: dict[str, Any]) -> dict[str, Any]:
    if operation.startswith("Converse"):
        request = _complete_converse(case)
        if operation == "ConverseStream":
            response = client.converse_stream(modelId=model, **request)
            return {"events": list(response["stream"])}
        return client.converse(modelId=model, **request)
    body = {"messages": [{"role": "user", "content": "Hello"}], **case["request"]}
    if operation == "InvokeModelWithResponseStream":
        response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body | {"stream": True}))
        return {"events": list(response["body"])}
    return json.loads(client.invoke_model(modelId=model, body=json.dumps(body))["body"].read())


def _calls() -> list[Any]:
    params = []
    for case in CASES:
        models = MODELS if case["model"] == "any" else tuple(case["model"].split("|"))
        for operation in case["operation"].split("|"):
            for model in models:
                params.append(pytest.param(case, operation, model, id=f"{case['id']}-{operation}-{model[7:19]}"))
    return params


@pytest.mark.parametrize(("case", "operation", "model"), _calls())
def test_the_emulator_answers_as_bedrock_does(client: BaseClient, case: dict, operation: str, model: str) -> None:
    # Given a request shape whose real Bedrock answer is on record
    expect = case["expect"]
    if expect["status"] == 200:
        # When it is sent, Then it is answered
        assert _call(client, operation, model, case)
        return
    # When it is sent, Then the error is Bedrock's: same status, exception and wording
    with pytest.raises(ClientError) as raised:
        _call(client, operation, model, case)
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == expect["status"]
    assert error["Error"]["Code"] == expect["error"]
    message = error["Error"]["Message"]
    if "message" in expect:
        assert message == expect["message"]
    if "message_starts" in expect:
        assert message.startswith(expect["message_starts"])
    if "message_contains" in expect:
        assert expect["message_contains"] in message
