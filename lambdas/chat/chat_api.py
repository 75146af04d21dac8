"""The chat function: OpenAI Chat Completions over Bedrock InvokeModel, and the model list.

Routes: POST /v1/chat/completions, GET /v1/models, GET /v1/models/{model}, GET /healthz.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.client import BaseClient
from gateway.bedrock import EventStream, call
from gateway.endpoint import sse_body, translated
from gateway.http import json_bytes, sse_response
from gateway.observability import RequestRecord
from gateway.routes import completion_response, create_api_app, model_routes, read_chat_call, recorded
from gateway.runtime import Runtime
from gateway.settings import Settings
from gptoss.invoke import InvokeStreamTranslator, from_invoke_response, to_invoke_body
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROUTE = "/v1/chat/completions"


class ChatApi:
    """The chat completions route bound to one Runtime (settings + Bedrock client)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def completions(self, request: Request, record: RequestRecord) -> Response:
        chat = await read_chat_call(request, record, self.runtime)
        kwargs: dict[str, Any] = {
            "modelId": chat.model_id,
            "body": json_bytes(to_invoke_body(chat.request, chat.model_id, stream=chat.stream)),
            "contentType": "application/json",
            "accept": "application/json",
        }
        guardrail = self.runtime.settings.guardrail
        if guardrail is not None:
            kwargs.update(guardrail.invoke_kwargs())
        bedrock = self.runtime.bedrock
        if chat.stream:
            events = await EventStream.open(bedrock.invoke_model_with_response_stream, "body", **kwargs)
            translator = InvokeStreamTranslator(model=chat.model_id, include_usage=chat.include_usage)
            chunks = translated(events, translator, _payload)
            body = sse_body(record, chunks, close=events.close, usage=lambda: translator.usage)
            return sse_response(body)
        completion = from_invoke_response(await call(_invoke, client=bedrock, kwargs=kwargs), model=chat.model_id)
        return completion_response(record, completion, self.runtime)


def _invoke(client: BaseClient, kwargs: dict[str, Any]) -> dict[str, Any]:
    """InvokeModel and read its body (both blocking; run in the thread pool)."""
    return json.loads(client.invoke_model(**kwargs)["body"].read())


def _payload(event: dict[str, Any]) -> dict[str, Any] | None:
    """The decoded JSON of a PayloadPart event (other events carry nothing for the caller)."""
    part = event.get("chunk")
    return None if part is None else json.loads(part["bytes"])


def create_app(
    *, settings: Settings | None = None, bedrock: BaseClient | None = None, endpoint_url: str | None = None
) -> Starlette:
    """The chat ASGI app; settings and the Bedrock client come from the environment unless given."""
    runtime = Runtime("chat", settings=settings, bedrock=bedrock, endpoint_url=endpoint_url)
    api = ChatApi(runtime)
    completions = Route(ROUTE, recorded(runtime, ROUTE, api.completions), methods=["POST"])
    return create_api_app(runtime, [completions, *model_routes("/v1", runtime)])


app = create_app()
