"""Test-control routes under /_emulator: queue faults, reset state, list recorded calls."""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from local.emulator.faults import FaultState, is_known_fault


def _faults(request: Request) -> FaultState:
    return request.app.state.runtime.faults


async def queue_faults(request: Request) -> JSONResponse:
    """`{"fault": "ThrottlingException", "count": 3}`: the next `count` model calls fail with `fault`.

    An optional `"operation"` (e.g. `"CreateModelInvocationJob"`, `"ApplyGuardrail"`) scopes the fault to that one.
    """
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"message": "expected a JSON object"}, status_code=400)
    fault, count, operation = body.get("fault"), body.get("count", 1), body.get("operation")
    if not isinstance(fault, str) or not is_known_fault(fault):
        return JSONResponse({"message": f"unknown fault {fault!r}"}, status_code=400)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return JSONResponse({"message": "count must be a positive integer"}, status_code=400)
    if operation is not None and not isinstance(operation, str):
        return JSONResponse({"message": "operation must be a string"}, status_code=400)
    _faults(request).queue(fault, count, operation)
    return JSONResponse({"queued": fault, "count": count, "operation": operation})


async def reset(request: Request) -> JSONResponse:
    _faults(request).reset()
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is not None:
        jobs.reset()
    return JSONResponse({"reset": True})


async def calls(request: Request) -> JSONResponse:
    return JSONResponse({"calls": _faults(request).calls()})


def routes() -> list[Route]:
    return [
        Route("/_emulator/faults", queue_faults, methods=["POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/calls", calls, methods=["GET"]),
    ]
