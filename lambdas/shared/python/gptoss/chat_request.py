"""Validation of an OpenAI Create-chat-completion body, before it is sent to either backend.

The top-level fields, their types and allowed values are the request contract (`gptoss.request_contract`): an
unknown field, or one gpt-oss cannot honour, is refused here. This module adds the checks a field's schema cannot
express: the structure of `messages`, `tools` and `tool_choice`, and rules between fields.

Every rejection is a 400 `invalid_request_error` whose `param` names the offending field with a JSON-path-like
string (`messages[2].role`, `tools[0].function.parameters`, `temperature`).

Normalisation (the returned copy): top-level fields whose value is `null` are removed, since OpenAI treats them as
"not given". Everything else is kept as sent; each backend decides per the contract what it sends.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gptoss.errors import GatewayError, invalid_request
from gptoss.request_contract import REQUIRED, check_top_level

ROLES: tuple[str, ...] = ("system", "developer", "user", "assistant", "tool")
RESPONSE_FORMATS: tuple[str, ...] = ("text", "json_object", "json_schema")
TOOL_CHOICES: tuple[str, ...] = ("none", "auto", "required")
NON_TEXT_PARTS: tuple[str, ...] = ("image_url", "input_audio", "file", "image", "audio", "input_image")
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

Json = dict[str, Any]


def parse_chat_request(body: object) -> Json:
    """Validate an already JSON-decoded chat request; return a normalised deep copy or raise a 400 GatewayError."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    request: Json = {key: copy.deepcopy(value) for key, value in body.items() if value is not None}
    for name in REQUIRED:
        if name not in request:
            raise _fail(f"Missing required parameter: '{name}'.", name)
    check_top_level(request)
    _check_model(request)
    _check_messages(request)
    _check_streaming(request)
    tool_names = _check_tools(request)
    _check_tool_choice(request, tool_names)
    _check_response_format(request)
    if "top_logprobs" in request and request.get("logprobs") is not True:
        raise _fail("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs")
    return request


def _fail(message: str, param: str) -> GatewayError:
    return invalid_request(message, param=param)


def _check_model(request: Json) -> None:
    if not request["model"].strip():
        raise _fail("'model' must be a non-empty string.", "model")


def _check_messages(request: Json) -> None:
    messages = request["messages"]
    if not isinstance(messages, list):
        raise _fail("'messages' must be an array of message objects.", "messages")
    if not messages:
        raise _fail("'messages' must contain at least one message.", "messages")
    for index, message in enumerate(messages):
        _check_message(message, f"messages[{index}]")


def _check_message(message: object, where: str) -> None:
    if not isinstance(message, dict):
        raise _fail("Each message must be an object.", where)
    role = message.get("role")
    if role is None:
        raise _fail("Missing required parameter: 'role'.", f"{where}.role")
    if role not in ROLES:
        raise _fail(f"Invalid role {role!r}; expected one of {', '.join(ROLES)}.", f"{where}.role")
    if "name" in message and message["name"] is not None and not isinstance(message["name"], str):
        raise _fail("'name' must be a string.", f"{where}.name")
    content = message.get("content")
    if role == "assistant":
        _check_assistant(message, where)
    elif content is None:
        raise _fail(f"Missing required parameter: 'content' for a {role} message.", f"{where}.content")
    else:
        check_content_parts(content, f"{where}.content", CHAT_PARTS)
    if role == "tool":
        tool_call_id = message.get("tool_call_id")
        if not isinstance(tool_call_id, str) or not tool_call_id:
            raise _fail("A tool message needs a non-empty string 'tool_call_id'.", f"{where}.tool_call_id")


@dataclass(frozen=True)
class PartRules:
    """The content parts a message may hold: each accepted part type with the field holding its text, the non-text
    types (named as unsupported: gpt-oss is text-only), and how an error names the accepted types."""

    text_fields: Mapping[str, str]
    non_text: tuple[str, ...]
    expected: str


CHAT_PARTS = PartRules({"text": "text"}, NON_TEXT_PARTS, "'text'")
CHAT_ASSISTANT_PARTS = PartRules({"text": "text", "refusal": "refusal"}, NON_TEXT_PARTS, "'text'")


def check_content_parts(content: object, where: str, rules: PartRules) -> None:
    """Raise a 400 naming the part unless `content` is a string or an array of the text parts `rules` accepts."""
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _fail("'content' must be a string or an array of content parts.", where)
    for index, part in enumerate(content):
        part_where = f"{where}[{index}]"
        if not isinstance(part, dict):
            raise _fail("Each content part must be an object.", part_where)
        kind = part.get("type")
        if kind in rules.non_text:
            raise _fail(
                f"Content parts of type {kind!r} are not supported: gpt-oss is text-only.", f"{part_where}.type"
            )
        field = rules.text_fields.get(kind) if isinstance(kind, str) else None
        if field is None:
            raise _fail(f"Invalid content part type {kind!r}; expected {rules.expected}.", f"{part_where}.type")
        if not isinstance(part.get(field), str):
            raise _fail(f"A {kind} content part needs a string {field!r} field.", f"{part_where}.{field}")


def _check_assistant(message: Json, where: str) -> None:
    content = message.get("content")
    if content is not None:
        check_content_parts(content, f"{where}.content", CHAT_ASSISTANT_PARTS)
    for field in ("reasoning_content", "refusal"):
        if message.get(field) is not None and not isinstance(message[field], str):
            raise _fail(f"'{field}' must be a string.", f"{where}.{field}")
    tool_calls = message.get("tool_calls")
    if tool_calls is None:
        if content is None:
            raise _fail("An assistant message needs 'content' or 'tool_calls'.", f"{where}.content")
        return
    if not isinstance(tool_calls, list):
        raise _fail("'tool_calls' must be an array.", f"{where}.tool_calls")
    for index, call in enumerate(tool_calls):
        _check_tool_call(call, f"{where}.tool_calls[{index}]")


def _check_tool_call(call: object, where: str) -> None:
    if not isinstance(call, dict):
        raise _fail("Each tool call must be an object.", where)
    if not isinstance(call.get("id"), str) or not call["id"]:
        raise _fail("A tool call needs a non-empty string 'id'.", f"{where}.id")
    if call.get("type", "function") != "function":
        raise _fail("Only tool calls of type 'function' are supported.", f"{where}.type")
    function = call.get("function")
    if not isinstance(function, dict):
        raise _fail("A tool call needs a 'function' object.", f"{where}.function")
    name = function.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise _fail("A tool call's function name must match ^[a-zA-Z0-9_-]{1,64}$.", f"{where}.function.name")
    if not isinstance(function.get("arguments"), str):
        raise _fail("A tool call's 'arguments' must be a JSON-encoded string.", f"{where}.function.arguments")


def _check_streaming(request: Json) -> None:
    if "stream_options" in request and not request.get("stream"):
        raise _fail("'stream_options' is only allowed when 'stream' is true.", "stream_options")


def _check_tools(request: Json) -> list[str]:
    if "tools" not in request:
        return []
    tools = request["tools"]
    if not isinstance(tools, list):
        raise _fail("'tools' must be an array.", "tools")
    names: list[str] = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise _fail("Each tool must be an object.", where)
        if tool.get("type") != "function":
            raise _fail("Only tools of type 'function' are supported.", f"{where}.type")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise _fail("A tool needs a 'function' object.", f"{where}.function")
        name = function.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise _fail("A function name must match ^[a-zA-Z0-9_-]{1,64}$.", f"{where}.function.name")
        if name in names:
            raise _fail(f"Duplicate function name {name!r}.", f"{where}.function.name")
        names.append(name)
        if function.get("description") is not None and not isinstance(function["description"], str):
            raise _fail("A function description must be a string.", f"{where}.function.description")
        _check_parameters(function.get("parameters"), f"{where}.function.parameters")
        if function.get("strict") is not None and not isinstance(function["strict"], bool):
            raise _fail("'strict' must be a boolean.", f"{where}.function.strict")
    return names


def _check_parameters(parameters: object, where: str) -> None:
    if parameters is None:
        return
    if not isinstance(parameters, dict):
        raise _fail("Function parameters must be a JSON Schema object.", where)
    if parameters.get("type", "object") != "object":
        raise _fail("Function parameters must be a JSON Schema with type 'object'.", where)
    if "properties" in parameters and not isinstance(parameters["properties"], dict):
        raise _fail("'properties' must be an object.", f"{where}.properties")


def _check_tool_choice(request: Json, tool_names: list[str]) -> None:
    if "tool_choice" not in request:
        return
    choice = request["tool_choice"]
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            raise _fail(f"Invalid tool_choice {choice!r}; expected none, auto, required or a function.", "tool_choice")
        if choice == "required" and not tool_names:
            raise _fail("tool_choice 'required' needs at least one tool in 'tools'.", "tool_choice")
        return
    if not isinstance(choice, dict) or choice.get("type") != "function" or not isinstance(choice.get("function"), dict):
        raise _fail("tool_choice must be a string or {'type': 'function', 'function': {'name': ...}}.", "tool_choice")
    name = choice["function"].get("name")
    if name not in tool_names:
        raise _fail(f"tool_choice names a function not in 'tools': {name!r}.", "tool_choice.function.name")


def _check_response_format(request: Json) -> None:
    response_format = request.get("response_format")
    if response_format is not None and (
        not isinstance(response_format, dict) or response_format.get("type") not in RESPONSE_FORMATS
    ):
        raise _fail(
            "'response_format' must be an object with type text, json_object or json_schema.", "response_format"
        )
