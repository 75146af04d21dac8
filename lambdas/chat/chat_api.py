"""The chat function: OpenAI Chat Completions over Bedrock InvokeModel, and the model list.

Routes: POST /v1/chat/completions, GET /v1/models, GET /v1/models/{model}, the Responses API (POST /v1/responses,
GET/DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items), GET /healthz.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.client import BaseClient
from gateway.backend import ChatStream
from gateway.bedrock import EventStream, call
from gateway.http import json_bytes
from gateway.observability import RequestRecord
from gateway.responses_api import responses_routes
from gateway.routes import ChatCall, answer_chat, create_api_app, model_routes, read_chat_call, recorded
from gateway.runtime import Runtime
from gateway.settings import Settings
from gptoss.invoke import InvokeStreamTranslator, from_invoke_response, to_invoke_body
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROUTE = "/v1/chat/completions"


class ChatApi:
    """The chat completions and Responses routes bound to one Runtime (settings + Bedrock client): the InvokeModel
    backend."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def completions(self, request: Request, record: RequestRecord) -> Response:
        return await answer_chat(record, await read_chat_call(request, record, self.runtime), self, self.runtime)

    def _kwargs(self, chat: ChatCall) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "modelId": chat.model_id,
            "body": json_bytes(to_invoke_body(chat.request, chat.model_id, stream=chat.stream)),
            "contentType": "application/json",
            "accept": "application/json",
        }
        guardrail = self.runtime.settings.guardrail
        if guardrail is not None:
            kwargs.update(guardrail.invoke_kwargs())
        return kwargs

    async def complete(self, chat: ChatCall) -> dict[str, Any]:
        body = await call(_invoke, client=self.runtime.bedrock, kwargs=self._kwargs(chat))
        return from_invoke_response(body, model=chat.model_id)

    async def open_stream(self, chat: ChatCall) -> ChatStream:
        bedrock = self.runtime.bedrock
        events = await EventStream.open(bedrock.invoke_model_with_response_stream, "body", **self._kwargs(chat))
        translator = InvokeStreamTranslator(model=chat.model_id, include_usage=chat.include_usage)
        return ChatStream(events, translator, _payload)


def _invoke(client: BaseClient, kwargs: dict[str, Any]) -> dict[str, Any]:
    """InvokeModel and read its body (both blocking; run in the thread pool)."""
    return json.loads(client.invoke_model(**kwargs)["body"].read())


def _payload(event: dict[str, Any]) -> dict[str, Any] | None:
    """The decoded JSON of a PayloadPart event (other events carry nothing for the caller)."""
    part = event.get("chunk")
    return None if part is None else json.loads(part["bytes"])


def create_app(
    *,
    settings: Settings | None = None,
    bedrock: BaseClient | None = None,
    endpoint_url: str | None = None,
    store_endpoint_url: str | None = None,
) -> Starlette:
    """The chat ASGI app; settings and the Bedrock client come from the environment unless given."""
    runtime = Runtime(
        "chat", settings=settings, bedrock=bedrock, endpoint_url=endpoint_url, store_endpoint_url=store_endpoint_url
    )
    api = ChatApi(runtime)
    completions = Route(ROUTE, recorded(runtime, ROUTE, api.completions), methods=["POST"])
    return create_api_app(runtime, [completions, *model_routes("/v1", runtime), *responses_routes("/v1", runtime, api)])


app = create_app()
