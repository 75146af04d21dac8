"""The OpenAI Responses API routes, written once over a `Backend` (InvokeModel in the chat app, Converse in the
converse app): create (complete or streamed), retrieve, delete, list input items.

State rules: `store` (default true) keeps the response and the input items it answered in the response store,
owned by the caller's API key (`gateway.caller`); `previous_response_id` continues from a stored response of the
same key (its input items, then its output items, before the new input); anything else is a 404. A stored
response records the whole conversation it answered, so a continuation reads one record. A stream is stored when
it completes, before its final event is sent; a response that failed is not stored.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from gptoss.errors import GatewayError, invalid_request
from gptoss.guardrail import NONE, guardrail_field
from gptoss.responses import (
    build_response,
    conversation_after,
    input_items_page,
    new_id,
    parse_responses_request,
    response_skeleton,
    to_chat_request,
)
from gptoss.responses_stream import ResponsesStreamTranslator, sse_event
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.backend import Backend, ChatStream
from gateway.caller import require_api_key_id
from gateway.endpoint import sse_body
from gateway.http import json_response, read_json, sse_response
from gateway.observability import RequestRecord
from gateway.response_store import ResponseStore
from gateway.routes import chat_call, recorded, verdict_response
from gateway.runtime import Runtime

Json = dict[str, Any]
MAX_PAGE = 100
DEFAULT_PAGE = 20


class ResponsesApi:
    """The Responses routes of one app."""

    def __init__(self, runtime: Runtime, backend: Backend) -> None:
        self.runtime = runtime
        self.backend = backend

    def _store(self) -> ResponseStore:
        store = self.runtime.response_store
        if store is None:
            raise GatewayError(
                400,
                "This gateway keeps no responses (no response store is configured): send store=false and "
                "pass the conversation as input items.",
                param="store",
                code="store_unavailable",
            )
        return store

    async def create(self, request: Request, record: RequestRecord) -> Response:
        responses_request = parse_responses_request(await read_json(request, self.runtime.settings.max_request_bytes))
        needs_store = responses_request.store or responses_request.previous_response_id is not None
        owner = require_api_key_id(request.headers) if needs_store else ""
        store = self._store() if needs_store else None
        conversation: list[Json] = []
        if responses_request.previous_response_id is not None:
            assert store is not None
            previous = await store.get(owner, responses_request.previous_response_id)
            conversation = conversation_after(previous.input_items, previous.response)
        conversation += responses_request.input_items()
        chat = chat_call(to_chat_request(responses_request, conversation), record, self.runtime)
        skeleton = response_skeleton(
            responses_request, response_id=new_id("resp"), model=chat.model_id, created_at=int(time.time())
        )
        keep = store if responses_request.store else None
        if chat.stream:
            stream = await self.backend.open_stream(chat)
            return self._stream(record, stream, skeleton, keep, owner, conversation)
        response = build_response(skeleton, await self.backend.complete(chat))
        if keep is not None:
            await keep.put(owner, response, conversation)
        return self._answer(record, response)

    def _answer(self, record: RequestRecord, response: Json) -> Response:
        """A complete `response`; with a guardrail configured it carries the verdict (field and header)."""
        usage = response.get("usage") or {}
        record.record_usage({"inputTokens": usage.get("input_tokens"), "outputTokens": usage.get("output_tokens")})
        record.log_payload("completion", response.get("output"))
        if self.runtime.settings.guardrail is None:
            return json_response(response)
        verdict = response.setdefault("guardrail", guardrail_field(NONE, None))
        return verdict_response(record, response, str(verdict.get("action")))

    def _stream(
        self,
        record: RequestRecord,
        stream: ChatStream,
        skeleton: Json,
        store: ResponseStore | None,
        owner: str,
        conversation: list[Json],
    ) -> Response:
        translator = ResponsesStreamTranslator(skeleton)
        usage = stream.translator

        async def events() -> AsyncIterator[Json]:
            for event in translator.start():
                yield event
            async for chunk in stream.chunks():
                for event in translator.feed(chunk):
                    yield event
            closing = translator.finish(usage.usage)
            response = translator.response
            assert response is not None
            if self.runtime.settings.guardrail is not None:
                response.setdefault("guardrail", guardrail_field(NONE, None))
            record.guardrail_action = (translator.guardrail or {}).get("action", record.guardrail_action)
            record.log_payload("completion", response.get("output"))
            if store is not None:
                await store.put(owner, response, conversation)
            for event in closing:
                yield event

        def failure(error: GatewayError) -> bytes:
            return b"".join(sse_event(event) for event in translator.fail(error))

        body = sse_body(
            record,
            events(),
            close=stream.close,
            usage=lambda: usage.usage,
            encode=sse_event,
            error_events=failure,
            done=b"",
        )
        return sse_response(body)

    async def retrieve(self, request: Request, record: RequestRecord) -> Response:
        stored = await self._store().get(require_api_key_id(request.headers), request.path_params["response_id"])
        return json_response(stored.response)

    async def delete(self, request: Request, record: RequestRecord) -> Response:
        response_id = request.path_params["response_id"]
        await self._store().delete(require_api_key_id(request.headers), response_id)
        return json_response({"id": response_id, "object": "response", "deleted": True})

    async def input_items(self, request: Request, record: RequestRecord) -> Response:
        query = request.query_params
        limit = _limit(query.get("limit"))
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise invalid_request("'order' must be asc or desc.", param="order")
        stored = await self._store().get(require_api_key_id(request.headers), request.path_params["response_id"])
        return json_response(input_items_page(stored.input_items, after=query.get("after"), limit=limit, order=order))


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise invalid_request(f"'limit' must be an integer between 1 and {MAX_PAGE}.", param="limit")
    return int(raw)


def responses_routes(prefix: str, runtime: Runtime, backend: Backend) -> list[Route]:
    """POST `{prefix}/responses`, GET/DELETE `{prefix}/responses/{id}`, GET `{prefix}/responses/{id}/input_items`."""
    api = ResponsesApi(runtime, backend)
    create = f"{prefix}/responses"
    one = f"{prefix}/responses/{{response_id}}"
    items = f"{one}/input_items"
    return [
        Route(create, recorded(runtime, create, api.create), methods=["POST"]),
        Route(one, recorded(runtime, one, api.retrieve), methods=["GET"]),
        Route(one, recorded(runtime, one, api.delete), methods=["DELETE"]),
        Route(items, recorded(runtime, items, api.input_items), methods=["GET"]),
    ]
