"""bedrock-runtime routes: InvokeModel(+stream), Converse(+stream) and ApplyGuardrail, with fault injection."""

import asyncio
import base64
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from local.emulator import converse, invoke
from local.emulator.errors import (
    INVALID_MODEL_MESSAGE,
    BedrockError,
    error_response,
    stream_exception_name,
    validation,
)
from local.emulator.eventstream import encode_event, encode_exception
from local.emulator.faults import (
    Directives,
    FaultState,
    fault_error,
    is_midstream,
    midstream_exception,
    parse_directives,
    request_key,
)
from local.emulator.generator import GUARDRAIL_BLOCKED_MESSAGE, Generation, Prompt, blocked, generate

KNOWN_MODELS: tuple[str, ...] = ("openai.gpt-oss-20b-1:0", "openai.gpt-oss-120b-1:0")
EVENTSTREAM = "application/vnd.amazon.eventstream"
_FOUNDATION_MODEL_ARN = re.compile(r"arn:aws[a-z-]*:bedrock:[a-z0-9-]+::foundation-model/(?P<id>.+)")


@dataclass
class RuntimeSettings:
    chunk_delay: float
    models: frozenset[str]
    faults: FaultState


@dataclass
class Call:
    """One model call after validation: what to generate and which fault (if any) to inject."""

    model_id: str
    body: dict
    prompt: Prompt
    directives: Directives
    guardrail: dict | None
    fault: str | None
    started: float

    def latency_ms(self) -> int:
        return max(int((time.monotonic() - self.started) * 1000), 1)


def _settings(request: Request) -> RuntimeSettings:
    return request.app.state.runtime


def check_model(model_id: str, models: frozenset[str]) -> str:
    """The bare model id for an id or foundation-model ARN; Bedrock's ValidationException when unknown."""
    match = _FOUNDATION_MODEL_ARN.fullmatch(model_id)
    bare = match.group("id") if match else model_id
    if bare not in models:
        raise validation(INVALID_MODEL_MESSAGE)
    return bare


def _loose_json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _guardrail_headers(request: Request) -> dict | None:
    identifier = request.headers.get("x-amzn-bedrock-guardrailidentifier")
    version = request.headers.get("x-amzn-bedrock-guardrailversion")
    if not identifier and not version:
        return None
    return {"identifier": identifier, "version": version, "trace": request.headers.get("x-amzn-bedrock-trace", "")}


def _invoke_guardrail(request: Request, body: dict) -> dict | None:
    """Guardrail from InvokeModel headers; Bedrock's checks on a half-configured guardrail."""
    guardrail = _guardrail_headers(request)
    if guardrail is None:
        if "amazon-bedrock-guardrailConfig" in body:
            raise validation("amazon-bedrock-guardrailConfig requires a guardrail identifier and version. [emulated]")
        return None
    if not guardrail["identifier"] or not guardrail["version"]:
        raise validation("Guardrail identifier and version must both be specified. [emulated]")
    return guardrail


def _converse_guardrail(body: dict) -> dict | None:
    config = body.get("guardrailConfig")
    if not config:
        return None
    trace = config.get("trace", "disabled")
    return {"identifier": config.get("guardrailIdentifier"), "version": config.get("guardrailVersion"), "trace": trace}


async def _prepare(request: Request, operation: str) -> Call:
    """Record the call, validate it like Bedrock, and pick its fault."""
    settings = _settings(request)
    started = time.monotonic()
    raw = await request.body()
    model_path = request.path_params["model_id"]
    native = operation.startswith("Invoke")
    settings.faults.record(
        {
            "operation": operation,
            "modelId": model_path,
            "guardrail": _guardrail_headers(request) if native else None,
            "body": _loose_json(raw),
        }
    )
    model_id = check_model(model_path, settings.models)
    if native:
        content_type = request.headers.get("content-type", "application/json")
        if "json" not in content_type:
            raise validation("The provided content type is not supported by this model. [emulated]")
        body = invoke.parse_body(raw, model_id, stream=operation.endswith("Stream"))
        prompt, text = invoke.to_prompt(body, model_id), invoke.last_user_text(body)
        guardrail = _invoke_guardrail(request, body)
    else:
        body = converse.parse_body(raw)
        prompt, text = converse.to_prompt(body, model_id), converse.last_user_text(body)
        guardrail = _converse_guardrail(body)
    directives = parse_directives(text)
    fault = settings.faults.choose_fault(operation, directives, request_key(operation, model_id, raw))
    return Call(model_id, body, prompt, directives, guardrail, fault, started)


def _generation(call: Call) -> Generation:
    if call.fault and not is_midstream(call.fault):
        raise fault_error(call.fault)
    if call.guardrail and call.directives.guardrail_block:
        return blocked(call.prompt)
    return generate(call.prompt)


async def _unary(request: Request, operation: str, render: Callable[[Call, Generation], Response]) -> Response:
    try:
        call = await _prepare(request, operation)
        # A slow model is slow to fail too: `[slow-first-token:S]` delays a `[fault:X]` as well as the answer.
        await _think(call)
        generation = _generation(call)
    except BedrockError as error:
        return error_response(error)
    return render(call, generation)


async def _think(call: Call) -> None:
    if call.directives.slow_first_token:
        await asyncio.sleep(call.directives.slow_first_token)


async def _stream(request: Request, operation: str, render: Callable[[Call, Generation], list[bytes]]) -> Response:
    try:
        call = await _prepare(request, operation)
        if call.fault and not is_midstream(call.fault):
            await _think(call)
        generation = _generation(call)
    except BedrockError as error:
        return error_response(error)
    messages = render(call, generation)
    error = None
    if is_midstream(call.fault):
        code = midstream_exception(call.fault or "")
        error = encode_exception(stream_exception_name(code), "The model stream was interrupted. [emulated]")
    body = _paced(messages, _settings(request).chunk_delay, call.directives.slow_first_token, error)
    headers = {"X-Amzn-Bedrock-Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
    return StreamingResponse(body, media_type=EVENTSTREAM, headers=headers)


async def _paced(messages: list[bytes], delay: float, first: float, error: bytes | None) -> AsyncIterator[bytes]:
    """Yield event-stream messages with the configured pacing; a mid-stream error replaces the last two thirds."""
    if first:
        await asyncio.sleep(first)
    cut = max(len(messages) // 3, 2) if error is not None else len(messages)
    for position, message in enumerate(messages[:cut]):
        if position and delay:
            await asyncio.sleep(delay)
        yield message
    if error is not None:
        yield error


def _invoke_response(call: Call, generation: Generation) -> Response:
    body = invoke.completion(generation, call.model_id, call.guardrail)
    headers = {
        "X-Amzn-Bedrock-Input-Token-Count": str(generation.input_tokens),
        "X-Amzn-Bedrock-Output-Token-Count": str(generation.output_tokens),
        "X-Amzn-Bedrock-Invocation-Latency": str(call.latency_ms()),
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    return Response(json.dumps(body), media_type="application/json", headers=headers)


def _invoke_events(call: Call, generation: Generation) -> list[bytes]:
    chunks = invoke.stream_chunks(generation, call.model_id, call.body, call.guardrail)
    return [encode_event("chunk", {"bytes": _b64(json.dumps(chunk))}) for chunk in chunks]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _converse_response(call: Call, generation: Generation) -> Response:
    return JSONResponse(converse.response(generation, call.guardrail, call.latency_ms()))


def _converse_events(call: Call, generation: Generation) -> list[bytes]:
    events = converse.stream_events(generation, call.guardrail, call.latency_ms())
    return [encode_event(name, payload) for name, payload in events]


async def invoke_model(request: Request) -> Response:
    return await _unary(request, "InvokeModel", _invoke_response)


async def invoke_model_stream(request: Request) -> Response:
    return await _stream(request, "InvokeModelWithResponseStream", _invoke_events)


async def converse_model(request: Request) -> Response:
    return await _unary(request, "Converse", _converse_response)


async def converse_model_stream(request: Request) -> Response:
    return await _stream(request, "ConverseStream", _converse_events)


def _guardrail_texts(body: object) -> list[str]:
    if not isinstance(body, dict) or body.get("source") not in ("INPUT", "OUTPUT"):
        raise validation("source must be INPUT or OUTPUT. [emulated]")
    content = body.get("content")
    if not isinstance(content, list) or not content:
        raise validation("content must be a non-empty list. [emulated]")
    return [str((item.get("text") or {}).get("text", "")) for item in content if isinstance(item, dict)]


async def apply_guardrail(request: Request) -> Response:
    """ApplyGuardrail: intervenes when a text contains `[guardrail:block]`; `[fault:X]` raises X."""
    raw = await request.body()
    identifier, version = request.path_params["guardrail_id"], request.path_params["version"]
    faults = _settings(request).faults
    faults.record(
        {"operation": "ApplyGuardrail", "modelId": None, "guardrail": {"identifier": identifier, "version": version}}
    )
    try:
        texts = _guardrail_texts(_loose_json(raw))
        directives = parse_directives("\n".join(texts))
        fault = faults.take_queued("ApplyGuardrail") or directives.fault
        if fault and not is_midstream(fault):
            raise fault_error(fault)
    except BedrockError as error:
        return error_response(error)
    intervened = directives.guardrail_block
    topic = {"name": "emulated-block", "type": "DENY", "action": "BLOCKED", "detected": True}
    units = {"topicPolicyUnits": len(texts), "contentPolicyUnits": len(texts), "wordPolicyUnits": len(texts)}
    units.update({"sensitiveInformationPolicyUnits": 0, "sensitiveInformationPolicyFreeUnits": 0})
    units["contextualGroundingPolicyUnits"] = 0
    return JSONResponse(
        {
            "usage": units,
            "action": "GUARDRAIL_INTERVENED" if intervened else "NONE",
            "actionReason": "Guardrail blocked. [emulated]" if intervened else "No action.",
            "outputs": [{"text": GUARDRAIL_BLOCKED_MESSAGE}] if intervened else [],
            "assessments": [{"topicPolicy": {"topics": [topic]}}] if intervened else [],
        }
    )


def routes() -> list[Route]:
    return [
        Route("/model/{model_id:path}/invoke", invoke_model, methods=["POST"]),
        Route("/model/{model_id:path}/invoke-with-response-stream", invoke_model_stream, methods=["POST"]),
        Route("/model/{model_id:path}/converse", converse_model, methods=["POST"]),
        Route("/model/{model_id:path}/converse-stream", converse_model_stream, methods=["POST"]),
        Route("/guardrail/{guardrail_id}/version/{version}/apply", apply_guardrail, methods=["POST"]),
    ]
