"""The converse function: OpenAI Chat Completions over Bedrock Converse, and native Converse passthrough.

Routes: POST /converse/v1/chat/completions, GET /converse/v1/models[/{model}] (for SDKs whose base_url is
/converse/v1), POST /model/{modelId}/converse, GET /healthz.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from botocore.client import BaseClient
from gateway.bedrock import EventStream, call
from gateway.endpoint import respond, sse_body
from gateway.http import EXCEPTION_HANDLERS, json_bytes, json_response, read_json, sse_response
from gateway.observability import RequestRecord, request_id
from gateway.runtime import Runtime
from gateway.settings import Settings
from gptoss.chat_request import parse_chat_request
from gptoss.converse import ConverseStreamTranslator, from_converse_response, to_converse_request
from gptoss.errors import invalid_request
from gptoss.guardrail import INTERVENED, NONE
from gptoss.ids import completion_id
from gptoss.models import list_models, resolve_model, retrieve_model
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

GUARDRAIL_HEADER = "x-gptoss-guardrail-action"
HEALTHY = json_bytes({"status": "ok"})
# Native Converse members a caller may not set: the path names the model (a configured guardrail also wins).
_GATEWAY_OWNED = ("modelId",)


class ConverseApi:
    """Route handlers bound to one Runtime (settings + Bedrock client)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def completions(self, request: Request) -> Response:
        settings = self.runtime.settings
        record = RequestRecord("/converse/v1/chat/completions", request_id(request.headers), settings.log_prompts)
        return await respond(record, lambda: self._complete(request, record, settings))

    async def _complete(self, request: Request, record: RequestRecord, settings: Settings) -> Response:
        chat = parse_chat_request(await read_json(request, settings.max_request_bytes))
        model_id = resolve_model(chat["model"], settings.enabled_models)
        record.model = model_id
        record.stream = stream = bool(chat.get("stream"))
        record.log_payload("prompt", chat["messages"])
        kwargs = to_converse_request(chat, model_id, settings.guardrail)
        bedrock = self.runtime.bedrock
        cid, created = completion_id(), int(time.time())
        if stream:
            include_usage = bool((chat.get("stream_options") or {}).get("include_usage"))
            events = await EventStream.open(bedrock.converse_stream, "stream", **kwargs)
            translator = ConverseStreamTranslator(
                model=model_id, completion_id=cid, created=created, include_usage=include_usage
            )
            body = sse_body(record, _chunks(events, translator), close=events.close, usage=lambda: translator.usage)
            return sse_response(body)
        response = await call(bedrock.converse, **kwargs)
        completion = from_converse_response(response, model=model_id, completion_id=cid, created=created)
        record.record_usage(completion.get("usage"))
        record.log_payload("completion", completion.get("choices"))
        headers = None
        guardrail = completion.get("guardrail")
        if isinstance(guardrail, dict):
            record.guardrail_action = guardrail.get("action")
            headers = {GUARDRAIL_HEADER: str(guardrail.get("action"))}
        return json_response(completion, headers=headers)

    async def native(self, request: Request) -> Response:
        settings = self.runtime.settings
        record = RequestRecord("/model/{modelId}/converse", request_id(request.headers), settings.log_prompts)
        return await respond(record, lambda: self._native(request, record, settings))

    async def _native(self, request: Request, record: RequestRecord, settings: Settings) -> Response:
        body = await read_json(request, settings.max_request_bytes)
        if not isinstance(body, dict):
            raise invalid_request("The request body must be a JSON object (a Converse request).")
        model_id = resolve_model(request.path_params["model_id"], settings.enabled_models)
        record.model = model_id
        record.log_payload("prompt", body.get("messages"))
        kwargs = {key: value for key, value in body.items() if key not in _GATEWAY_OWNED}
        kwargs["modelId"] = model_id
        if settings.guardrail is not None:
            kwargs["guardrailConfig"] = settings.guardrail.converse_config()
        response = await call(self.runtime.bedrock.converse, **kwargs)
        response.pop("ResponseMetadata", None)
        record.record_usage(response.get("usage"))
        record.log_payload("completion", response.get("output"))
        headers = None
        if settings.guardrail is not None:
            record.guardrail_action = INTERVENED if response.get("stopReason") == "guardrail_intervened" else NONE
            headers = {GUARDRAIL_HEADER: record.guardrail_action}
        return json_response(response, headers=headers)

    async def models(self, request: Request) -> Response:
        return json_response(list_models(self.runtime.settings.enabled_models))

    async def model(self, request: Request) -> Response:
        record = RequestRecord("/converse/v1/models/{model}", request_id(request.headers))
        return await respond(record, lambda: self._model(request.path_params["model"]))

    async def _model(self, name: str) -> Response:
        return json_response(retrieve_model(name, self.runtime.settings.enabled_models))


async def _chunks(events: EventStream, translator: ConverseStreamTranslator) -> AsyncIterator[dict[str, Any]]:
    async for event in events:
        for chunk in translator.feed(event):
            yield chunk


async def healthz(request: Request) -> Response:
    return Response(HEALTHY, media_type="application/json")


def create_app(
    *, settings: Settings | None = None, bedrock: BaseClient | None = None, endpoint_url: str | None = None
) -> Starlette:
    """The converse ASGI app; settings and the Bedrock client come from the environment unless given."""
    runtime = Runtime("converse", settings=settings, bedrock=bedrock, endpoint_url=endpoint_url)
    api = ConverseApi(runtime)
    routes = [
        Route("/converse/v1/chat/completions", api.completions, methods=["POST"]),
        Route("/converse/v1/models", api.models, methods=["GET"]),
        Route("/converse/v1/models/{model:path}", api.model, methods=["GET"]),
        Route("/model/{model_id:path}/converse", api.native, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS, lifespan=runtime.lifespan)
    app.state.runtime = runtime
    return app


app = create_app()
