"""Deterministic, gpt-oss-shaped model behaviour, independent of the wire format (InvokeModel or Converse)."""

import hashlib
import itertools
import json
import math
import random
import re
from dataclasses import dataclass, field

from local.emulator.errors import CONTEXT_LENGTH_MESSAGE, validation

MARKER = "[emulated]"
GUARDRAIL_BLOCKED_MESSAGE = "Sorry, the model cannot answer this question. [emulated]"
CHARS_PER_TOKEN = 4
CONTEXT_WINDOW_TOKENS = 128_000

_REASONING_OPENERS = (
    "We need to answer the user's question about",
    "The user is asking about",
    "Let's think about what the user wants regarding",
)
_REASONING_STEPS = (
    "Keep the answer short and direct.",
    "No tools are needed for this.",
    "Check the facts before answering.",
    "A brief explanation should be enough.",
    "Mention the key point first, then the detail.",
)
_ANSWER_SENTENCES = (
    "This is a deterministic reply from the Bedrock emulator.",
    "The same request always gets the same answer.",
    "It stands in for the real model in local runs and tests.",
    "The reasoning above shows how the answer was reached.",
    "Nothing here was produced by a real language model.",
    "Ask again with different words to get a different reply.",
)


@dataclass(frozen=True)
class Tool:
    name: str
    schema: dict


@dataclass(frozen=True)
class Prompt:
    """A request reduced to what the emulated model looks at."""

    model_id: str
    seed_material: str
    last_user_text: str
    input_text: str
    tools: tuple[Tool, ...] = ()
    tool_choice: str = "auto"  # "auto" | "none" | "required" | "name:<tool>"
    tool_results: tuple[str, ...] = ()
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    reasoning_effort: str | None = None


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict


@dataclass(frozen=True)
class Generation:
    """What the model 'said'; stop_reason uses Converse's vocabulary."""

    reasoning: str
    text: str
    stop_reason: str
    input_tokens: int
    output_tokens: int
    seed: int
    tool_call: ToolCall | None = None
    extra: dict = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def count_tokens(text: str) -> int:
    """About four characters per token, at least one for non-empty text."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def seed_material(model_id: str, texts: list[str], tools: tuple[Tool, ...], reasoning_effort: object) -> str:
    """What decides the answer: the same conversation gets the same answer on InvokeModel and Converse alike."""
    return json.dumps([model_id, "".join(texts), [tool.name for tool in tools], reasoning_effort], default=str)


def seed_of(material: str) -> int:
    return int.from_bytes(hashlib.sha256(material.encode("utf-8")).digest()[:8], "big")


def short_model_name(model_id: str) -> str:
    return model_id.rsplit("/", 1)[-1].removeprefix("openai.").removesuffix("-1:0")


def _topic(text: str) -> str:
    words = re.sub(r"\[[^\]]*\]", " ", text).split()
    topic = " ".join(words[:12])
    return topic or "their message"


def sample_value(schema: dict, name: str = "value") -> object:
    """A plausible value for a JSON schema: enum first, then by type; objects fill required (else all) properties."""
    if not isinstance(schema, dict):
        return f"example {name}"
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        return sample_arguments(schema)
    if kind == "array":
        return [sample_value(schema.get("items", {}), name)]
    samples = {"integer": 1, "number": 1.5, "boolean": True, "null": None}
    return samples.get(kind, f"example {name}")


def sample_arguments(schema: dict) -> dict:
    properties = schema.get("properties") or {}
    required = [name for name in schema.get("required") or [] if name in properties] or list(properties)
    return {name: sample_value(properties[name], name) for name in required}


def _chosen_tool(prompt: Prompt) -> Tool | None:
    if not prompt.tools or prompt.tool_choice == "none" or prompt.tool_results:
        return None
    if prompt.tool_choice.startswith("name:"):
        wanted = prompt.tool_choice.removeprefix("name:")
        return next((tool for tool in prompt.tools if tool.name == wanted), prompt.tools[0])
    lowered = prompt.last_user_text.lower()
    named = [tool for tool in prompt.tools if tool.name.lower() in lowered]
    if named:
        return min(named, key=lambda tool: lowered.index(tool.name.lower()))
    if re.search(r"\btools?\b", lowered) or prompt.tool_choice == "required":
        return prompt.tools[0]
    return None


_STEPS_BY_EFFORT = {"low": 1, "medium": 2, "high": 4}


def _reasoning(prompt: Prompt, rng: random.Random) -> str:
    """Longer reasoning for higher `reasoning_effort`, as gpt-oss does."""
    count = _STEPS_BY_EFFORT.get(prompt.reasoning_effort or "", 0) or rng.randint(1, 3)
    steps = rng.sample(_REASONING_STEPS, k=count)
    return " ".join([f"{rng.choice(_REASONING_OPENERS)} {_topic(prompt.last_user_text)!r}.", *steps])


def _answer(prompt: Prompt, rng: random.Random) -> str:
    name = short_model_name(prompt.model_id)
    if prompt.tool_results:
        used = "; ".join(result[:200] for result in prompt.tool_results)
        return f"{MARKER} Based on the tool result ({used}), here is the answer from {name}."
    sentences = rng.sample(_ANSWER_SENTENCES, k=rng.randint(2, 4))
    return " ".join([f"{MARKER} {name} answering: {_topic(prompt.last_user_text)}.", *sentences])


def _apply_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """InvokeModel ends the answer (not the reasoning) before the first stop string."""
    cuts = [text.index(s) for s in stop if s and s in text]
    if not cuts:
        return text, False
    return text[: min(cuts)], True


def _truncate(reasoning: str, text: str, max_tokens: int) -> tuple[str, str]:
    """Fit reasoning + text into max_tokens (reasoning gets at most half); the answer keeps the marker."""
    budget = max_tokens * CHARS_PER_TOKEN
    reasoning = reasoning[: max(budget // 2, 1)]
    text = text[: max(budget - len(reasoning), len(MARKER))]
    return reasoning, text


def generate(prompt: Prompt) -> Generation:
    """Produce the deterministic answer (or tool call) for a prompt; a prompt over the context window is refused."""
    if count_tokens(prompt.input_text) > CONTEXT_WINDOW_TOKENS:
        raise validation(CONTEXT_LENGTH_MESSAGE)
    seed = seed_of(prompt.seed_material)
    rng = random.Random(seed)
    reasoning = _reasoning(prompt, rng)
    input_tokens = max(count_tokens(prompt.input_text), 1)
    tool = _chosen_tool(prompt)
    if tool is not None:
        call = ToolCall(id=f"call_{seed:016x}"[:21], name=tool.name, arguments=sample_arguments(tool.schema))
        output = count_tokens(reasoning) + count_tokens(json.dumps(call.arguments)) + 4
        return Generation(reasoning, "", "tool_use", input_tokens, output, seed, tool_call=call)
    text, stopped = _apply_stop(_answer(prompt, rng), prompt.stop)
    stop_reason = "stop_sequence" if stopped else "end_turn"
    natural = count_tokens(reasoning) + count_tokens(text)
    if prompt.max_tokens is not None and natural > prompt.max_tokens:
        reasoning, text = _truncate(reasoning, text, prompt.max_tokens)
        return Generation(reasoning, text, "max_tokens", input_tokens, prompt.max_tokens, seed)
    return Generation(reasoning, text, stop_reason, input_tokens, natural, seed)


def blocked(prompt: Prompt) -> Generation:
    """What a guardrail intervention returns instead of the model's answer."""
    seed = seed_of(prompt.seed_material)
    input_tokens = max(count_tokens(prompt.input_text), 1)
    return Generation("", GUARDRAIL_BLOCKED_MESSAGE, "guardrail_intervened", input_tokens, 0, seed)


def guardrail_trace(action: str) -> dict:
    """A Converse-style guardrail trace with one topic-policy assessment when the guardrail intervened."""
    if action != "INTERVENED":
        return {"inputAssessment": {}, "outputAssessments": {}}
    topic = {"name": "emulated-block", "type": "DENY", "action": "BLOCKED", "detected": True}
    assessment = {"topicPolicy": {"topics": [topic]}, "invocationMetrics": {"guardrailProcessingLatency": 1}}
    return {"inputAssessment": {"emulated": assessment}, "actionReason": "Guardrail blocked. [emulated]"}


def split_pieces(text: str, rng: random.Random, cuts: tuple[int, ...] = ()) -> list[str]:
    """Cut text into small pieces of 2-9 characters, also at the given positions (e.g. inside a tag)."""
    points = {0, len(text)} | {c for c in cuts if 0 < c < len(text)}
    position = 0
    while position < len(text):
        position += rng.randint(2, 9)
        points.add(min(position, len(text)))
    ordered = sorted(points)
    return [text[a:b] for a, b in itertools.pairwise(ordered) if b > a]
