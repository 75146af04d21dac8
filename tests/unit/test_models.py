"""Model names: aliases resolve to enabled Bedrock ids; /v1/models lists only enabled models."""

import pytest
from gptoss.errors import GatewayError
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B, KNOWN_MODELS, list_models, resolve_model, retrieve_model

BOTH = [GPT_OSS_20B, GPT_OSS_120B]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-oss-20b", GPT_OSS_20B),
        ("openai/gpt-oss-20b", GPT_OSS_20B),
        ("openai.gpt-oss-20b", GPT_OSS_20B),
        ("openai.gpt-oss-20b-1:0", GPT_OSS_20B),
        ("GPT-OSS-120B", GPT_OSS_120B),
        ("OpenAI/gpt-oss-120b", GPT_OSS_120B),
        ("openai.gpt-oss-120b-1:0", GPT_OSS_120B),
    ],
)
def test_aliases_and_ids_resolve_case_insensitively(name, expected):
    # Given both models enabled
    # When a client names a model by alias or id, in any case
    # Then the Bedrock id is used
    assert resolve_model(name, BOTH) == expected


def test_a_known_model_that_is_not_enabled_is_not_found():
    # Given only the 20b model is enabled
    # When a client asks for 120b
    with pytest.raises(GatewayError) as raised:
        resolve_model("gpt-oss-120b", [GPT_OSS_20B])
    # Then it is a 404 model_not_found on `model`
    assert (raised.value.status, raised.value.code, raised.value.param) == (404, "model_not_found", "model")


def test_an_unknown_model_is_not_found():
    # Given both models enabled
    # When a client names a model the gateway does not serve
    # Then it is a 404 whose message names that model
    with pytest.raises(GatewayError) as raised:
        resolve_model("gpt-4o", BOTH)
    assert (raised.value.status, raised.value.code, raised.value.param) == (404, "model_not_found", "model")
    assert "gpt-4o" in raised.value.message


def test_an_enabled_model_outside_the_alias_table_resolves_by_exact_id():
    # Given a deployment that enables a newer gpt-oss id
    enabled = ["openai.gpt-oss-safeguard-20b"]
    # Then that id is accepted as is
    assert resolve_model("openai.gpt-oss-safeguard-20b", enabled) == "openai.gpt-oss-safeguard-20b"


def test_list_models_shows_exactly_the_enabled_models_as_openai_objects():
    # Given one enabled model
    # When the client lists models
    listing = list_models([GPT_OSS_120B])
    # Then it is an OpenAI list with that model only
    assert listing["object"] == "list"
    assert [model["id"] for model in listing["data"]] == [GPT_OSS_120B]
    assert listing["data"][0] == {"id": GPT_OSS_120B, "object": "model", "created": 1754352000, "owned_by": "openai"}


def test_retrieve_model_accepts_aliases():
    # Given both known models enabled
    # When a client retrieves a model by its short alias
    # Then the model object carries the Bedrock id
    assert retrieve_model("gpt-oss-20b", BOTH)["id"] == GPT_OSS_20B
    assert set(KNOWN_MODELS) == set(BOTH)
