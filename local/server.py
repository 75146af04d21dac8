"""The local API server: both API apps behind one ASGI app, optional bearer-key check, run by uvicorn."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import socket
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import uvicorn
from gateway.settings import Settings
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

_UNAUTHORIZED = json.dumps(
    {
        "error": {
            "message": "Incorrect API key provided. Use the key in LOCAL_API_KEY as the bearer token.",
            "type": "authentication_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
).encode()
# Where `make local` describes its batch store (bucket, S3 endpoint) to `gptoss batch submit --local`; see local.batch.
LOCAL_STORE_PATH = "/_local/batch"
_OPEN_PATHS = ("/healthz", LOCAL_STORE_PATH)
_ROOT = Path(__file__).resolve().parents[1]


def _function_module(directory: str, name: str) -> ModuleType:
    """A function's app module (lambdas/<fn>/<name>.py), importable here as in Lambda where it sits at the root."""
    path = str(_ROOT / "lambdas" / directory)
    if path not in sys.path:
        sys.path.append(path)
    return importlib.import_module(name)


def local_api_key_id(authorization: bytes) -> str | None:
    """The stand-in for API Gateway's API key id locally: a hash of the bearer value (each value its own owner)."""
    scheme, _, key = authorization.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return "local-" + hashlib.sha256(key.strip().encode()).hexdigest()[:20]


class RequestContext:
    """ASGI middleware doing locally what API Gateway and the Lambda Web Adapter do deployed: the
    `x-amzn-request-context` header is replaced (never taken from the client) by one whose `identity.apiKeyId`
    names the caller's key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(name, value) for name, value in scope["headers"] if name != b"x-amzn-request-context"]
            key_id = local_api_key_id(dict(scope["headers"]).get(b"authorization", b""))
            context = {"identity": {"apiKeyId": key_id}}
            headers.append((b"x-amzn-request-context", json.dumps(context).encode()))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class BearerKey:
    """ASGI middleware: 401 OpenAI error object unless `Authorization: Bearer <key>` matches."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self._expected = f"Bearer {key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in _OPEN_PATHS:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": _UNAUTHORIZED})
                return
        await self.app(scope, receive, send)


def create_app(
    *,
    settings: Settings | None = None,
    endpoint_url: str | None = None,
    api_key: str | None = None,
    batch: Starlette | None = None,
    store_endpoint_url: str | None = None,
) -> ASGIApp:
    """One app serving every route of the chat and converse functions (each keeps its own Bedrock client), and of
    the batch API function when `batch` (its app, see `local.batch`) is given; `store_endpoint_url` is the DynamoDB
    endpoint holding the Responses table (see local.response_table)."""
    endpoints = {"endpoint_url": endpoint_url, "store_endpoint_url": store_endpoint_url}
    chat = _function_module("chat", "chat_api").create_app(settings=settings, **endpoints)
    converse = _function_module("converse", "converse_api").create_app(settings=settings, **endpoints)
    routes: list[BaseRoute] = list(chat.router.routes)
    for other in (converse, batch):
        if other is not None:
            routes += [route for route in other.router.routes if getattr(route, "path", None) != "/healthz"]

    @asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        chat.state.runtime.load()
        converse.state.runtime.load()
        yield

    app: ASGIApp = Starlette(routes=routes, exception_handlers=chat.exception_handlers, lifespan=lifespan)
    app = RequestContext(app)
    return BearerKey(app, api_key) if api_key else app


class LocalServer:
    """uvicorn serving `app` in a background thread on host:port (0 = a free port); ready when entered."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
            loop="uvloop",  # as in Lambda (run.sh)
            http="httptools",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the local server failed to start (see the log above)")
            self._thread.join(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._socket.close()

    def serve_forever(self) -> None:
        """Serve in the calling (main) thread until interrupted."""
        self._server.run(sockets=[self._socket])
