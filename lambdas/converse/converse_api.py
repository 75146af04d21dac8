"""The converse function: OpenAI Chat Completions over Bedrock Converse, and native Converse passthrough.

Routes: POST /converse/v1/chat/completions, GET /converse/v1/models[/{model}] (for SDKs whose base_url is
/converse/v1), the Responses API under /converse/v1/responses, POST /model/{modelId}/converse, GET /healthz.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.client import BaseClient
from gateway.backend import ChatStream
from gateway.bedrock import EventStream, call
from gateway.http import json_response, read_json
from gateway.observability import RequestRecord
from gateway.responses_api import responses_routes
from gateway.routes import (
    ChatCall,
    answer_chat,
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
        return await answer_chat(record, await read_chat_call(request, record, self.runtime), self, self.runtime)

    async def complete(self, chat: ChatCall) -> dict[str, Any]:
        kwargs = to_converse_request(chat.request, chat.model_id, self.runtime.settings.guardrail)
        response = await call(self.runtime.bedrock.converse, **kwargs)
        return from_converse_response(
            response, model=chat.model_id, completion_id=completion_id(), created=_now(), stop=chat.stop
        )

    async def open_stream(self, chat: ChatCall) -> ChatStream:
        kwargs = to_converse_request(chat.request, chat.model_id, self.runtime.settings.guardrail)
        events = await EventStream.open(self.runtime.bedrock.converse_stream, "stream", **kwargs)
        translator = ConverseStreamTranslator(
            model=chat.model_id,
            completion_id=completion_id(),
            created=_now(),
            include_usage=chat.include_usage,
            stop=chat.stop,
            guardrail=self.runtime.settings.guardrail is not None,
        )
        return ChatStream(events, translator, _event)

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


def _now() -> int:
    return int(time.time())


def _event(event: dict[str, Any]) -> dict[str, Any]:
    """ConverseStream events go to the translator as boto3 yields them."""
    return event


def create_app(
    *,
    settings: Settings | None = None,
    bedrock: BaseClient | None = None,
    endpoint_url: str | None = None,
    store_endpoint_url: str | None = None,
) -> Starlette:
    """The converse ASGI app; settings and the Bedrock client come from the environment unless given."""
    runtime = Runtime(
        "converse", settings=settings, bedrock=bedrock, endpoint_url=endpoint_url, store_endpoint_url=store_endpoint_url
    )
    api = ConverseApi(runtime)
    routes = [
        Route(ROUTE, recorded(runtime, ROUTE, api.completions), methods=["POST"]),
        *model_routes("/converse/v1", runtime),
        *responses_routes("/converse/v1", runtime, api),
        Route("/model/{model_id:path}/converse", recorded(runtime, NATIVE_ROUTE, api.native), methods=["POST"]),
    ]
    return create_api_app(runtime, routes)


app = create_app()
