"""OpenAI Chat Completions ⇄ Bedrock Converse / ConverseStream.

Request mapping (OpenAI → Converse), following the Bedrock gpt-oss page and DESIGN.md:

- `system`/`developer` messages → `system` text blocks, in order (blank texts are skipped: Bedrock rejects them).
- `user`/`assistant` messages → `messages`; string or text-part content → one `text` block per non-blank text.
  Assistant `refusal` parts become text too.
- Assistant `tool_calls` → `toolUse` blocks (`arguments` JSON-decoded; invalid JSON → 400; empty → `{}`);
  `tool` messages → `toolResult` blocks in a user turn (blank output is sent as the text `(no output)`).
  Tool call ids outside Converse's id alphabet/length are rewritten deterministically, the same way on both sides.
- Consecutive turns of the same role are merged (Converse requires alternation), so several tool results and a
  following user text end up in one user turn.
- Converse rejects a conversation that does not start with a user turn. When the first turn is `assistant` (or
  there is no user/assistant content at all), a minimal user turn with the text `PLACEHOLDER_USER_TEXT` is inserted
  in front, rather than relabelling the assistant's words as the user's or rejecting a request OpenAI accepts.
- Message `name` fields have no Converse equivalent and are not sent.
- Assistant `reasoning_content` from earlier turns is dropped, never replayed as `reasoningContent`: Bedrock rejects
  replayed reasoning signatures / redacted content, and gpt-oss does not use past reasoning anyway.
- Each top-level field is treated as the request contract (`gptoss.request_contract`) says:
  `max_completion_tokens` (else `max_tokens`) → `inferenceConfig.maxTokens`; `temperature`; `top_p` → `topP`.
  Converse caps temperature at 1, so a temperature above 1 (valid for OpenAI) is a 400 on this route rather than a
  silent clamp. `metadata` and `user` → `requestMetadata` (Bedrock's invocation logs show it; Converse allows only
  `REQUEST_METADATA_PATTERN` there, so other text is a 400). Fields marked `ADDITIONAL` (e.g. `reasoning_effort`,
  `response_format`, `seed`, `parallel_tool_calls`) go unchanged in `additionalModelRequestFields`; `logprobs` is a
  400 (Converse returns none).
- `stop` is never sent: Converse refuses `stopSequences` for gpt-oss, even `[]` (facts sheet §8). The answer is cut
  before the first stop string instead (`gptoss.stop`), in whole responses and streams alike.
- `tools` → `toolConfig.tools[].toolSpec`; `tool_choice` auto → `{auto:{}}`, required → `{any:{}}`, a named
  function → `{tool:{name}}`. Converse has no "none": `tool_choice: "none"` (or no tools) sends no `toolConfig`.
  Converse also refuses `toolUse`/`toolResult` blocks without a `toolConfig`, so in that case earlier tool calls and
  results are replayed as plain text (`FLATTENED_*` formats below) instead of being dropped.

Response mapping: text → `content`; `reasoningContent` → `reasoning_content` (plus any `<reasoning>` block that
leaked into the text, a known Bedrock bug); `toolUse` → `tool_calls`; `stopReason` → `finish_reason`
(`FINISH_REASONS`, unknown → `stop`); usage; a guardrail trace → the top-level `guardrail` field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from gptoss import completion as build
from gptoss import json_limits
from gptoss.chat_request import ROLES
from gptoss.errors import from_bedrock_error, invalid_request
from gptoss.guardrail import INTERVENED, NONE, GuardrailConfig, guardrail_field
from gptoss.reasoning import ReasoningSplitter, split_reasoning
from gptoss.request_contract import Converse, fields_for
from gptoss.stop import StopCutter, cut_at_stop

Json = dict[str, Any]

ADDITIONAL_FIELDS: frozenset[str] = fields_for(Converse.ADDITIONAL)
REFUSED_FIELDS: frozenset[str] = fields_for(Converse.REFUSED)
# Converse's RequestMetadata key/value alphabet (botocore bedrock-runtime service model).
REQUEST_METADATA_PATTERN = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]{0,256}")
REQUEST_METADATA_MAX_PAIRS = 16

PLACEHOLDER_USER_TEXT = "Continue."
EMPTY_TOOL_RESULT_TEXT = "(no output)"
FLATTENED_TOOL_CALL = "[tool call {id}] {name}({arguments})"
FLATTENED_TOOL_RESULT = "[tool result {id}] {content}"
CONVERSE_MAX_TEMPERATURE = 1.0

FINISH_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": "stop",
    "malformed_tool_use": "stop",
}

_TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_.:-]{1,64}$")
_TOOL_USE_ID_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_.:-]")


def finish_reason(stop_reason: str | None) -> str:
    """OpenAI finish_reason for a Converse stopReason; anything unknown is reported as `stop`."""
    return FINISH_REASONS.get(stop_reason or "", "stop")


def converse_tool_use_id(raw: str) -> str:
    """A Converse-valid tool use id for an OpenAI tool call id (identity when already valid)."""
    if _TOOL_USE_ID.match(raw):
        return raw
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]
    return f"{_TOOL_USE_ID_BAD_CHARS.sub('_', raw)[:47]}-{digest}"


def message_texts(content: object) -> list[str]:
    """The texts of an OpenAI message content: a string, or `text`/`refusal` parts in order."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and part.get("type") in ("text", "refusal"):
            texts.append(str(part.get(part["type"], "")))
    return texts


def _text_blocks(content: object) -> list[Json]:
    return [{"text": text} for text in message_texts(content) if text.strip()]


class _Turns:
    """Converse messages under construction: merges consecutive same-role turns, skips empty ones."""

    def __init__(self) -> None:
        self.messages: list[Json] = []

    def add(self, role: str, blocks: list[Json]) -> None:
        if not blocks:
            return
        if self.messages and self.messages[-1]["role"] == role:
            self.messages[-1]["content"].extend(blocks)
        else:
            self.messages.append({"role": role, "content": list(blocks)})

    def finished(self) -> list[Json]:
        if not self.messages or self.messages[0]["role"] != "user":
            self.messages.insert(0, {"role": "user", "content": [{"text": PLACEHOLDER_USER_TEXT}]})
        return self.messages


def _tool_input(arguments: str, param: str) -> Any:
    if not arguments.strip():
        return {}
    try:
        return json_limits.loads(arguments)
    except ValueError as error:
        raise invalid_request(f"Tool call arguments are not valid JSON: {error.msg}.", param=param) from None


def _assistant_blocks(message: Json, where: str, *, tools_active: bool) -> list[Json]:
    blocks = _text_blocks(message.get("content"))
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        if tools_active:
            tool_input = _tool_input(function["arguments"], f"{where}.tool_calls[{index}].function.arguments")
            blocks.append(
                {
                    "toolUse": {
                        "toolUseId": converse_tool_use_id(call["id"]),
                        "name": function["name"],
                        "input": tool_input,
                    }
                }
            )
        else:
            text = FLATTENED_TOOL_CALL.format(id=call["id"], name=function["name"], arguments=function["arguments"])
            blocks.append({"text": text})
    return blocks


def _tool_result_blocks(message: Json, *, tools_active: bool) -> list[Json]:
    texts = [text for text in message_texts(message.get("content")) if text.strip()]
    if not tools_active:
        return [{"text": FLATTENED_TOOL_RESULT.format(id=message["tool_call_id"], content="".join(texts))}]
    content = [{"text": text} for text in texts] or [{"text": EMPTY_TOOL_RESULT_TEXT}]
    return [{"toolResult": {"toolUseId": converse_tool_use_id(message["tool_call_id"]), "content": content}}]


def _tools_active(request: Json) -> bool:
    return bool(request.get("tools")) and request.get("tool_choice") != "none"


def _conversation(request: Json) -> tuple[list[Json], list[Json]]:
    tools_active = _tools_active(request)
    system: list[Json] = []
    turns = _Turns()
    for index, message in enumerate(request["messages"]):
        role = message["role"]
        if role in ("system", "developer"):
            system.extend(_text_blocks(message.get("content")))
        elif role == "user":
            turns.add("user", _text_blocks(message.get("content")))
        elif role == "assistant":
            turns.add("assistant", _assistant_blocks(message, f"messages[{index}]", tools_active=tools_active))
        elif role == "tool":
            turns.add("user", _tool_result_blocks(message, tools_active=tools_active))
        else:
            raise invalid_request(
                f"Invalid role {role!r}; expected one of {', '.join(ROLES)}.", f"messages[{index}].role"
            )
    return system, turns.finished()


def _inference_config(request: Json) -> Json:
    config: Json = {}
    max_tokens = request.get("max_completion_tokens", request.get("max_tokens"))
    if max_tokens is not None:
        config["maxTokens"] = max_tokens
    if "temperature" in request:
        if request["temperature"] > CONVERSE_MAX_TEMPERATURE:
            raise invalid_request("Converse accepts a temperature between 0 and 1.", param="temperature")
        config["temperature"] = request["temperature"]
    if "top_p" in request:
        config["topP"] = request["top_p"]
    return config


def _request_metadata(request: Json) -> Json | None:
    metadata: Json = dict(request.get("metadata") or {})
    if "user" in request:
        if "user" in metadata and metadata["user"] != request["user"]:
            raise invalid_request("'metadata.user' and 'user' differ; Converse keeps one user.", param="metadata.user")
        metadata["user"] = request["user"]
    if len(metadata) > REQUEST_METADATA_MAX_PAIRS:
        raise invalid_request(
            f"Converse keeps at most {REQUEST_METADATA_MAX_PAIRS} metadata pairs, 'user' included.", param="metadata"
        )
    for key, value in metadata.items():
        if not (REQUEST_METADATA_PATTERN.fullmatch(key) and REQUEST_METADATA_PATTERN.fullmatch(value)):
            param = "user" if key == "user" and "user" in request else f"metadata.{key}"
            raise invalid_request(
                "Converse's requestMetadata allows only letters, digits, spaces and :_@$#=/+,-. characters.",
                param=param,
            )
    return metadata or None


def _tool_config(request: Json) -> Json | None:
    if not _tools_active(request):
        return None
    tools: list[Json] = []
    for tool in request["tools"]:
        function = tool["function"]
        spec: Json = {
            "name": function["name"],
            "inputSchema": {"json": function.get("parameters") or {"type": "object", "properties": {}}},
        }
        if function.get("description"):
            spec["description"] = function["description"]
        if function.get("strict") is not None:
            spec["strict"] = function["strict"]
        tools.append({"toolSpec": spec})
    config: Json = {"tools": tools}
    choice = request.get("tool_choice")
    if choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, dict):
        config["toolChoice"] = {"tool": {"name": choice["function"]["name"]}}
    return config


def additional_fields(request: Json) -> Json:
    """The request fields forwarded verbatim in `additionalModelRequestFields`."""
    return {key: value for key, value in request.items() if key in ADDITIONAL_FIELDS}


def _refuse_unsupported(request: Json) -> None:
    for name in sorted(REFUSED_FIELDS):
        if request.get(name):
            raise invalid_request(
                f"'{name}' is not available through Converse (it returns no log probabilities); "
                "use the InvokeModel base URL (/v1) instead.",
                param=name,
            )


def to_converse_request(request: Json, model_id: str, guardrail: GuardrailConfig | None) -> Json:
    """Keyword arguments for boto3 `converse()`/`converse_stream()` from a validated OpenAI chat request."""
    _refuse_unsupported(request)
    system, messages = _conversation(request)
    params: Json = {"modelId": model_id, "messages": messages}
    if system:
        params["system"] = system
    inference = _inference_config(request)
    if inference:
        params["inferenceConfig"] = inference
    tool_config = _tool_config(request)
    if tool_config is not None:
        params["toolConfig"] = tool_config
    extra = additional_fields(request)
    if extra:
        params["additionalModelRequestFields"] = extra
    metadata = _request_metadata(request)
    if metadata is not None:
        params["requestMetadata"] = metadata
    if guardrail is not None:
        params["guardrailConfig"] = guardrail.converse_config()
    return params


def converse_usage(usage: Json | None) -> Json:
    """OpenAI usage from Converse `usage`; cached prompt tokens are reported as OpenAI does."""
    usage = usage or {}
    prompt = int(usage.get("inputTokens", 0))
    completion = int(usage.get("outputTokens", 0))
    result = build.usage(prompt, completion, int(usage.get("totalTokens", prompt + completion)))
    cached = usage.get("cacheReadInputTokens")
    if cached:
        result["prompt_tokens_details"] = {"cached_tokens": int(cached)}
    return result


def _guardrail(stop_reason: str | None, trace: Json | None) -> Json | None:
    guardrail_trace = (trace or {}).get("guardrail")
    if guardrail_trace is None and stop_reason != "guardrail_intervened":
        return None
    return guardrail_field(INTERVENED if stop_reason == "guardrail_intervened" else NONE, guardrail_trace)


def from_converse_response(
    response: Json, *, model: str, completion_id: str, created: int, stop: Sequence[str] = ()
) -> Json:
    """A `chat.completion` from a Converse response (as boto3 returns it), cut at the first of the `stop` strings."""
    texts: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[Json] = []
    for block in ((response.get("output") or {}).get("message") or {}).get("content") or []:
        if "text" in block:
            texts.append(block["text"])
        elif "reasoningContent" in block:
            reasoning.append(((block["reasoningContent"].get("reasoningText")) or {}).get("text", ""))
        elif "toolUse" in block:
            tool_calls.append(_tool_call(block["toolUse"]))
    leaked, content = split_reasoning("".join(texts))
    if leaked:
        reasoning.append(leaked)
    stop_reason = response.get("stopReason")
    content, stopped = cut_at_stop(content, stop)
    if stopped:  # the model would have stopped there: nothing it said after the stop string (tool calls included)
        tool_calls, stop_reason = [], "stop_sequence"
    message: Json = {"role": "assistant", "content": content if content.strip() or not tool_calls else None}
    if any(reasoning):
        message["reasoning_content"] = "".join(reasoning)
    if tool_calls:
        message["tool_calls"] = tool_calls
    result = build.completion(
        completion_id=completion_id,
        created=created,
        model=model,
        message=message,
        finish_reason=finish_reason(stop_reason),
        usage=converse_usage(response.get("usage")),
    )
    guardrail = _guardrail(response.get("stopReason"), response.get("trace"))
    if guardrail is not None:
        result["guardrail"] = guardrail
    return result


def _tool_call(tool_use: Json) -> Json:
    arguments = json.dumps(tool_use.get("input", {}), ensure_ascii=False)
    return {
        "id": tool_use["toolUseId"],
        "type": "function",
        "function": {"name": tool_use["name"], "arguments": arguments},
    }


class ConverseStreamTranslator:
    """Turns ConverseStream events (as boto3 yields them) into `chat.completion.chunk` dicts.

    The same contract as `InvokeStreamTranslator`: `feed(event)` → chunks (content, then the finish chunk);
    `finish()` → the trailing chunk with `usage` (when asked for and known) and the guardrail verdict (whenever a
    guardrail is configured); `usage` and `finish_reason` for metrics; `done` once the answer reached a stop string,
    when the caller should close the upstream stream and call `finish()`. A stream closed at a stop string has no
    usage (Bedrock reports it only at the end). Exception events raise the mapped GatewayError.
    """

    def __init__(
        self,
        *,
        model: str,
        completion_id: str,
        created: int,
        include_usage: bool,
        stop: Sequence[str] = (),
        guardrail: bool = False,
    ) -> None:
        self._model = model
        self._completion_id = completion_id
        self._created = created
        self._include_usage = include_usage
        self._guardrail = guardrail
        self._tool_indexes: dict[int, int] = {}
        self._splitter = ReasoningSplitter()
        self._cutter = StopCutter(stop)
        self._stop_reason: str | None = None
        self._trace: Json | None = None
        self.usage: Json | None = None
        self.finish_reason: str | None = None

    @property
    def done(self) -> bool:
        """True once the answer reached a stop string: nothing more from upstream will be emitted."""
        return self._cutter.stopped

    def _chunk(self, choices: list[Json], **extra: Any) -> Json:
        return build.chunk(
            completion_id=self._completion_id, created=self._created, model=self._model, choices=choices, **extra
        )

    def _delta(self, delta: Json, finish: str | None = None) -> Json:
        return self._chunk([build.choice_delta(delta, finish)])

    def _text_chunks(self, reasoning: str, content: str) -> list[Json]:
        delta: Json = {}
        if reasoning:
            delta["reasoning_content"] = reasoning
        content = self._cutter.feed(content) if content else ""
        if content:
            delta["content"] = content
        chunks = [self._delta(delta)] if delta else []
        if self._cutter.stopped:
            self.finish_reason = "stop"
            chunks.append(self._delta({}, self.finish_reason))
        return chunks

    def _tool_index(self, block_index: int) -> int:
        if block_index not in self._tool_indexes:
            self._tool_indexes[block_index] = len(self._tool_indexes)
        return self._tool_indexes[block_index]

    def feed(self, event: Json) -> list[Json]:
        """One ConverseStream event → zero or more chunks."""
        chunks: list[Json] = []
        for name, body in event.items():
            if name.endswith("Exception"):
                raise from_bedrock_error(name, str((body or {}).get("message", "")))
            handler = getattr(self, f"_on_{name}", None)
            if handler is not None and not self.done:
                chunks.extend(handler(body or {}))
        return chunks

    def finish(self) -> list[Json]:
        """The trailing chunk: usage (when asked for and known) and the guardrail verdict (when configured)."""
        extra: Json = {}
        if self._include_usage and self.usage is not None:
            extra["usage"] = self.usage
        guardrail = _guardrail(self._stop_reason, self._trace)
        if guardrail is None and self._guardrail:
            guardrail = guardrail_field(NONE, None)
        if guardrail is not None:
            extra["guardrail"] = guardrail
        return [self._chunk([], **extra)] if extra else []

    def _on_messageStart(self, body: Json) -> list[Json]:
        return [self._delta({"role": body.get("role", "assistant"), "content": ""})]

    def _on_contentBlockStart(self, body: Json) -> list[Json]:
        tool_use = (body.get("start") or {}).get("toolUse")
        if tool_use is None:
            return []
        call = {
            "index": self._tool_index(int(body.get("contentBlockIndex", 0))),
            "id": tool_use["toolUseId"],
            "type": "function",
            "function": {"name": tool_use["name"], "arguments": ""},
        }
        return [self._delta({"tool_calls": [call]})]

    def _on_contentBlockDelta(self, body: Json) -> list[Json]:
        delta = body.get("delta") or {}
        if "text" in delta:
            return self._text_chunks(*self._splitter.feed(delta["text"]))
        if "reasoningContent" in delta:
            return self._text_chunks(delta["reasoningContent"].get("text", ""), "")
        if "toolUse" in delta:
            index = self._tool_index(int(body.get("contentBlockIndex", 0)))
            call = {"index": index, "function": {"arguments": delta["toolUse"].get("input", "")}}
            return [self._delta({"tool_calls": [call]})]
        return []

    def _on_messageStop(self, body: Json) -> list[Json]:
        reasoning, content = self._splitter.finish()
        chunks = self._text_chunks(reasoning, content)
        if self.done:
            return chunks
        held = self._cutter.finish()
        if held:
            chunks.append(self._delta({"content": held}))
        self._stop_reason = body.get("stopReason")
        self.finish_reason = finish_reason(self._stop_reason)
        chunks.append(self._delta({}, self.finish_reason))
        return chunks

    def _on_metadata(self, body: Json) -> list[Json]:
        self.usage = converse_usage(body.get("usage"))
        self._trace = body.get("trace")
        return []
