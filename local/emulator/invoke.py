"""InvokeModel for gpt-oss: an OpenAI chat body in, an OpenAI chat.completion (or chunks) out.

The body is deserialised as strictly as real Bedrock does (facts sheet §8): a top-level field outside
`ACCEPTED_FIELDS` is a ValidationException naming it, and `reasoning_effort` must be a string.
"""

import json
import random
import time

from local.emulator.errors import validation
from local.emulator.generator import Generation, Prompt, Tool, guardrail_trace, seed_material, split_pieces

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "stop",
}
# Real InvokeModel's accepted top-level fields for gpt-oss, in the order its error message lists them (facts §8).
ACCEPTED_FIELDS: tuple[str, ...] = (
    "messages", "model", "store", "reasoning_effort", "metadata", "frequency_penalty", "logit_bias", "logprobs",
    "top_logprobs", "max_tokens", "max_completion_tokens", "n", "modalities", "prediction", "audio",
    "presence_penalty", "response_format", "seed", "service_tier", "stop", "stream", "stream_options", "temperature",
    "top_p", "tools", "tool_choice", "parallel_tool_calls", "user", "function_call", "functions",
)  # fmt: skip
# Consumed by Bedrock itself before the model sees the body (guardrail input tagging).
BEDROCK_CONSUMED_FIELDS = frozenset({"amazon-bedrock-guardrailConfig"})
DESERIALIZE_PREFIX = (
    "The model returned the following errors: Failed to deserialize the JSON body into the target type: "
)
_SERDE_TYPES = ((bool, "boolean"), (int, "integer"), (float, "floating point"), (dict, "map"), (list, "sequence"))
OPEN_TAG = "<reasoning>"
CLOSE_TAG = "</reasoning>"


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _check_messages(messages: object) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise validation("Malformed input request: messages must be a non-empty array. [emulated]")
    for position, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise validation(f"Malformed input request: messages[{position}] has no valid role. [emulated]")
    return messages


def _positive_int(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise validation(f"Malformed input request: {name} must be a positive integer. [emulated]")
    return value


def _column_after(raw: bytes, field: str) -> int:
    """1-based column just after `"field"` in a one-line body, as serde reports it."""
    needle = json.dumps(field).encode()
    index = raw.find(needle)
    return index + len(needle) + 1 if index >= 0 else len(raw)


def _check_fields(body: dict, raw: bytes) -> None:
    for field in body:
        if field not in ACCEPTED_FIELDS and field not in BEDROCK_CONSUMED_FIELDS:
            expected = ", ".join(f"`{name}`" for name in ACCEPTED_FIELDS)
            raise validation(
                f"{DESERIALIZE_PREFIX}{field}: unknown field `{field}`, expected one of {expected} "
                f"at line 1 column {_column_after(raw, field)}"
            )
    effort = body.get("reasoning_effort")
    if effort is not None and not isinstance(effort, str):
        kind = next(name for python_type, name in _SERDE_TYPES if isinstance(effort, python_type))
        raise validation(
            f"{DESERIALIZE_PREFIX}reasoning_effort: invalid type: {kind}, expected a string "
            f"at line 1 column {_column_after(raw, 'reasoning_effort')}"
        )


def parse_body(raw: bytes, model_id: str, *, stream: bool) -> dict:
    """Decode and check an InvokeModel body as Bedrock does for gpt-oss."""
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise validation("Malformed input request: the body must be a JSON object. [emulated]")
    _check_fields(body, raw)
    _check_messages(body.get("messages"))
    if "stream" in body and body["stream"] is not stream:
        operation = "InvokeModelWithResponseStream" if stream else "InvokeModel"
        raise validation(f"The stream field must be {str(stream).lower()} for {operation}. [emulated]")
    if body.get("model") not in (None, model_id, model_id.rsplit("/", 1)[-1]):
        raise validation("The model field in the request body does not match the model in the URL. [emulated]")
    if "logit_bias" in body:
        raise validation("logit_bias is not supported by this model. [emulated]")
    if body.get("reasoning_effort") not in (None, "low", "medium", "high"):
        raise validation("reasoning_effort must be one of low, medium, high. [emulated]")
    _positive_int(body, "max_tokens")
    _positive_int(body, "max_completion_tokens")
    return body


def last_user_text(body: dict) -> str:
    users = [m for m in body["messages"] if m.get("role") == "user"]
    return _text_of(users[-1].get("content")) if users else ""


def _tool_choice(choice: object) -> str:
    if isinstance(choice, dict):
        return "name:" + str((choice.get("function") or {}).get("name", ""))
    return choice if choice in ("none", "auto", "required") else "auto"


def to_prompt(body: dict, model_id: str) -> Prompt:
    messages = body["messages"]
    tools = tuple(
        Tool(name=str(t["function"].get("name", "")), schema=t["function"].get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    )
    trailing_tools: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing_tools.insert(0, _text_of(message.get("content")))
    stop = body.get("stop")
    stops = (stop,) if isinstance(stop, str) else tuple(s for s in stop or () if isinstance(s, str))
    texts = [_text_of(message.get("content")) for message in messages]
    return Prompt(
        model_id=model_id,
        seed_material=seed_material(model_id, texts, tools, body.get("reasoning_effort")),
        last_user_text=last_user_text(body),
        input_text="\n".join(_text_of(m.get("content")) for m in messages) + json.dumps(body.get("tools") or ""),
        tools=tools,
        tool_choice=_tool_choice(body.get("tool_choice", "auto")),
        tool_results=tuple(trailing_tools),
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        stop=stops,
        reasoning_effort=body.get("reasoning_effort"),
    )


def _content(generation: Generation) -> str:
    if generation.stop_reason == "guardrail_intervened":
        return generation.text
    return f"{OPEN_TAG}{generation.reasoning}{CLOSE_TAG}{generation.text}"


def _usage(generation: Generation) -> dict:
    return {
        "prompt_tokens": generation.input_tokens,
        "completion_tokens": generation.output_tokens,
        "total_tokens": generation.total_tokens,
    }


def _tool_calls(generation: Generation) -> list[dict]:
    call = generation.tool_call
    if call is None:
        return []
    return [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
    ]


def completion(generation: Generation, model_id: str, guardrail: dict | None) -> dict:
    """The InvokeModel response body: an OpenAI chat.completion, plus Bedrock's guardrail fields when one is set."""
    message: dict = {"role": "assistant", "content": _content(generation)}
    if generation.tool_call:
        message["tool_calls"] = _tool_calls(generation)
    body = {
        "id": f"chatcmpl-{generation.seed:016x}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_id,
        "choices": [{"index": 0, "message": message, "finish_reason": _FINISH[generation.stop_reason]}],
        "usage": _usage(generation),
    }
    body.update(guardrail_fields(generation, guardrail))
    return body


def guardrail_fields(generation: Generation, guardrail: dict | None) -> dict:
    if guardrail is None:
        return {}
    action = "INTERVENED" if generation.stop_reason == "guardrail_intervened" else "NONE"
    fields: dict = {"amazon-bedrock-guardrailAction": action}
    if guardrail.get("trace", "DISABLED").upper() != "DISABLED":
        fields["amazon-bedrock-trace"] = {"guardrail": guardrail_trace(action)}
    return fields


def _tag_cuts(content: str) -> tuple[int, ...]:
    """Cut points inside the reasoning tags so a gateway must reassemble them."""
    cuts = []
    if content.startswith(OPEN_TAG):
        cuts += [4, len(OPEN_TAG) + 3]
    close = content.find(CLOSE_TAG)
    if close >= 0:
        cuts += [close + 2, close + 7, close + len(CLOSE_TAG) + 1]
    return tuple(cuts)


def stream_chunks(generation: Generation, model_id: str, body: dict, guardrail: dict | None) -> list[dict]:
    """The chat.completion.chunk objects InvokeModelWithResponseStream emits, in order.

    Usage goes in an extra final chunk with empty choices only when `stream_options.include_usage` is true (OpenAI's
    convention); Bedrock's `amazon-bedrock-invocationMetrics` always rides on the last chunk.
    """
    rng = random.Random(generation.seed)
    base = {"id": f"chatcmpl-{generation.seed:016x}", "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = model_id

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    content = _content(generation)
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in split_pieces(content, rng, _tag_cuts(content))]
    for position, call in enumerate(_tool_calls(generation)):
        head = {"index": position, "id": call["id"], "type": "function"}
        chunks.append(
            chunk({"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]})
        )
        for piece in split_pieces(call["function"]["arguments"], rng):
            chunks.append(chunk({"tool_calls": [{"index": position, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, _FINISH[generation.stop_reason]))
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": _usage(generation)})
    chunks[-1].update(guardrail_fields(generation, guardrail))
    chunks[-1]["amazon-bedrock-invocationMetrics"] = {
        "inputTokenCount": generation.input_tokens,
        "outputTokenCount": generation.output_tokens,
        "invocationLatency": 1,
        "firstByteLatency": 1,
    }
    return chunks
