"""Route plumbing shared by the API apps: recorded endpoints, chat request intake, JSON answers with the guardrail
verdict, the model routes and the app itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gptoss.chat_request import parse_chat_request
from gptoss.guardrail import NONE, guardrail_field
from gptoss.models import list_models, resolve_model, retrieve_model
from gptoss.stop import stop_strings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.backend import Backend
from gateway.endpoint import respond, sse_body
from gateway.http import EXCEPTION_HANDLERS, json_bytes, json_response, read_json, sse_response
from gateway.observability import RequestRecord, api_key_id, request_id
from gateway.runtime import Runtime

GUARDRAIL_HEADER = "x-gptoss-guardrail-action"
_HEALTHY = json_bytes({"status": "ok"})

Work = Callable[[Request, RequestRecord], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def recorded(runtime: Runtime, route: str, work: Work) -> Endpoint:
    """An endpoint running `work` under one RequestRecord for `route`: errors answered, logged and measured once."""

    async def endpoint(request: Request) -> Response:
        settings = runtime.settings
        headers = request.headers
        record = RequestRecord(
            route, request_id(headers), log_prompts=settings.log_prompts, api_key_id=api_key_id(headers)
        )
        return await respond(record, lambda: work(request, record), idle_limit=settings.idle_limit)

    return endpoint


@dataclass(frozen=True)
class ChatCall:
    """A validated OpenAI chat request and the enabled Bedrock model it names."""

    request: dict[str, Any]
    model_id: str

    @property
    def stream(self) -> bool:
        return bool(self.request.get("stream"))

    @property
    def stop(self) -> tuple[str, ...]:
        return stop_strings(self.request.get("stop"))

    @property
    def include_usage(self) -> bool:
        return bool((self.request.get("stream_options") or {}).get("include_usage"))


async def read_chat_call(request: Request, record: RequestRecord, runtime: Runtime) -> ChatCall:
    """Read, validate and resolve a chat request (400/404/413 as GatewayErrors); logs the prompt per LOG_PROMPTS."""
    return chat_call(parse_chat_request(await read_json(request, runtime.settings.max_request_bytes)), record, runtime)


def chat_call(chat: dict[str, Any], record: RequestRecord, runtime: Runtime) -> ChatCall:
    """A validated chat request bound to its enabled model (404 otherwise); logs the prompt per LOG_PROMPTS."""
    call = ChatCall(chat, resolve_model(chat["model"], runtime.settings.enabled_models))
    record.model = call.model_id
    record.stream = call.stream
    record.log_payload("prompt", chat["messages"])
    return call


async def answer_chat(record: RequestRecord, chat: ChatCall, backend: Backend, runtime: Runtime) -> Response:
    """The chat completions answer from `backend`: SSE chunks when streamed, else one `chat.completion`."""
    if chat.stream:
        stream = await backend.open_stream(chat)
        translator = stream.translator
        return sse_response(sse_body(record, stream.chunks(), close=stream.close, usage=lambda: translator.usage))
    return completion_response(record, await backend.complete(chat), runtime)


def completion_response(record: RequestRecord, completion: dict[str, Any], runtime: Runtime) -> Response:
    """A `chat.completion` answer; with a guardrail configured it always carries the verdict (field and header)."""
    record.record_usage(completion.get("usage"))
    record.log_payload("completion", completion.get("choices"))
    if runtime.settings.guardrail is None:
        return json_response(completion)
    verdict = completion.setdefault("guardrail", guardrail_field(NONE, None))
    return verdict_response(record, completion, str(verdict.get("action")))


def verdict_response(record: RequestRecord, payload: dict[str, Any], action: str) -> Response:
    """A JSON answer carrying the guardrail verdict in the `x-gptoss-guardrail-action` header (and the request log)."""
    record.guardrail_action = action
    return json_response(payload, headers={GUARDRAIL_HEADER: action})


def model_routes(prefix: str, runtime: Runtime) -> list[Route]:
    """GET `{prefix}/models` and `{prefix}/models/{model}`: the enabled models, answered from configuration alone."""

    async def listing(request: Request) -> Response:
        return json_response(list_models(runtime.settings.enabled_models))

    async def retrieve(request: Request, record: RequestRecord) -> Response:
        return json_response(retrieve_model(request.path_params["model"], runtime.settings.enabled_models))

    return [
        Route(f"{prefix}/models", listing, methods=["GET"]),
        Route(
            f"{prefix}/models/{{model:path}}",
            recorded(runtime, f"{prefix}/models/{{model}}", retrieve),
            methods=["GET"],
        ),
    ]


async def healthz(request: Request) -> Response:
    """The Lambda Web Adapter's readiness check."""
    return Response(_HEALTHY, media_type="application/json")


def create_api_app(runtime: Runtime, routes: list[Route]) -> Starlette:
    """An API function's ASGI app: `routes` and GET /healthz, OpenAI error objects, `runtime` loaded at startup."""
    app = Starlette(
        routes=[*routes, Route("/healthz", healthz, methods=["GET"])],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=runtime.lifespan,
    )
    app.state.runtime = runtime
    return app
