"""The emulator's ASGI app, and `EmulatorServer`: uvicorn on 127.0.0.1 in a background thread, for tests."""

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from local.emulator import admin, control_plane, runtime
from local.emulator.faults import FaultState
from local.emulator.jobs import JobStore
from local.emulator.runtime import KNOWN_MODELS, RuntimeSettings


async def _healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "emulator": True})


def create_app(
    *,
    chunk_delay: float = 0.02,
    models: tuple[str, ...] = KNOWN_MODELS,
    region: str = "us-west-2",
    job_polls_per_state: int = 1,
    job_seconds_per_state: float | None = None,
) -> Starlette:
    """The emulator app: bedrock-runtime and bedrock batch-job routes, the admin routes and `GET /healthz`.

    Batch jobs advance one state per GetModelInvocationJob (`job_polls_per_state`, 0 = finish on the first Get), or
    by time when `job_seconds_per_state` is set.
    """
    routes = [*runtime.routes(), *control_plane.routes(), *admin.routes(), Route("/healthz", _healthz)]
    app = Starlette(routes=routes)
    app.state.runtime = RuntimeSettings(chunk_delay=chunk_delay, models=frozenset(models), faults=FaultState())
    app.state.jobs = JobStore(
        models=frozenset(models),
        region=region,
        polls_per_state=job_polls_per_state,
        seconds_per_state=job_seconds_per_state,
    )
    return app


class EmulatorServer:
    """`with EmulatorServer(port=0, chunk_delay=0.0) as emu:` serves the emulator at `emu.url` until the block ends."""

    def __init__(
        self,
        port: int = 0,
        chunk_delay: float = 0.0,
        host: str = "127.0.0.1",
        *,
        models: tuple[str, ...] = KNOWN_MODELS,
        region: str = "us-west-2",
        job_polls_per_state: int = 1,
        job_seconds_per_state: float | None = None,
    ) -> None:
        self.host = host
        self.app = create_app(
            chunk_delay=chunk_delay,
            models=models,
            region=region,
            job_polls_per_state=job_polls_per_state,
            job_seconds_per_state=job_seconds_per_state,
        )
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=f"bedrock-emulator-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def faults(self) -> FaultState:
        """Direct access to queued faults and recorded calls (same state as the /_emulator routes)."""
        return self.app.state.runtime.faults

    @property
    def jobs(self) -> JobStore:
        """Direct access to the batch jobs (same state as the control-plane routes)."""
        return self.app.state.jobs

    def _serve(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self) -> "EmulatorServer":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Bedrock emulator did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
