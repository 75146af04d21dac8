"""The request contract: every top-level field of an OpenAI chat completion body this gateway accepts, defined once.

Real InvokeModel deserialises a gpt-oss body strictly: a top-level field outside its list is a Bedrock 400 after a
network round trip (facts sheet §8; the table has exactly the fields of that list, a unit test checks it against
Bedrock's recorded error message). This table decides, before any AWS call, what each field may hold
(`schema`, a JSON Schema fragment) and what each backend does with it (`invoke`, `converse`). The same table drives:

- the chat validator (`gptoss.chat_request`): an unknown field is a 400 "Unrecognized request argument supplied";
  simple fields are checked against their schema here, structured ones (`$ref`) by the validator's own checks;
- both request builders (`gptoss.invoke` sends only fields marked `FORWARD`; `gptoss.converse` maps, puts in
  `additionalModelRequestFields` or leaves out per `converse`);
- the batch record validator (`gptoss.batch_records`), which runs the chat validator on every record;
- `openapi.yaml`'s `ChatCompletionRequest` (`openapi_request_schema()`; a test keeps the document equal to it);
- the README's request-contract table (`markdown_table()`).

Fields Bedrock would accept but gpt-oss cannot honour (audio, predicted outputs, legacy functions) are refused with
a clear 400 rather than forwarded to be ignored: nothing a caller sends is silently dropped. A field whose only
accepted value is the default (`n: 1`, `store: false`, `logit_bias: {}`, ...) is accepted and not sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from gptoss.errors import GatewayError, invalid_request
from gptoss.trust import refuse_reserved_keys

Json = dict[str, Any]

MAX_STOP_SEQUENCES = 4
MAX_METADATA_PAIRS = 16


class Invoke(Enum):
    """What the InvokeModel path does with a field."""

    FORWARD = "sent as is"
    SET = "set by the gateway"
    NOT_SENT = "accepted, not sent"
    REFUSED = "refused (400)"


class Converse(Enum):
    """What the Converse path does with a field."""

    MAPPED = "mapped"
    ADDITIONAL = "`additionalModelRequestFields`"
    GATEWAY = "applied by the gateway"
    NOT_SENT = "accepted, not sent"
    REFUSED = "refused (400)"


@dataclass(frozen=True)
class Field:
    """One accepted (or deliberately refused) top-level request field."""

    schema: Json
    invoke: Invoke
    converse: Converse
    note: str = ""
    expected: str = ""  # how the 400 describes a valid value, when the schema alone would say it badly

    @property
    def accepted(self) -> bool:
        return self.invoke is not Invoke.REFUSED

    @property
    def structured(self) -> bool:
        """Checked by the chat validator's own rules (its schema refers to openapi.yaml components)."""
        return "$ref" in self.schema or "$ref" in self.schema.get("items", {})


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


_NUMBER_0_2 = {"type": "number", "minimum": 0, "maximum": 2}
_PENALTY = {"type": "number", "minimum": -2, "maximum": 2}
_POSITIVE_INT = {"type": "integer", "minimum": 1}

FIELDS: dict[str, Field] = {
    "model": Field(
        {"type": "string", "minLength": 1}, Invoke.SET, Converse.MAPPED, "Bedrock id or alias → the Bedrock id"
    ),
    "messages": Field(
        {"type": "array", "minItems": 1, "items": _ref("Message")},
        Invoke.SET,
        Converse.MAPPED,
        "→ `system` + `messages`; InvokeModel: earlier `reasoning_content` removed",
    ),
    "max_completion_tokens": Field(_POSITIVE_INT, Invoke.FORWARD, Converse.MAPPED, "→ `inferenceConfig.maxTokens`"),
    "max_tokens": Field(_POSITIVE_INT, Invoke.FORWARD, Converse.MAPPED, "→ `maxTokens` (`max_completion_tokens` wins)"),
    "temperature": Field(
        _NUMBER_0_2, Invoke.FORWARD, Converse.MAPPED, "→ `inferenceConfig.temperature`; Converse: above 1 is a 400"
    ),
    "top_p": Field({"type": "number", "minimum": 0, "maximum": 1}, Invoke.FORWARD, Converse.MAPPED, "→ `topP`"),
    "stop": Field(
        {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "maxItems": MAX_STOP_SEQUENCES, "items": {"type": "string", "minLength": 1}},
            ]
        },
        Invoke.FORWARD,
        Converse.GATEWAY,
        "Converse refuses `stopSequences` for gpt-oss: the gateway ends the answer before the first stop string",
        expected=f"a non-empty string or an array of at most {MAX_STOP_SEQUENCES} non-empty strings",
    ),
    "stream": Field({"type": "boolean"}, Invoke.SET, Converse.MAPPED, "chooses the streaming operation"),
    "stream_options": Field(
        {"type": "object", "properties": {"include_usage": {"type": "boolean"}}, "additionalProperties": False},
        Invoke.FORWARD,
        Converse.GATEWAY,
        "only with `stream: true`; `include_usage` adds the usage chunk",
    ),
    "n": Field(
        {"const": 1},
        Invoke.NOT_SENT,
        Converse.NOT_SENT,
        "Bedrock returns one choice",
        expected="1: only n=1 is supported, Bedrock returns one choice per request",
    ),
    "tools": Field({"type": "array", "items": _ref("Tool")}, Invoke.FORWARD, Converse.MAPPED, "→ `toolConfig.tools`"),
    "tool_choice": Field(_ref("ToolChoice"), Invoke.FORWARD, Converse.MAPPED, "→ `toolConfig.toolChoice`"),
    "parallel_tool_calls": Field({"type": "boolean"}, Invoke.FORWARD, Converse.ADDITIONAL),
    "reasoning_effort": Field({"enum": ["low", "medium", "high"]}, Invoke.FORWARD, Converse.ADDITIONAL),
    "response_format": Field(_ref("ResponseFormat"), Invoke.FORWARD, Converse.ADDITIONAL),
    "seed": Field({"type": "integer"}, Invoke.FORWARD, Converse.ADDITIONAL),
    "frequency_penalty": Field(_PENALTY, Invoke.FORWARD, Converse.ADDITIONAL),
    "presence_penalty": Field(_PENALTY, Invoke.FORWARD, Converse.ADDITIONAL),
    "logprobs": Field(
        {"type": "boolean"}, Invoke.FORWARD, Converse.REFUSED, "Converse returns no log probabilities: use `/v1`"
    ),
    "top_logprobs": Field(
        {"type": "integer", "minimum": 0, "maximum": 20},
        Invoke.FORWARD,
        Converse.REFUSED,
        "needs `logprobs: true`; Converse: as `logprobs`",
    ),
    "user": Field({"type": "string", "maxLength": 256}, Invoke.FORWARD, Converse.MAPPED, "→ `requestMetadata.user`"),
    "metadata": Field(
        {
            "type": "object",
            "maxProperties": MAX_METADATA_PAIRS,
            "propertyNames": {"minLength": 1, "maxLength": 64},
            "additionalProperties": {"type": "string", "maxLength": 256},
        },
        Invoke.FORWARD,
        Converse.MAPPED,
        "→ `requestMetadata` (shown in Bedrock invocation logs)",
        expected=f"an object of at most {MAX_METADATA_PAIRS} string values up to 256 characters, keys up to 64",
    ),
    "store": Field(
        {"const": False}, Invoke.NOT_SENT, Converse.NOT_SENT, "stored completions are not offered", expected="false"
    ),
    "service_tier": Field(
        {"enum": ["auto", "default"]},
        Invoke.NOT_SENT,
        Converse.NOT_SENT,
        "other tiers change billing: refused",
    ),
    "modalities": Field(
        {"type": "array", "items": {"const": "text"}},
        Invoke.FORWARD,
        Converse.NOT_SENT,
        "text only",
        expected='["text"]',
    ),
    "logit_bias": Field(
        {"type": "object", "maxProperties": 0},
        Invoke.NOT_SENT,
        Converse.NOT_SENT,
        "not supported by gpt-oss on Bedrock; only `{}`",
        expected="an empty object (logit_bias is not supported by gpt-oss on Bedrock)",
    ),
    "prediction": Field({}, Invoke.REFUSED, Converse.REFUSED, "predicted outputs are not supported by gpt-oss"),
    "audio": Field({}, Invoke.REFUSED, Converse.REFUSED, "audio output is not supported: gpt-oss is text-only"),
    "functions": Field({}, Invoke.REFUSED, Converse.REFUSED, "deprecated: use `tools`"),
    "function_call": Field({}, Invoke.REFUSED, Converse.REFUSED, "deprecated: use `tool_choice`"),
}

REQUIRED: tuple[str, ...] = ("model", "messages")


def fields_for(converse: Converse) -> frozenset[str]:
    """The accepted fields the Converse path treats this way."""
    return frozenset(name for name, field in FIELDS.items() if field.accepted and field.converse is converse)


def invoke_fields() -> frozenset[str]:
    """The fields an InvokeModel body may carry (forwarded from the caller or set by the gateway)."""
    return frozenset(name for name, field in FIELDS.items() if field.invoke in (Invoke.FORWARD, Invoke.SET))


def check_top_level(request: Json) -> None:
    """Refuse Bedrock's own controls (`gptoss.trust`), unknown and refused fields, then check every simple field
    against its schema (a 400 naming it)."""
    refuse_reserved_keys(request)
    for name in request:
        field = FIELDS.get(name)
        if field is None:
            raise _unknown(name)
        if not field.accepted:
            raise invalid_request(f"'{name}' is not supported: {field.note}.", param=name)
    for name, value in request.items():
        check = SIMPLE_CHECKS.get(name)
        if check is not None and not check(value):
            raise invalid_request(f"'{name}' must be {describe(name)}.", param=name)


def _unknown(name: str) -> GatewayError:
    return invalid_request(f"Unrecognized request argument supplied: {name}.", param=name)


def describe(name: str) -> str:
    """How the 400 for `name` describes a valid value."""
    field = FIELDS[name]
    return field.expected or _describe(field.schema)


def _describe(schema: Json) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(f"'{value}'" for value in schema["enum"])
    kind = schema.get("type")
    if kind in ("number", "integer"):
        noun = "a number" if kind == "number" else "an integer"
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"{noun} between {low:g} and {high:g}"
        if low == 1 and kind == "integer":
            return "a positive integer"
        return noun
    if kind == "string" and "maxLength" in schema:
        return f"a string of at most {schema['maxLength']} characters"
    return {"boolean": "a boolean", "string": "a string", "object": "an object"}.get(kind, "valid")


Check = Callable[[object], bool]


def compile_schema(schema: Json) -> Check:
    """A fast predicate for the subset of JSON Schema this table uses (oneOf, const, enum, type with bounds, items,
    properties/additionalProperties/propertyNames/maxProperties). Values are JSON-decoded, so exact types are
    compared (a boolean is never a number)."""
    if "oneOf" in schema:
        options = [compile_schema(option) for option in schema["oneOf"]]
        return lambda value: sum(check(value) for check in options) == 1
    if "const" in schema:
        constant = schema["const"]
        return lambda value: type(value) is type(constant) and value == constant
    if "enum" in schema:
        allowed = frozenset(schema["enum"])
        return lambda value: type(value) is str and value in allowed
    kind = schema.get("type")
    if kind in ("number", "integer"):
        low, high = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)
        types = (int,) if kind == "integer" else (int, float)
        return lambda value: type(value) in types and low <= value <= high and math.isfinite(value)
    if kind == "boolean":
        return lambda value: type(value) is bool
    if kind == "string":
        shortest, longest = schema.get("minLength", 0), schema.get("maxLength", math.inf)
        return lambda value: type(value) is str and shortest <= len(value) <= longest
    if kind == "array":
        fewest, most = schema.get("minItems", 0), schema.get("maxItems", math.inf)
        item = compile_schema(schema.get("items", {}))
        return lambda value: type(value) is list and fewest <= len(value) <= most and all(map(item, value))
    if kind == "object":
        return _compile_object(schema)
    return lambda value: True


def _compile_object(schema: Json) -> Check:
    most = schema.get("maxProperties", math.inf)
    name_check = compile_schema({"type": "string", **schema.get("propertyNames", {})})
    properties = {name: compile_schema(item) for name, item in schema.get("properties", {}).items()}
    extra = schema.get("additionalProperties", True)
    extra_check = compile_schema(extra) if isinstance(extra, dict) else (lambda value: extra)

    def check(value: object) -> bool:
        if type(value) is not dict or len(value) > most:
            return False
        for name, item in value.items():
            if not name_check(name):
                return False
            if not (properties[name](item) if name in properties else extra_check(item)):
                return False
        return True

    return check


# The schema check of every accepted field the chat validator does not check structurally.
SIMPLE_CHECKS: dict[str, Check] = {
    name: compile_schema(field.schema) for name, field in FIELDS.items() if field.accepted and not field.structured
}


def openapi_request_schema() -> Json:
    """`components.schemas.ChatCompletionRequest` of openapi.yaml, as this contract defines it.

    A field's `null` is accepted as "not given" (as OpenAI does), so every optional field also allows null.
    """
    properties: Json = {}
    for name, field in FIELDS.items():
        if not field.accepted:
            continue
        properties[name] = field.schema if name in REQUIRED else {"anyOf": [field.schema, {"type": "null"}]}
    return {"type": "object", "required": list(REQUIRED), "additionalProperties": False, "properties": properties}


def markdown_table() -> str:
    """The README's request-contract table: field → InvokeModel / Converse treatment."""
    rows = ["| field | InvokeModel (`/v1`) | Converse (`/converse/v1`) | notes |", "|---|---|---|---|"]
    for name, field in FIELDS.items():
        rows.append(f"| `{name}` | {field.invoke.value} | {field.converse.value} | {field.note} |")
    return "\n".join(rows)
