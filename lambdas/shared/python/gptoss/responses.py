"""The OpenAI Responses API over the chat translation layer: request checks, items ⇄ chat messages, `response` objects.

A Responses request is validated in two steps. Fields only the Responses API has (`input`, `instructions`,
`text.format`, `reasoning`, `max_output_tokens`, `previous_response_id`, `store`, `metadata`, ...) are checked here,
each by its entry in `FIELDS`; any other top-level field is a 400 naming it. The request is then translated into an
OpenAI chat request and passed through `gptoss.parse_chat_request`, the one request contract, so sampling, tools and
tool choice obey exactly the chat route's rules; a `param` it names is given back in Responses terms
(`tools[0].function.name` → `tools[0].name`, `max_completion_tokens` → `max_output_tokens`, `messages[...]` → `input`).

Items → chat messages (`to_chat_request`):

- `instructions` → a leading `developer` message. Like OpenAI, instructions of a previous response are not carried
  over: only its input and output items are (`conversation`).
- `message` items (also the short `{"role", "content"}` form) → messages of that role; `input_text`, `output_text`
  and `refusal` parts become text. Image, file and audio parts are refused: gpt-oss is text-only.
- `function_call` items → `tool_calls` of an assistant message (joined to the assistant message just before them);
  `function_call_output` items → `tool` messages.
- `reasoning` items are dropped: Bedrock refuses replayed reasoning, and gpt-oss does not reuse it.

A chat completion → a `response` object (`build_response`): `reasoning` (with the text as `reasoning_text`
content), `message` (`output_text`) and `function_call` output items in that order; finish reason `length` →
status `incomplete` with reason `max_output_tokens`, `content_filter` (guardrail) → `incomplete` with reason
`content_filter`. `usage.output_tokens_details.reasoning_tokens` is Bedrock's count when it reports one, else 0.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gptoss.chat_request import NAME_PATTERN, PartRules, check_content_parts, parse_chat_request
from gptoss.errors import GatewayError, invalid_request

Json = dict[str, Any]

MESSAGE_ROLES: tuple[str, ...] = ("user", "developer", "system", "assistant")
NON_TEXT_PARTS: tuple[str, ...] = ("input_image", "input_file", "input_audio")
TEXT_PARTS = PartRules({"input_text": "text", "output_text": "text"}, NON_TEXT_PARTS, "input_text or output_text")
ASSISTANT_PARTS = PartRules({**TEXT_PARTS.text_fields, "refusal": "refusal"}, NON_TEXT_PARTS, TEXT_PARTS.expected)
REASONING_EFFORTS: tuple[str, ...] = ("low", "medium", "high")
REASONING_SUMMARIES: tuple[str, ...] = ("auto", "concise", "detailed")
TEXT_FORMATS: tuple[str, ...] = ("text", "json_object", "json_schema")
# `include` values that ask for nothing the gateway would have to invent: reasoning comes back as plain text.
INCLUDABLE: tuple[str, ...] = ("reasoning.encrypted_content",)
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MIN_OUTPUT_TOKENS = 1
_SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _fail(message: str, param: str) -> GatewayError:
    return invalid_request(message, param=param)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- field checks (one per Responses-only field; shared fields are the chat contract's) ---


def _check_model(value: object, param: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _fail("'model' must be a non-empty string.", param)


def _check_string(value: object, param: str) -> None:
    if not isinstance(value, str):
        raise _fail(f"'{param}' must be a string.", param)


def _check_id(value: object, param: str) -> None:
    if not isinstance(value, str) or not value:
        raise _fail(f"'{param}' must be a non-empty string.", param)


def _check_bool(value: object, param: str) -> None:
    if not isinstance(value, bool):
        raise _fail(f"'{param}' must be a boolean.", param)


def _check_max_output_tokens(value: object, param: str) -> None:
    if not _is_int(value) or value < MIN_OUTPUT_TOKENS:  # type: ignore[operator]
        raise _fail("'max_output_tokens' must be a positive integer.", param)


def _check_metadata(value: object, param: str) -> None:
    if not isinstance(value, dict):
        raise _fail("'metadata' must be an object of string keys and string values.", param)
    if len(value) > MAX_METADATA_PAIRS:
        raise _fail(f"'metadata' holds at most {MAX_METADATA_PAIRS} pairs.", param)
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY:
            raise _fail(f"Metadata keys are at most {MAX_METADATA_KEY} characters.", f"{param}.{key}")
        if not isinstance(item, str) or len(item) > MAX_METADATA_VALUE:
            raise _fail(f"Metadata values are strings of at most {MAX_METADATA_VALUE} characters.", f"{param}.{key}")


def _check_reasoning(value: object, param: str) -> None:
    if not isinstance(value, dict):
        raise _fail('\'reasoning\' must be an object such as {"effort": "low"}.', param)
    for key, item in value.items():
        if item is None:
            continue
        if key == "effort" and item not in REASONING_EFFORTS:
            raise _fail(f"'reasoning.effort' must be one of {', '.join(REASONING_EFFORTS)}.", f"{param}.effort")
        if key in ("summary", "generate_summary") and item not in REASONING_SUMMARIES:
            raise _fail(f"'reasoning.{key}' must be one of {', '.join(REASONING_SUMMARIES)}.", f"{param}.{key}")
        if key not in ("effort", "summary", "generate_summary"):
            raise _fail(f"Unknown parameter: 'reasoning.{key}'.", f"{param}.{key}")


def _check_text(value: object, param: str) -> None:
    if not isinstance(value, dict):
        raise _fail('\'text\' must be an object such as {"format": {"type": "text"}}.', param)
    for key in value:
        if key != "format":
            message = f"Unknown parameter: 'text.{key}' (gpt-oss on Bedrock supports text.format only)."
            raise _fail(message, f"{param}.{key}")
    text_format = value.get("format")
    if text_format is None:
        return
    where = f"{param}.format"
    if not isinstance(text_format, dict) or text_format.get("type") not in TEXT_FORMATS:
        raise _fail(f"'text.format' must be an object with type {', '.join(TEXT_FORMATS)}.", where)
    if text_format["type"] != "json_schema":
        return
    name = text_format.get("name")
    if not isinstance(name, str) or not _SCHEMA_NAME.match(name):
        raise _fail("A json_schema format needs a 'name' matching ^[a-zA-Z0-9_-]{1,64}$.", f"{where}.name")
    if not isinstance(text_format.get("schema"), dict):
        raise _fail("A json_schema format needs a 'schema' object.", f"{where}.schema")
    if text_format.get("strict") is not None and not isinstance(text_format["strict"], bool):
        raise _fail("'strict' must be a boolean.", f"{where}.strict")
    if text_format.get("description") is not None and not isinstance(text_format["description"], str):
        raise _fail("'description' must be a string.", f"{where}.description")


def _check_include(value: object, param: str) -> None:
    if not isinstance(value, list):
        raise _fail("'include' must be an array.", param)
    for index, item in enumerate(value):
        if item not in INCLUDABLE:
            raise _fail(
                f"Unsupported include value {item!r}; this gateway supports: {', '.join(INCLUDABLE)}.",
                f"{param}[{index}]",
            )


def _check_truncation(value: object, param: str) -> None:
    if value != "disabled":
        raise _fail("Only truncation 'disabled' is supported: an input too long for the model is a 400.", param)


def _check_tools(value: object, param: str) -> None:
    if not isinstance(value, list):
        raise _fail("'tools' must be an array.", param)
    for index, tool in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(tool, dict):
            raise _fail("Each tool must be an object.", where)
        kind = tool.get("type")
        if kind != "function":
            raise _fail(
                f"Tool type {kind!r} is not supported: gpt-oss on Bedrock runs function tools only "
                "(hosted tools such as web_search, file_search or code_interpreter are not available).",
                f"{where}.type",
            )
        if not isinstance(tool.get("name"), str):
            raise _fail("A function tool needs a string 'name'.", f"{where}.name")


def _check_tool_choice(value: object, param: str) -> None:
    if isinstance(value, str):
        return  # the chat contract checks the value
    if not isinstance(value, dict) or value.get("type") != "function" or not isinstance(value.get("name"), str):
        raise _fail('tool_choice must be none, auto, required or {"type": "function", "name": ...}.', param)


def _check_input(value: object, param: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise _fail("'input' must be a string or an array of input items.", param)
    for index, item in enumerate(value):
        check_item(item, f"{param}[{index}]")


FIELDS: dict[str, Callable[[object, str], None]] = {
    "model": _check_model,
    "input": _check_input,
    "instructions": _check_string,
    "tools": _check_tools,
    "tool_choice": _check_tool_choice,
    "parallel_tool_calls": _check_bool,
    "max_output_tokens": _check_max_output_tokens,
    "temperature": lambda value, param: None,  # the chat contract's range check
    "top_p": lambda value, param: None,  # the chat contract's range check
    "reasoning": _check_reasoning,
    "text": _check_text,
    "metadata": _check_metadata,
    "store": _check_bool,
    "previous_response_id": _check_id,
    "stream": _check_bool,
    "include": _check_include,
    "truncation": _check_truncation,
}
"""Every accepted top-level field and its check (a check raises a 400 naming the param)."""


# --- items ---


def _item_type(item: Json) -> object:
    """An item's type; the short message form `{"role", "content"}` has none."""
    return item.get("type", "message" if "role" in item else None)


def check_item(item: object, where: str) -> None:
    """Raise a 400 naming the field unless `item` is an input item this gateway can send to gpt-oss."""
    if not isinstance(item, dict):
        raise _fail("Each input item must be an object.", where)
    kind = _item_type(item)
    if kind == "message":
        role = item.get("role")
        if role not in MESSAGE_ROLES:
            raise _fail(f"Invalid role {role!r}; expected one of {', '.join(MESSAGE_ROLES)}.", f"{where}.role")
        if "content" not in item:
            raise _fail("A message item needs 'content'.", f"{where}.content")
        check_content_parts(item["content"], f"{where}.content", ASSISTANT_PARTS if role == "assistant" else TEXT_PARTS)
    elif kind == "function_call":
        for field in ("call_id", "name", "arguments"):
            if not isinstance(item.get(field), str):
                raise _fail(f"A function_call item needs a string {field!r}.", f"{where}.{field}")
        if not item["call_id"]:
            raise _fail("A function_call item needs a non-empty 'call_id'.", f"{where}.call_id")
        if not NAME_PATTERN.match(item["name"]):
            raise _fail(f"A function_call item's name must match {NAME_PATTERN.pattern}.", f"{where}.name")
    elif kind == "function_call_output":
        if not isinstance(item.get("call_id"), str) or not item["call_id"]:
            raise _fail("A function_call_output item needs a non-empty string 'call_id'.", f"{where}.call_id")
        if "output" not in item:
            raise _fail("A function_call_output item needs 'output'.", f"{where}.output")
        check_content_parts(item["output"], f"{where}.output", TEXT_PARTS)
    elif kind != "reasoning":
        raise _fail(
            f"Input items of type {kind!r} are not supported; expected message, function_call, "
            "function_call_output or reasoning.",
            f"{where}.type",
        )


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(part.get("text", part.get("refusal", ""))) for part in content or [])  # type: ignore[union-attr]


def new_id(prefix: str) -> str:
    """A fresh OpenAI-style object id, e.g. `resp_3f2a…`, `msg_…`, `fc_…`."""
    return f"{prefix}_{secrets.token_hex(24)}"


def input_items(value: str | list[Json]) -> list[Json]:
    """The request's `input` as stored input items: the full item form, each with an `id`."""
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    items: list[Json] = []
    for item in value:
        kind = _item_type(item)
        stored = {**item, "type": kind}
        if kind == "message":
            part = "output_text" if item["role"] == "assistant" else "input_text"
            if isinstance(item["content"], str):
                stored["content"] = [{"type": part, "text": item["content"]}]
            stored.setdefault("status", "completed")
        stored.setdefault("id", new_id(_ID_PREFIXES[str(kind)]))
        items.append(stored)
    return items


_ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}


# --- request translation ---


@dataclass(frozen=True)
class ResponsesRequest:
    """A checked Responses request (top-level nulls removed), before its conversation is known."""

    body: Json

    @property
    def store(self) -> bool:
        return bool(self.body.get("store", True))

    @property
    def previous_response_id(self) -> str | None:
        return self.body.get("previous_response_id")

    def input_items(self) -> list[Json]:
        return input_items(self.body.get("input", []))


def parse_responses_request(body: object) -> ResponsesRequest:
    """Check the Responses-only fields (400s naming the param); unknown top-level fields are refused."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    request = {key: value for key, value in body.items() if value is not None}
    for key, value in request.items():
        check = FIELDS.get(key)
        if check is None:
            raise _fail(f"Unrecognized request argument supplied: {key}.", key)
        check(value, key)
    if "model" not in request:
        raise _fail("You must provide a model parameter.", "model")
    if "input" not in request:
        raise _fail("Missing required parameter: 'input'.", "input")
    return ResponsesRequest(request)


def _tool_call(item: Json) -> Json:
    function = {"name": item["name"], "arguments": item["arguments"]}
    return {"id": item["call_id"], "type": "function", "function": function}


def conversation_messages(items: Iterable[Json]) -> list[Json]:
    """Chat messages for input/output items, in order; reasoning items are dropped."""
    messages: list[Json] = []
    for item in items:
        kind = _item_type(item)
        if kind == "message":
            messages.append({"role": item["role"], "content": _text(item["content"])})
        elif kind == "function_call":
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(_tool_call(item))
                if not last["content"]:
                    last["content"] = None
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [_tool_call(item)]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": _text(item["output"])})
    return messages


def _chat_tools(tools: list[Json]) -> list[Json]:
    chat_tools = []
    for tool in tools:
        function = {key: value for key, value in tool.items() if key != "type" and value is not None}
        chat_tools.append({"type": "function", "function": function})
    return chat_tools


def _response_format(text_format: Json) -> Json:
    if text_format["type"] != "json_schema":
        return {"type": text_format["type"]}
    schema = {key: value for key, value in text_format.items() if key != "type" and value is not None}
    return {"type": "json_schema", "json_schema": schema}


# Chat request param → Responses request param, for errors the chat contract reports.
_CHAT_PARAMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^tools\[(\d+)\]\.function\.(.*)$"), r"tools[\1].\2"),
    (re.compile(r"^tools\[(\d+)\]\.function$"), r"tools[\1]"),
    (re.compile(r"^tool_choice\.function\.name$"), "tool_choice.name"),
    (re.compile(r"^max_completion_tokens$"), "max_output_tokens"),
    (re.compile(r"^reasoning_effort$"), "reasoning.effort"),
    (re.compile(r"^response_format.*$"), "text.format"),
    (re.compile(r"^messages.*$"), "input"),
)


def responses_param(chat_param: str | None) -> str | None:
    """The Responses request param for a param the chat contract named."""
    if chat_param is None:
        return None
    for pattern, replacement in _CHAT_PARAMS:
        if pattern.match(chat_param):
            return pattern.sub(replacement, chat_param)
    return chat_param


def to_chat_request(request: ResponsesRequest, conversation: list[Json]) -> Json:
    """The OpenAI chat request for `request` answering `conversation` (earlier input and output items, then this
    request's input items), checked by the chat request contract; its 400s name the Responses param."""
    body = request.body
    messages: list[Json] = []
    if body.get("instructions"):
        messages.append({"role": "developer", "content": body["instructions"]})
    messages += conversation_messages(conversation)
    chat: Json = {"model": body["model"], "messages": messages}
    for field in ("temperature", "top_p", "parallel_tool_calls", "tool_choice", "stream"):
        if field in body:
            chat[field] = body[field]
    if isinstance(chat.get("tool_choice"), dict):
        chat["tool_choice"] = {"type": "function", "function": {"name": chat["tool_choice"]["name"]}}
    if body.get("tools"):
        chat["tools"] = _chat_tools(body["tools"])
    if "max_output_tokens" in body:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    effort = (body.get("reasoning") or {}).get("effort")
    if effort is not None:
        chat["reasoning_effort"] = effort
    text_format = (body.get("text") or {}).get("format")
    if text_format is not None:
        chat["response_format"] = _response_format(text_format)
    try:
        return parse_chat_request(chat)
    except GatewayError as error:
        error.param = responses_param(error.param)
        raise


# --- response objects ---


def _usage(chat_usage: Json | None) -> Json | None:
    if not chat_usage:
        return None
    prompt = int(chat_usage.get("prompt_tokens") or 0)
    completion = int(chat_usage.get("completion_tokens") or 0)
    prompt_details = chat_usage.get("prompt_tokens_details") or {}
    reasoning = (chat_usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": int(prompt_details.get("cached_tokens") or 0),
            "cache_write_tokens": int(prompt_details.get("cache_write_tokens") or 0),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": int(reasoning)},
        "total_tokens": int(chat_usage.get("total_tokens") or prompt + completion),
    }


def reasoning_item(item_id: str, text: str, status: str = "completed") -> Json:
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}],
        "status": status,
    }


def output_text_part(text: str) -> Json:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, parts: list[Json], status: str = "completed") -> Json:
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": parts}


def function_call_item(item_id: str, call_id: str, name: str, arguments: str, status: str = "completed") -> Json:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def status_for(finish_reason: str | None) -> tuple[str, Json | None]:
    """(status, incomplete_details) for a chat finish reason."""
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def output_items(message: Json) -> list[Json]:
    """A chat completion's assistant message as output items: reasoning, message text, function calls."""
    items: list[Json] = []
    if message.get("reasoning_content"):
        items.append(reasoning_item(new_id("rs"), message["reasoning_content"]))
    tool_calls = message.get("tool_calls") or []
    text = message.get("content")
    if text or not tool_calls:
        items.append(message_item(new_id("msg"), [output_text_part(text or "")]))
    for call in tool_calls:
        function = call.get("function") or {}
        items.append(
            function_call_item(new_id("fc"), call["id"], function.get("name", ""), function.get("arguments") or "")
        )
    return items


def response_skeleton(request: ResponsesRequest, *, response_id: str, model: str, created_at: int) -> Json:
    """The `response` object for `request` before any output: status `in_progress`, the request's settings echoed."""
    body = request.body
    reasoning = body.get("reasoning") or {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "model": model,
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": request.previous_response_id,
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": request.store,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": (body.get("text") or {}).get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": None,
        "user": None,
    }


def finish_response(
    skeleton: Json, output: list[Json], *, finish_reason: str | None, usage: Json | None, guardrail: Json | None
) -> Json:
    """The final `response` object: `skeleton` with its output, status, usage and guardrail verdict."""
    status, incomplete = status_for(finish_reason)
    response = {**skeleton, "status": status, "incomplete_details": incomplete, "output": output}
    response["usage"] = _usage(usage)
    if status == "completed":
        response["completed_at"] = int(time.time())
    if guardrail is not None:
        response["guardrail"] = guardrail
    return response


def failed_response(skeleton: Json, output: list[Json], error: GatewayError) -> Json:
    """The `response` object of a stream that failed after it started."""
    failure = {"code": error_code(error), "message": error.message}
    return {**skeleton, "status": "failed", "output": output, "error": failure}


def error_code(error: GatewayError) -> str:
    """The failed response's `error.code` for a gateway error: one of the codes the Responses API defines (a client
    refuses others), so any other 4xx is `invalid_prompt`; the `error` event still carries the gateway's own code."""
    if error.status == 429:
        return "rate_limit_exceeded"
    if error.status >= 500:
        return "server_error"
    return "invalid_prompt"


def build_response(skeleton: Json, completion: Json) -> Json:
    """The `response` object for a `chat.completion`."""
    choice = (completion.get("choices") or [{}])[0]
    return finish_response(
        skeleton,
        output_items(choice.get("message") or {}),
        finish_reason=choice.get("finish_reason"),
        usage=completion.get("usage"),
        guardrail=completion.get("guardrail"),
    )


def conversation_after(stored_input: list[Json], response: Json) -> list[Json]:
    """The items a response continuing `response` starts from: its input items, then its output items."""
    return [*stored_input, *response.get("output", [])]


def input_items_page(items: list[Json], *, after: str | None, limit: int, order: str) -> Json:
    """One page of a `GET /responses/{id}/input_items` list (`order` asc or desc, `after` an item id)."""
    ordered = items if order == "asc" else list(reversed(items))
    start = 0
    if after is not None:
        ids = [item.get("id") for item in ordered]
        if after not in ids:
            raise _fail(f"No input item with id {after!r} in this response.", "after")
        start = ids.index(after) + 1
    page = ordered[start : start + limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": start + limit < len(ordered),
    }
