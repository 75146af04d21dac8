"""The trust boundary over real HTTP: the official SDK cannot narrow the guardrail, and hostile bodies on every route
are OpenAI 4xx errors the SDK raises as its own exceptions, never 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from gptoss.json_limits import MAX_JSON_DEPTH
from gptoss.models import GPT_OSS_20B

from tests.api_contract import assert_openai_error

HELLO = [{"role": "user", "content": "Hello"}]


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    "control",
    [{"tagSuffix": "xyz"}, {"streamProcessingMode": "ASYNCHRONOUS"}],
    ids=["tag-suffix", "async-stream"],
)
def test_the_sdk_cannot_narrow_the_guardrail_with_a_bedrock_body_member(
    client: openai.OpenAI, control: dict[str, str]
) -> None:
    # Given an app that smuggles Bedrock's guardrail body config in through extra_body
    # When it asks, streamed or not
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(
                model="gpt-oss-20b",
                messages=HELLO,
                stream=stream,
                extra_body={"amazon-bedrock-guardrailConfig": control},
            )
        # Then the SDK raises BadRequestError naming the member
        assert raised.value.param == "amazon-bedrock-guardrailConfig"


def test_the_sdk_gets_a_bad_request_for_a_deeply_nested_field(client: openai.OpenAI) -> None:
    # Given a request with a field nested 500 levels deep (what an app could build by accident, or on purpose)
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-oss-20b", messages=HELLO, extra_body={"metadata": nested(500)})
    # Then the SDK raises BadRequestError naming the field and the limit
    assert (raised.value.param, raised.value.code) == ("metadata", "json_too_deep")
    assert str(MAX_JSON_DEPTH) in raised.value.message


@pytest.mark.parametrize(
    ("path", "prefix"),
    [
        ("/v1/chat/completions", '{"model": "gpt-oss-20b", "messages": '),
        ("/converse/v1/chat/completions", '{"model": "gpt-oss-20b", "messages": '),
        (f"/model/{GPT_OSS_20B}/converse", '{"messages": '),
        ("/v1/chat/completions", ""),
        (f"/model/{GPT_OSS_20B}/converse", ""),
    ],
    ids=["chat", "converse-chat", "native-converse", "chat-bare", "native-bare"],
)
def test_ten_kilobytes_of_brackets_are_a_400_on_every_route(gateway_url: str, path: str, prefix: str) -> None:
    # Given 10 KB of `[` inside a member, or as the whole body
    body = prefix + "[" * 10_240
    # When it is posted over HTTP
    response = httpx.post(gateway_url + path, content=body, headers={"content-type": "application/json"})
    # Then it is a 400 OpenAI error, naming the member when there is one
    error = assert_openai_error(response, 400, code="json_too_deep")
    assert error["param"] == ("messages" if prefix else None)


def test_a_native_converse_guardrail_config_is_refused_over_http(gateway_url: str) -> None:
    # Given a native Converse body that brings its own guardrail and limits it to one guardContent block
    body = {
        "messages": [{"role": "user", "content": [{"guardContent": {"text": {"text": "check only this"}}}]}],
        "guardrailConfig": {"guardrailIdentifier": "mine", "guardrailVersion": "DRAFT"},
    }
    # When it is posted
    response = httpx.post(f"{gateway_url}/model/{GPT_OSS_20B}/converse", json=body)
    # Then the first member the deployment decides is named in a 400
    assert_openai_error(response, 400, param="guardrailConfig")
    # And without it, the guardContent block is refused by its position
    del body["guardrailConfig"]
    response = httpx.post(f"{gateway_url}/model/{GPT_OSS_20B}/converse", json=body)
    assert_openai_error(response, 400, param="messages[0].content[0].guardContent")
