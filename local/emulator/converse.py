"""Converse for gpt-oss: a Converse body in, a Converse response (or ConverseStream events) out.

`parse_body` refuses what real Bedrock refuses for gpt-oss (facts sheet §8, bedrock-conformance.json), with
Bedrock's wording: `inferenceConfig.stopSequences` (even `[]`), a conversation not starting with a user turn or not
alternating, replayed reasoning signatures / redacted reasoning, blank text blocks, `toolUse`/`toolResult` without a
`toolConfig`, and tool use ids outside the service model's 1-64 `[a-zA-Z0-9_.:-]` rule.
"""

import json
import random
import re

from local.emulator.errors import validation
from local.emulator.generator import Generation, Prompt, Tool, guardrail_trace, seed_material, split_pieces

START_WITH_USER = (
    "A conversation must start with a user message. Try again with a conversation that starts with a user message."
)
ALTERNATE = (
    "A conversation must alternate between user and assistant roles. "
    "Make sure the conversation alternates between user and assistant roles and try again."
)
TOOL_CONFIG_REQUIRED = "The toolConfig field must be defined when using toolUse and toolResult content blocks."
SIGNATURE_UNSUPPORTED = "This model doesn't support the reasoningContent.reasoningText.signature field."
REDACTED_UNSUPPORTED = "This model doesn't support the reasoningContent.redactedContent field."
STOP_SEQUENCES_UNSUPPORTED = "This model doesn't support the stopSequences field. Remove stopSequences and try again."
BLANK_TEXT = "The text field in the ContentBlock object at {where} is blank. Add text to the text field, and try again."
TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")


def _tool_use_id_problem(block: dict, where: str) -> str | None:
    for kind in ("toolUse", "toolResult"):
        tool_use_id = (block.get(kind) or {}).get("toolUseId") if isinstance(block.get(kind), dict) else None
        if isinstance(tool_use_id, str) and not TOOL_USE_ID.fullmatch(tool_use_id):
            path = f"{where}.member.{kind}.toolUseId"
            rule = (
                "Member must have length less than or equal to 64"
                if len(tool_use_id) > 64
                else "Member must satisfy regular expression pattern: [a-zA-Z0-9_.:-]+"
            )
            return f"1 validation error detected: Value at '{path}' failed to satisfy constraint: {rule}"
    return None


def _check_block(block: dict, has_tools: bool, where: str) -> None:
    if isinstance(block.get("text"), str) and not block["text"].strip():
        raise validation(BLANK_TEXT.format(where=where))
    problem = _tool_use_id_problem(block, where)
    if problem is not None:
        raise validation(problem)
    reasoning = block.get("reasoningContent")
    if isinstance(reasoning, dict):
        if "signature" in (reasoning.get("reasoningText") or {}):
            raise validation(SIGNATURE_UNSUPPORTED)
        if "redactedContent" in reasoning:
            raise validation(REDACTED_UNSUPPORTED)
    if not has_tools and ("toolUse" in block or "toolResult" in block):
        raise validation(TOOL_CONFIG_REQUIRED)


def parse_body(raw: bytes) -> dict:
    """Decode and check a Converse body the way Bedrock does for the rules clients actually trip over."""
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
        raise validation("The messages field is required and must not be empty. [emulated]")
    has_tools = bool((body.get("toolConfig") or {}).get("tools"))
    previous = None
    for position, message in enumerate(body["messages"]):
        role = message.get("role")
        if position == 0 and role != "user":
            raise validation(START_WITH_USER)
        if role not in ("user", "assistant") or role == previous:
            raise validation(ALTERNATE)
        previous = role
        for index, block in enumerate(message.get("content") or []):
            _check_block(block, has_tools, f"messages.{position}.content.{index}")
    for index, block in enumerate(body.get("system") or []):
        if isinstance(block.get("text"), str) and not block["text"].strip():
            raise validation(BLANK_TEXT.format(where=f"system.{index}"))
    if "stopSequences" in (body.get("inferenceConfig") or {}):
        raise validation(STOP_SEQUENCES_UNSUPPORTED)
    effort = (body.get("additionalModelRequestFields") or {}).get("reasoning_effort")
    if effort not in (None, "low", "medium", "high"):
        raise validation("reasoning_effort must be one of low, medium, high. [emulated]")
    max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise validation("The maximum tokens you requested must be at least 1. [emulated]")
    return body


def _texts(message: dict) -> list[str]:
    return [block["text"] for block in message.get("content") or [] if isinstance(block.get("text"), str)]


def _tool_result_text(result: dict) -> str:
    parts = []
    for item in result.get("content") or []:
        if "text" in item:
            parts.append(str(item["text"]))
        elif "json" in item:
            parts.append(json.dumps(item["json"], sort_keys=True))
    return " ".join(parts)


def last_user_text(body: dict) -> str:
    users = [m for m in body["messages"] if m.get("role") == "user"]
    return "\n".join(_texts(users[-1])) if users else ""


def _tool_choice(config: dict) -> str:
    choice = config.get("toolChoice") or {}
    if "tool" in choice:
        return "name:" + str(choice["tool"].get("name", ""))
    return "required" if "any" in choice else "auto"


def to_prompt(body: dict, model_id: str) -> Prompt:
    messages = body["messages"]
    config = body.get("toolConfig") or {}
    tools = tuple(
        Tool(
            name=str(spec["toolSpec"].get("name", "")),
            schema=(spec["toolSpec"].get("inputSchema") or {}).get("json") or {},
        )
        for spec in config.get("tools") or []
        if "toolSpec" in spec
    )
    last = messages[-1]
    results = tuple(
        _tool_result_text(block["toolResult"]) for block in last.get("content") or [] if "toolResult" in block
    )
    inference = body.get("inferenceConfig") or {}
    system = [block.get("text", "") for block in body.get("system") or []]
    all_text = system + [text for message in messages for text in _texts(message)]
    effort = (body.get("additionalModelRequestFields") or {}).get("reasoning_effort")
    return Prompt(
        model_id=model_id,
        seed_material=seed_material(model_id, all_text, tools, effort),
        last_user_text=last_user_text(body),
        input_text="\n".join(all_text) + json.dumps(config, default=str) * bool(config),
        tools=tools,
        tool_choice=_tool_choice(config),
        tool_results=results,
        max_tokens=inference.get("maxTokens"),
        reasoning_effort=(body.get("additionalModelRequestFields") or {}).get("reasoning_effort"),
    )


def _content_blocks(generation: Generation) -> list[dict]:
    if generation.stop_reason == "guardrail_intervened":
        return [{"text": generation.text}]
    blocks: list[dict] = [{"reasoningContent": {"reasoningText": {"text": generation.reasoning}}}]
    if generation.text:
        blocks.append({"text": generation.text})
    if generation.tool_call:
        call = generation.tool_call
        tool_use_id = "tooluse_" + call.id.removeprefix("call_")
        blocks.append({"toolUse": {"toolUseId": tool_use_id, "name": call.name, "input": call.arguments}})
    return blocks


def _usage(generation: Generation) -> dict:
    return {
        "inputTokens": generation.input_tokens,
        "outputTokens": generation.output_tokens,
        "totalTokens": generation.total_tokens,
    }


def _trace(generation: Generation, guardrail: dict | None) -> dict:
    if guardrail is None or guardrail.get("trace", "disabled") == "disabled":
        return {}
    action = "INTERVENED" if generation.stop_reason == "guardrail_intervened" else "NONE"
    return {"trace": {"guardrail": guardrail_trace(action)}}


def response(generation: Generation, guardrail: dict | None, latency_ms: int) -> dict:
    """The Converse response body."""
    body = {
        "output": {"message": {"role": "assistant", "content": _content_blocks(generation)}},
        "stopReason": generation.stop_reason,
        "usage": _usage(generation),
        "metrics": {"latencyMs": latency_ms},
    }
    body.update(_trace(generation, guardrail))
    return body


def stream_events(generation: Generation, guardrail: dict | None, latency_ms: int) -> list[tuple[str, dict]]:
    """ConverseStream events as (event type, payload), in order."""
    rng = random.Random(generation.seed)
    events: list[tuple[str, dict]] = [("messageStart", {"role": "assistant"})]
    for index, block in enumerate(_content_blocks(generation)):
        if "reasoningContent" in block:
            text = block["reasoningContent"]["reasoningText"]["text"]
            deltas = [{"reasoningContent": {"text": piece}} for piece in split_pieces(text, rng)]
        elif "text" in block:
            deltas = [{"text": piece} for piece in split_pieces(block["text"], rng)]
        else:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            events.append(("contentBlockStart", {"start": start, "contentBlockIndex": index}))
            deltas = [{"toolUse": {"input": piece}} for piece in split_pieces(json.dumps(use["input"]), rng)]
        events += [("contentBlockDelta", {"delta": delta, "contentBlockIndex": index}) for delta in deltas]
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
    events.append(("messageStop", {"stopReason": generation.stop_reason}))
    metadata = {"usage": _usage(generation), "metrics": {"latencyMs": latency_ms}}
    metadata.update(_trace(generation, guardrail))
    events.append(("metadata", metadata))
    return events
