"""The batch API function: OpenAI Files and Batches over the batch lifecycle (its own function: it holds the S3,
Step Functions and batch-job rights that the model functions must never hold).

Routes: POST/GET /v1/files, GET/DELETE /v1/files/{id}, GET /v1/files/{id}/content, POST/GET /v1/batches,
GET /v1/batches/{id}, POST /v1/batches/{id}/cancel, GET /healthz.

Owner: every file and batch belongs to the API key that created it. Deployed (OWNER_SOURCE=api_key_id) that is
the usage-plan key id API Gateway puts in the request context; locally (OWNER_SOURCE=bearer) each bearer value,
hashed. All of an owner's objects live under its own prefix, so another key gets 404 and never sees them in a list.
Runs started by an S3 upload belong to the account: every key sees them (read-only).

`POST /v1/batches` starts the same state machine an S3 upload starts (`STATE_MACHINE_ARN`); locally `create_app`
is handed a starter that runs the same steps in-process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from gateway.aws import client
from gateway.file_store import content, delete_file, get_file, list_files, put_file
from gateway.http import EXCEPTION_HANDLERS, json_response, read_json
from gateway.store import NOT_STOPPABLE_CODES, error_code, get_json, put_json, stop_job
from gptoss.batch_layout import (
    STATUS_PREFIX,
    batch_request_key,
    batches_prefix,
    cancel_key,
    errors_key,
    file_keys,
    status_key,
)
from gptoss.errors import GatewayError, invalid_request
from gptoss.ids import batch_id as new_batch_id
from gptoss.ids import file_id as new_file_id
from gptoss.openai_batch import batch_object, execution_input, parse_batch_request, parse_purpose
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

FUNCTION = "batch-api"
API_BATCH_ID = re.compile(r"batch_[0-9a-f]{24}")
FILE_ID = re.compile(r"file-[0-9a-f]{24}")
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
ENDED = ("completed", "failed", "expired", "cancelled")
MAX_BODY_BYTES = 64 * 1024
Starter = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class BatchApiSettings:
    bucket: str
    state_machine_arn: str
    owner_source: str
    max_upload_bytes: int

    @classmethod
    def from_env(cls) -> BatchApiSettings:
        owner_source = os.environ.get("OWNER_SOURCE", "api_key_id")
        if owner_source not in ("api_key_id", "bearer"):
            raise ValueError(f"OWNER_SOURCE must be api_key_id or bearer, got {owner_source!r}")
        return cls(
            bucket=os.environ["BUCKET_NAME"],
            state_machine_arn=os.environ.get("STATE_MACHINE_ARN", ""),
            owner_source=owner_source,
            max_upload_bytes=int(os.environ.get("MAX_UPLOAD_BYTES", "4000000")),
        )


def owner_of(request: Request, source: str) -> str:
    """The caller's owner id: the usage-plan key id (deployed) or a hash of the bearer value (local)."""
    if source == "bearer":
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        if token:
            return "key-" + hashlib.sha256(token.encode()).hexdigest()[:32]
    else:
        context = json.loads(request.headers.get("x-amzn-request-context") or "{}")
        key_id = str((context.get("identity") or {}).get("apiKeyId") or "")
        if re.fullmatch(r"[A-Za-z0-9]{1,128}", key_id):
            return key_id
    raise GatewayError(401, "No API key identifies the caller.", type="invalid_request_error", code="invalid_api_key")


def not_found(kind: str, object_id: str) -> GatewayError:
    return GatewayError(404, f"No such {kind} object: {object_id}", param="id", code=f"{kind.lower()}_not_found")


class BatchApi:
    def __init__(self, settings: BatchApiSettings, starter: Starter | None) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self.starter = starter or self._start_execution

    @property
    def s3(self) -> Any:
        return client("s3", function=FUNCTION)

    def owner(self, request: Request) -> str:
        return owner_of(request, self.settings.owner_source)

    # --- files ------------------------------------------------------------------------------------------------------

    async def create_file(self, request: Request) -> Response:
        owner = self.owner(request)
        limit = self.settings.max_upload_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + MAX_BODY_BYTES:
            raise _too_large(limit)
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            parse_purpose(form.get("purpose"))
            if not isinstance(upload, UploadFile):
                raise invalid_request("'file' must be the uploaded file (multipart/form-data).", param="file")
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "upload.jsonl"
                path.write_bytes(await upload.read())
                if path.stat().st_size > limit:
                    raise _too_large(limit)
                filename = Path(upload.filename or "upload.jsonl").name
                created = await run_in_threadpool(
                    put_file, self.s3, self.bucket, owner, new_file_id(), path, filename=filename, purpose="batch"
                )
        return json_response(created)

    async def list_files(self, request: Request) -> Response:
        owner = self.owner(request)
        query = request.query_params
        limit = _limit(query.get("limit"), default=10_000, maximum=10_000)
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise invalid_request("'order' must be 'asc' or 'desc'.", param="order")
        files = await run_in_threadpool(list_files, self.s3, self.bucket, owner)
        if query.get("purpose"):
            files = [file for file in files if file["purpose"] == query["purpose"]]
        files.sort(key=lambda file: (file["created_at"], file["id"]), reverse=order == "desc")
        return json_response(_page(files, limit, query.get("after")))

    async def get_file(self, request: Request) -> Response:
        return json_response(await self._file(request))

    async def file_content(self, request: Request) -> Response:
        file = await self._file(request)
        body = await run_in_threadpool(content, self.s3, self.bucket, self.owner(request), file["id"])
        return StreamingResponse(_chunks(body), media_type="application/jsonl")

    async def delete_file(self, request: Request) -> Response:
        file = await self._file(request)
        await run_in_threadpool(delete_file, self.s3, self.bucket, self.owner(request), file["id"])
        return json_response({"id": file["id"], "object": "file", "deleted": True})

    async def _file(self, request: Request) -> dict[str, Any]:
        file_id = request.path_params["file_id"]
        file = None
        if FILE_ID.fullmatch(file_id):
            file = await run_in_threadpool(get_file, self.s3, self.bucket, self.owner(request), file_id)
        if file is None:
            raise not_found("File", file_id)
        return file

    # --- batches ----------------------------------------------------------------------------------------------------

    async def create_batch(self, request: Request) -> Response:
        owner = self.owner(request)
        asked = parse_batch_request(await read_json(request, MAX_BODY_BYTES))
        file_id = asked["input_file_id"]
        file = (
            await run_in_threadpool(get_file, self.s3, self.bucket, owner, file_id)
            if FILE_ID.fullmatch(file_id)
            else None
        )
        if file is None:
            raise GatewayError(404, f"No such File object: {file_id}", param="input_file_id", code="not_found")
        if file["purpose"] != "batch":
            raise invalid_request(f"File {file_id} has purpose {file['purpose']!r}, not 'batch'.", "input_file_id")
        batch_id = new_batch_id()
        record = await run_in_threadpool(self._start, owner, batch_id, asked)
        return json_response(batch_object(None, request=record))

    def _start(self, owner: str, batch_id: str, asked: dict[str, Any]) -> dict[str, Any]:
        key = file_keys(owner, asked["input_file_id"])[0]
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        record = {
            "id": batch_id,
            "owner": owner,
            "input_file_id": asked["input_file_id"],
            "metadata": asked["metadata"],
            "created_at": int(time.time()),
        }
        put_json(self.s3, self.bucket, batch_request_key(owner, batch_id), record, only_if_new=True)
        batch = {"id": batch_id, "owner": owner, "input_file_id": asked["input_file_id"]}
        self.starter(batch_id, execution_input(self.bucket, key, head["ETag"].strip('"'), head["ContentLength"], batch))
        return record

    def _start_execution(self, batch_id: str, event: dict[str, Any]) -> None:
        stepfunctions = client("stepfunctions", function=FUNCTION)
        stepfunctions.start_execution(
            stateMachineArn=self.settings.state_machine_arn, name=batch_id, input=json.dumps(event)
        )

    async def get_batch(self, request: Request) -> Response:
        owner = self.owner(request)
        batch = await run_in_threadpool(self._batch, owner, request.path_params["batch_id"])
        return json_response(batch)

    def _batch(self, owner: str, batch_id: str) -> dict[str, Any]:
        """The batch as OpenAI shows it: the owner's API batch, or a run started by an S3 upload."""
        request = None
        if API_BATCH_ID.fullmatch(batch_id):
            request = get_json(self.s3, self.bucket, batch_request_key(owner, batch_id))
            if request is None:
                raise not_found("Batch", batch_id)
        elif not RUN_NAME.fullmatch(batch_id):
            raise not_found("Batch", batch_id)
        status = get_json(self.s3, self.bucket, status_key(batch_id))
        if request is None and status is None:
            raise not_found("Batch", batch_id)
        cancel = get_json(self.s3, self.bucket, cancel_key(batch_id)) if request is not None else None
        problems = []
        if status is not None and status.get("state") == "invalid":
            problems = (get_json(self.s3, self.bucket, errors_key(batch_id)) or {}).get("problems") or []
        return batch_object(
            status,
            request=request,
            cancel_requested_at=(cancel or {}).get("at"),
            problems=problems,
        )

    async def list_batches(self, request: Request) -> Response:
        owner = self.owner(request)
        query = request.query_params
        limit = _limit(query.get("limit"), default=20, maximum=100)
        page = await run_in_threadpool(self._list_batches, owner, limit, query.get("after"))
        return json_response(page)

    def _list_batches(self, owner: str, limit: int, after: str | None) -> dict[str, Any]:
        """The owner's batches and the account's S3-upload runs, most recently created or updated first."""
        listed: list[tuple[Any, str]] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=batches_prefix(owner)):
            listed += [(item["LastModified"], item["Key"]) for item in page.get("Contents", [])]
        for page in paginator.paginate(Bucket=self.bucket, Prefix=STATUS_PREFIX, Delimiter="/"):
            listed += [
                (item["LastModified"], item["Key"])
                for item in page.get("Contents", [])
                if not API_BATCH_ID.fullmatch(_name(item["Key"]))
            ]
        listed.sort(reverse=True)
        ids = [_name(key) for _, key in listed]
        if after is not None:
            if after not in ids:
                raise invalid_request(f"after: no batch '{after}'.", param="after")
            ids = ids[ids.index(after) + 1 :]
        data = [self._batch(owner, batch_id) for batch_id in ids[:limit]]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(ids) > limit,
        }

    async def cancel_batch(self, request: Request) -> Response:
        owner = self.owner(request)
        batch = await run_in_threadpool(self._cancel, owner, request.path_params["batch_id"])
        return json_response(batch)

    def _cancel(self, owner: str, batch_id: str) -> dict[str, Any]:
        batch = self._batch(owner, batch_id)
        if not API_BATCH_ID.fullmatch(batch_id):
            message = f"{batch_id} was started by an S3 upload; stop it from the Step Functions console."
            raise invalid_request(message, param="batch_id")
        if batch["status"] in ("cancelling", "cancelled"):
            return batch
        if batch["status"] in ENDED:
            raise GatewayError(409, f"Cannot cancel a batch with status {batch['status']}.", code="batch_ended")
        marker = {"id": batch_id, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        put_json(self.s3, self.bucket, cancel_key(batch_id), marker, only_if_new=True)
        status = get_json(self.s3, self.bucket, status_key(batch_id)) or {}
        if status.get("job_arn"):
            try:
                stop_job(client("bedrock", function=FUNCTION), status["job_arn"])
            except ClientError as exc:
                if error_code(exc) not in NOT_STOPPABLE_CODES:
                    raise
        return self._batch(owner, batch_id)


def _name(key: str) -> str:
    return key.rsplit("/", 1)[-1].removesuffix(".json")


def _limit(raw: str | None, *, default: int, maximum: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise invalid_request(f"'limit' must be an integer between 1 and {maximum}.", param="limit")
    return int(raw)


def _page(items: list[dict[str, Any]], limit: int, after: str | None) -> dict[str, Any]:
    ids = [item["id"] for item in items]
    if after is not None:
        if after not in ids:
            raise invalid_request(f"after: no object '{after}'.", param="after")
        items = items[ids.index(after) + 1 :]
    data = items[:limit]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": len(items) > limit}


def _too_large(limit: int) -> GatewayError:
    message = (
        f"The file is larger than {limit} bytes, the most POST /v1/files takes; upload larger inputs to the "
        "stack's bucket instead (see the README)."
    )
    return GatewayError(413, message, code="file_too_large")


async def _chunks(body: Any) -> Any:
    try:
        while chunk := await run_in_threadpool(body.read, 1 << 20):
            yield chunk
    finally:
        body.close()


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


def create_app(*, settings: BatchApiSettings | None = None, starter: Starter | None = None) -> Starlette:
    api = BatchApi(settings or BatchApiSettings.from_env(), starter)
    routes = [
        Route("/v1/files", api.create_file, methods=["POST"]),
        Route("/v1/files", api.list_files, methods=["GET"]),
        Route("/v1/files/{file_id}", api.get_file, methods=["GET"]),
        Route("/v1/files/{file_id}", api.delete_file, methods=["DELETE"]),
        Route("/v1/files/{file_id}/content", api.file_content, methods=["GET"]),
        Route("/v1/batches", api.create_batch, methods=["POST"]),
        Route("/v1/batches", api.list_batches, methods=["GET"]),
        Route("/v1/batches/{batch_id}", api.get_batch, methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", api.cancel_batch, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)


def __getattr__(name: str) -> Any:
    """`batch_api:app` for uvicorn under the Lambda Web Adapter (built on first access, from the environment)."""
    if name == "app":
        return create_app()
    raise AttributeError(name)
