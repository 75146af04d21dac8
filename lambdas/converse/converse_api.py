"""The converse function: OpenAI Chat Completions over Bedrock Converse, and native Converse passthrough.

Routes: POST /converse/v1/chat/completions, GET /converse/v1/models[/{model}] (for SDKs whose base_url is
/converse/v1), POST /model/{modelId}/converse, GET /healthz.
"""

from __future__ import annotations

import time

from botocore.client import BaseClient
from gateway.bedrock import EventStream, call
from gateway.endpoint import sse_body, translated
from gateway.http import json_response, read_json, sse_response
from gateway.observability import RequestRecord
from gateway.routes import (
    completion_response,
    create_api_app,
    model_routes,
    read_chat_call,
    recorded,
    verdict_response,
)
from gateway.runtime import Runtime
from gateway.settings import Settings
from gptoss.converse import ConverseStreamTranslator, from_converse_response, to_converse_request
from gptoss.errors import invalid_request
from gptoss.guardrail import INTERVENED, NONE
from gptoss.ids import completion_id
from gptoss.models import resolve_model
from gptoss.trust import native_converse_request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROUTE = "/converse/v1/chat/completions"
NATIVE_ROUTE = "/model/{modelId}/converse"


class ConverseApi:
    """The chat completions and native Converse routes bound to one Runtime (settings + Bedrock client)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def completions(self, request: Request, record: RequestRecord) -> Response:
        chat = await read_chat_call(request, record, self.runtime)
        kwargs = to_converse_request(chat.request, chat.model_id, self.runtime.settings.guardrail)
        bedrock = self.runtime.bedrock
        cid, created = completion_id(), int(time.time())
        if chat.stream:
            events = await EventStream.open(bedrock.converse_stream, "stream", **kwargs)
            translator = ConverseStreamTranslator(
                model=chat.model_id,
                completion_id=cid,
                created=created,
                include_usage=chat.include_usage,
                stop=chat.stop,
                guardrail=self.runtime.settings.guardrail is not None,
            )
            chunks = translated(events, translator, lambda event: event)
            body = sse_body(record, chunks, close=events.close, usage=lambda: translator.usage)
            return sse_response(body)
        response = await call(bedrock.converse, **kwargs)
        completion = from_converse_response(
            response, model=chat.model_id, completion_id=cid, created=created, stop=chat.stop
        )
        return completion_response(record, completion, self.runtime)

    async def native(self, request: Request, record: RequestRecord) -> Response:
        settings = self.runtime.settings
        body = await read_json(request, settings.max_request_bytes)
        if not isinstance(body, dict):
            raise invalid_request("The request body must be a JSON object (a Converse request).")
        model_id = resolve_model(request.path_params["model_id"], settings.enabled_models)
        record.model = model_id
        record.log_payload("prompt", body.get("messages"))
        kwargs = native_converse_request(
            body, model_id=model_id, guardrail=settings.guardrail, opt_ins=settings.caller_opt_ins
        )
        response = await call(self.runtime.bedrock.converse, **kwargs)
        response.pop("ResponseMetadata", None)
        record.record_usage(response.get("usage"))
        record.log_payload("completion", response.get("output"))
        if settings.guardrail is None:
            return json_response(response)
        intervened = response.get("stopReason") == "guardrail_intervened"
        return verdict_response(record, response, INTERVENED if intervened else NONE)


def create_app(
    *, settings: Settings | None = None, bedrock: BaseClient | None = None, endpoint_url: str | None = None
) -> Starlette:
    """The converse ASGI app; settings and the Bedrock client come from the environment unless given."""
    runtime = Runtime("converse", settings=settings, bedrock=bedrock, endpoint_url=endpoint_url)
    api = ConverseApi(runtime)
    routes = [
        Route(ROUTE, recorded(runtime, ROUTE, api.completions), methods=["POST"]),
        *model_routes("/converse/v1", runtime),
        Route("/model/{model_id:path}/converse", recorded(runtime, NATIVE_ROUTE, api.native), methods=["POST"]),
    ]
    return create_api_app(runtime, routes)


app = create_app()
