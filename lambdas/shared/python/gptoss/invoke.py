"""OpenAI Chat Completions ⇄ Bedrock InvokeModel / InvokeModelWithResponseStream.

InvokeModel takes the OpenAI body itself, so the request side is nearly a pass-through of the fields the request
contract (`gptoss.request_contract`) marks as forwarded; fields accepted only with their default value (`n: 1`,
`store: false`, `logit_bias: {}`, `service_tier: auto`) are not sent:

- `model` is set to the Bedrock id and `stream` to the operation's value (Bedrock requires them to match the call).
- `stream_options` is forwarded only on the streaming operation (OpenAI forbids it without `stream`). The gateway
  does not force `include_usage`: when the caller did not ask for usage, the usage for metrics comes from
  Bedrock's `amazon-bedrock-invocationMetrics` on the last chunk instead (see `InvokeStreamTranslator.usage`).
- Assistant `reasoning_content` (this gateway's response extension, echoed back by clients) is removed from the
  history: it is not part of the OpenAI request schema, and gpt-oss does not reuse past reasoning.

On the way back the leading `<reasoning>...</reasoning>` block is split into `reasoning_content` (see
`gptoss.reasoning`), the `amazon-bedrock-*` keys are removed, and a guardrail verdict becomes the documented
top-level `guardrail` field (`{"action", "trace"}`), with `finish_reason: "content_filter"` when it intervened.

A reply that calls tools without saying anything has `content: null`, and the first streamed delta of a choice
carries `role` and `content` (`""`, or null when it starts with a tool call), as OpenAI's do.
"""

from __future__ import annotations

import time
from typing import Any

from gptoss import completion as build
from gptoss.guardrail import INTERVENED, NONE, guardrail_field
from gptoss.ids import completion_id as new_completion_id
from gptoss.reasoning import ReasoningSplitter, split_reasoning
from gptoss.request_contract import invoke_fields

Json = dict[str, Any]

BEDROCK_PREFIX = "amazon-bedrock-"
GUARDRAIL_ACTION_KEY = "amazon-bedrock-guardrailAction"
TRACE_KEY = "amazon-bedrock-trace"
METRICS_KEY = "amazon-bedrock-invocationMetrics"
_SENT_FIELDS = invoke_fields()


def to_invoke_body(request: Json, model_id: str, *, stream: bool) -> Json:
    """The InvokeModel(WithResponseStream) JSON body for a validated OpenAI chat request.

    `request` is not modified: only the top level and the assistant messages that lose `reasoning_content` are
    copied (shallowly), the rest is shared with it (the body is serialised right away).
    """
    body = {key: value for key, value in request.items() if key in _SENT_FIELDS}
    body["model"] = model_id
    body["stream"] = stream
    if not stream:
        body.pop("stream_options", None)
    messages = body.get("messages")
    if isinstance(messages, list):
        body["messages"] = [_without_reasoning(message) for message in messages]
    return body


def to_batch_input(request: Json, model_id: str) -> Json:
    """The `modelInput` of a Bedrock batch record for a validated chat request: the InvokeModel body, without
    `stream` (a batch record is never streamed)."""
    body = to_invoke_body(request, model_id, stream=False)
    del body["stream"]
    return body


def _without_reasoning(message: object) -> object:
    if isinstance(message, dict) and message.get("role") == "assistant" and "reasoning_content" in message:
        return {key: value for key, value in message.items() if key != "reasoning_content"}
    return message


def _guardrail_trace(trace: object) -> Json | None:
    if not isinstance(trace, dict):
        return None
    inner = trace.get("guardrail")
    return inner if isinstance(inner, dict) else trace


def _metrics_usage(metrics: object) -> Json | None:
    if not isinstance(metrics, dict) or "inputTokenCount" not in metrics:
        return None
    return build.usage(int(metrics.get("inputTokenCount", 0)), int(metrics.get("outputTokenCount", 0)))


def _split_message(message: Json) -> Json:
    message = dict(message)
    content = message.get("content")
    if isinstance(content, str):
        reasoning, message["content"] = split_reasoning(content)
        if reasoning is not None:
            message["reasoning_content"] = (message.get("reasoning_content") or "") + reasoning
    if message.get("tool_calls") and not (message.get("content") or "").strip():
        message["content"] = None  # as OpenAI answers a tool call without text
    return message


def from_invoke_response(body: Json, *, model: str, completion_id: str | None = None) -> Json:
    """A `chat.completion` for the caller from Bedrock's InvokeModel response body."""
    result = {key: value for key, value in body.items() if not key.startswith(BEDROCK_PREFIX)}
    result["model"] = model
    result["object"] = "chat.completion"
    if completion_id is not None or "id" not in result:
        result["id"] = completion_id or new_completion_id()
    result.setdefault("created", int(time.time()))
    action = body.get(GUARDRAIL_ACTION_KEY)
    intervened = isinstance(action, str) and action.upper() == INTERVENED
    choices: list[Json] = []
    for choice in body.get("choices") or []:
        choice = dict(choice)
        if isinstance(choice.get("message"), dict):
            choice["message"] = _split_message(choice["message"])
        if intervened:
            choice["finish_reason"] = "content_filter"
        choices.append(choice)
    result["choices"] = choices
    if result.get("usage") is None:
        metrics_usage = _metrics_usage(body.get(METRICS_KEY))
        if metrics_usage is not None:
            result["usage"] = metrics_usage
    trace = _guardrail_trace(body.get(TRACE_KEY))
    if action is not None or trace is not None:
        result["guardrail"] = guardrail_field(action if isinstance(action, str) else NONE, trace)
    return result


class InvokeStreamTranslator:
    """Turns InvokeModelWithResponseStream chunks (decoded PayloadPart JSON) into the caller's chunks.

    Every chunk gets the gateway's id, model and created time. Content goes through a `ReasoningSplitter` per
    choice, so reasoning arrives as `delta.reasoning_content` however the tags are split.

    The finish chunk of each choice is held until `finish()`: Bedrock may report a guardrail intervention on a later
    chunk (the trailing usage chunk with `stream_options.include_usage`), and the verdict must still turn the
    `finish_reason` into `content_filter`. `finish()` then emits the finish chunks and one final chunk with
    `choices: []` carrying usage (from a usage chunk or Bedrock's invocation metrics; only when the caller asked for
    it) and the guardrail verdict. `usage` keeps the usage for metrics either way. Bedrock applies `stop` itself on
    this path, so `done` (the Converse translator's early end) is always False.
    """

    done = False

    def __init__(
        self, *, model: str, include_usage: bool, completion_id: str | None = None, created: int | None = None
    ) -> None:
        self._model = model
        self._include_usage = include_usage
        self._completion_id = completion_id or new_completion_id()
        self._created = int(time.time()) if created is None else created
        self._splitters: dict[int, ReasoningSplitter] = {}
        self._started: set[int] = set()
        self._finishes: dict[int, str] = {}
        self._action: str | None = None
        self._trace: Json | None = None
        self._metrics_usage: Json | None = None
        self._reported_usage: Json | None = None
        self.finish_reason: str | None = None

    @property
    def usage(self) -> Json | None:
        """The usage reported by Bedrock, if any yet (a usage chunk wins over invocation metrics)."""
        return self._reported_usage or self._metrics_usage

    @property
    def intervened(self) -> bool:
        return (self._action or "").upper() == INTERVENED

    def _chunk(self, choices: list[Json], **extra: Any) -> Json:
        return build.chunk(
            completion_id=self._completion_id, created=self._created, model=self._model, choices=choices, **extra
        )

    def _emit(self, index: int, delta: Json, finish: str | None = None, logprobs: object = None) -> Json:
        if index not in self._started:
            self._started.add(index)
            delta = {"role": "assistant", "content": None if "tool_calls" in delta else "", **delta}
        choice = build.choice_delta(delta, finish, index)
        choice["logprobs"] = logprobs
        return self._chunk([choice])

    def _splitter(self, index: int) -> ReasoningSplitter:
        return self._splitters.setdefault(index, ReasoningSplitter())

    def _record_bedrock_fields(self, chunk: Json) -> None:
        action = chunk.get(GUARDRAIL_ACTION_KEY)
        if isinstance(action, str):
            self._action = action
        trace = _guardrail_trace(chunk.get(TRACE_KEY))
        if trace is not None:
            self._trace = trace
        metrics_usage = _metrics_usage(chunk.get(METRICS_KEY))
        if metrics_usage is not None:
            self._metrics_usage = metrics_usage
        if isinstance(chunk.get("usage"), dict):
            self._reported_usage = chunk["usage"]

    def _text_delta(self, reasoning: str, content: str) -> Json:
        delta: Json = {}
        if reasoning:
            delta["reasoning_content"] = reasoning
        if content:
            delta["content"] = content
        return delta

    def _translate_choice(self, choice: Json) -> list[Json]:
        index = int(choice.get("index", 0))
        source = {key: value for key, value in (choice.get("delta") or {}).items() if value is not None}
        source.pop("role", None)
        content = source.pop("content", None)
        native_reasoning = source.pop("reasoning_content", None) or source.pop("reasoning", None) or ""
        reasoning, text = self._splitter(index).feed(content) if isinstance(content, str) else ("", "")
        delta = {**self._text_delta(native_reasoning + reasoning, text), **source}
        finish = choice.get("finish_reason")
        chunks: list[Json] = []
        if delta or (index not in self._started and not finish):
            chunks.append(self._emit(index, delta, logprobs=choice.get("logprobs")))
        if finish:
            flushed = self._text_delta(*self._splitter(index).finish())
            if flushed:
                chunks.append(self._emit(index, flushed))
            self._finishes[index] = finish
        return chunks

    def feed(self, chunk: Json) -> list[Json]:
        """One Bedrock stream chunk → zero or more chunks for the caller."""
        self._record_bedrock_fields(chunk)
        chunks: list[Json] = []
        for choice in chunk.get("choices") or []:
            chunks.extend(self._translate_choice(choice))
        return chunks

    def finish(self) -> list[Json]:
        """Flush held-back text (a stream cut short), the finish chunks with the final verdict, and the last chunk."""
        chunks: list[Json] = []
        for index, splitter in self._splitters.items():
            flushed = self._text_delta(*splitter.finish())
            if flushed:
                chunks.append(self._emit(index, flushed))
        for index, finish in sorted(self._finishes.items()):
            self.finish_reason = "content_filter" if self.intervened else finish
            chunks.append(self._emit(index, {}, self.finish_reason))
        extra: Json = {}
        if self._include_usage and self.usage is not None:
            extra["usage"] = self.usage
        if self._action is not None or self._trace is not None:
            extra["guardrail"] = guardrail_field(self._action or NONE, self._trace)
        if extra:
            chunks.append(self._chunk([], **extra))
        return chunks
