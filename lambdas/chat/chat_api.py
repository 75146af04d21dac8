"""The chat function: OpenAI Chat Completions over Bedrock InvokeModel, and the model list.

Routes: POST /v1/chat/completions, GET /v1/models, GET /v1/models/{model}, GET /healthz.
"""

from __future__ import annotations

import json
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
from gptoss.invoke import InvokeStreamTranslator, from_invoke_response, to_invoke_body
from gptoss.models import list_models, resolve_model, retrieve_model
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

GUARDRAIL_HEADER = "x-gptoss-guardrail-action"
HEALTHY = json_bytes({"status": "ok"})


class ChatApi:
    """Route handlers bound to one Runtime (settings + Bedrock client)."""

    route = "/v1/chat/completions"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def completions(self, request: Request) -> Response:
        settings = self.runtime.settings
        record = RequestRecord(self.route, request_id(request.headers), log_prompts=settings.log_prompts)
        return await respond(record, lambda: self._complete(request, record, settings))

    async def _complete(self, request: Request, record: RequestRecord, settings: Settings) -> Response:
        chat = parse_chat_request(await read_json(request, settings.max_request_bytes))
        model_id = resolve_model(chat["model"], settings.enabled_models)
        record.model = model_id
        record.stream = stream = bool(chat.get("stream"))
        record.log_payload("prompt", chat["messages"])
        kwargs: dict[str, Any] = {
            "modelId": model_id,
            "body": json_bytes(to_invoke_body(chat, model_id, stream=stream)),
            "contentType": "application/json",
            "accept": "application/json",
        }
        if settings.guardrail is not None:
            kwargs.update(settings.guardrail.invoke_kwargs())
        bedrock = self.runtime.bedrock
        if stream:
            include_usage = bool((chat.get("stream_options") or {}).get("include_usage"))
            events = await EventStream.open(bedrock.invoke_model_with_response_stream, "body", **kwargs)
            translator = InvokeStreamTranslator(model=model_id, include_usage=include_usage)
            body = sse_body(record, _chunks(events, translator), close=events.close, usage=lambda: translator.usage)
            return sse_response(body)
        completion = from_invoke_response(await call(_invoke, client=bedrock, kwargs=kwargs), model=model_id)
        record.record_usage(completion.get("usage"))
        record.log_payload("completion", completion.get("choices"))
        headers = None
        guardrail = completion.get("guardrail")
        if isinstance(guardrail, dict):
            record.guardrail_action = guardrail.get("action")
            headers = {GUARDRAIL_HEADER: str(guardrail.get("action"))}
        return json_response(completion, headers=headers)

    async def models(self, request: Request) -> Response:
        return json_response(list_models(self.runtime.settings.enabled_models))

    async def model(self, request: Request) -> Response:
        record = RequestRecord("/v1/models/{model}", request_id(request.headers))
        return await respond(record, lambda: self._model(request.path_params["model"]))

    async def _model(self, name: str) -> Response:
        return json_response(retrieve_model(name, self.runtime.settings.enabled_models))


def _invoke(client: BaseClient, kwargs: dict[str, Any]) -> dict[str, Any]:
    """InvokeModel and read its body (both blocking; run in the thread pool)."""
    return json.loads(client.invoke_model(**kwargs)["body"].read())


async def _chunks(events: EventStream, translator: InvokeStreamTranslator) -> AsyncIterator[dict[str, Any]]:
    async for event in events:
        part = event.get("chunk")
        if part is not None:
            for chunk in translator.feed(json.loads(part["bytes"])):
                yield chunk
    for chunk in translator.finish():
        yield chunk


async def healthz(request: Request) -> Response:
    return Response(HEALTHY, media_type="application/json")


def create_app(
    *, settings: Settings | None = None, bedrock: BaseClient | None = None, endpoint_url: str | None = None
) -> Starlette:
    """The chat ASGI app; settings and the Bedrock client come from the environment unless given."""
    runtime = Runtime("chat", settings=settings, bedrock=bedrock, endpoint_url=endpoint_url)
    api = ChatApi(runtime)
    routes = [
        Route("/v1/chat/completions", api.completions, methods=["POST"]),
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/models/{model:path}", api.model, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS, lifespan=runtime.lifespan)
    app.state.runtime = runtime
    return app


app = create_app()
