"""bedrock control-plane routes for batch inference jobs, plus the admin route that decides how a job ends."""

from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from local.emulator.errors import BedrockError, error_response, validation
from local.emulator.faults import fault_error
from local.emulator.jobs import Job, JobStore, Outcome

_SORT_ORDERS = ("Ascending", "Descending")


def _jobs(request: Request) -> JobStore:
    return request.app.state.jobs


def _begin(request: Request, operation: str, model_id: str | None = None) -> None:
    """Record the call; raise a fault queued for this operation (`/_emulator/faults` with `"operation"`)."""
    faults = request.app.state.runtime.faults
    faults.record({"operation": operation, "modelId": model_id, "guardrail": None})
    queued = faults.take_queued(operation)
    if queued:
        raise fault_error(queued)


async def _json_object(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object. [emulated]")
    return body


async def create_job(request: Request) -> Response:
    try:
        body = await _json_object(request)
        _begin(request, "CreateModelInvocationJob", body.get("modelId"))
        job = await run_in_threadpool(_jobs(request).create, body)
    except BedrockError as error:
        return error_response(error)
    return JSONResponse({"jobArn": job.arn})


async def get_job(request: Request) -> Response:
    try:
        _begin(request, "GetModelInvocationJob")
        job = await run_in_threadpool(_jobs(request).get, request.path_params["job_id"])
    except BedrockError as error:
        return error_response(error)
    return JSONResponse(job.describe())


async def stop_job(request: Request) -> Response:
    try:
        _begin(request, "StopModelInvocationJob")
        await run_in_threadpool(_jobs(request).stop, request.path_params["job_id"])
    except BedrockError as error:
        return error_response(error)
    return JSONResponse({})


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise validation(f"Invalid timestamp {value!r}. [emulated]") from error


def _matches(job: Job, query: dict[str, str], after: datetime | None, before: datetime | None) -> bool:
    if query.get("statusEquals") and job.status != query["statusEquals"]:
        return False
    if query.get("nameContains") and query["nameContains"] not in job.name:
        return False
    if after and job.submitted <= after:
        return False
    return not (before and job.submitted >= before)


async def list_jobs(request: Request) -> Response:
    """ListModelInvocationJobs with statusEquals, nameContains, submit-time filters, sort order and pagination."""
    query = dict(request.query_params)
    try:
        _begin(request, "ListModelInvocationJobs")
        after, before = _parse_time(query.get("submitTimeAfter")), _parse_time(query.get("submitTimeBefore"))
        size = int(query.get("maxResults", "1000"))
        start = int(query.get("nextToken") or "0")
        if not 1 <= size <= 1000 or query.get("sortOrder", "Descending") not in _SORT_ORDERS:
            raise validation("Invalid maxResults or sortOrder. [emulated]")
    except ValueError:
        return error_response(validation("Invalid maxResults or nextToken. [emulated]"))
    except BedrockError as error:
        return error_response(error)
    jobs = [job for job in await run_in_threadpool(_jobs(request).list) if _matches(job, query, after, before)]
    if query.get("sortOrder") == "Ascending":
        jobs.reverse()
    page = jobs[start : start + size]
    body: dict = {"invocationJobSummaries": [job.describe() for job in page]}
    if start + size < len(jobs):
        body["nextToken"] = str(start + size)
    return JSONResponse(body)


async def set_outcome(request: Request) -> Response:
    """Admin: `{"status": "Failed"|"PartiallyCompleted"|"Stopped"|"Expired"|"Completed", "message": ...,
    "process_fraction": 0.5}` decides how the job ends."""
    try:
        body = await _json_object(request)
        fraction = body.get("process_fraction")
        if fraction is not None and not isinstance(fraction, int | float):
            raise validation("process_fraction must be a number. [emulated]")
        outcome = Outcome(str(body.get("status")), body.get("message"), fraction)
        job = await run_in_threadpool(_jobs(request).set_outcome, request.path_params["job_id"], outcome)
    except BedrockError as error:
        return JSONResponse({"message": error.message}, status_code=error.status)
    return JSONResponse({"jobArn": job.arn, "outcome": outcome.status})


def routes() -> list[Route]:
    return [
        Route("/model-invocation-job", create_job, methods=["POST"]),
        Route("/model-invocation-jobs", list_jobs, methods=["GET"]),
        Route("/model-invocation-job/{job_id:path}/stop", stop_job, methods=["POST"]),
        Route("/model-invocation-job/{job_id:path}", get_job, methods=["GET"]),
        Route("/_emulator/jobs/{job_id:path}/outcome", set_outcome, methods=["POST"]),
    ]
