"""`make local`'s batch side: the Files and Batches routes, a local store, and the batch steps run in-process.

- Store: moto's S3 server on a free loopback port (in memory: gone when `make local` stops), reached through
  AWS_ENDPOINT_URL_S3 by the batch API app, the batch steps and the emulator's batch jobs alike.
- Control plane: the Bedrock emulator's batch jobs (AWS_ENDPOINT_URL_BEDROCK), so `[job:Failed]`-style directives
  drive every terminal state; small files run on demand through the same runtime endpoint as the chat routes.
- Orchestration: `LocalBatch.start` stands in for Step Functions, calling the state machine's steps (the very
  handlers the deployed functions run) in the definition's order, in a background thread; a step that raises goes
  to the report step, as the definition's catch-all does.
- Uploads: a watcher stands in for the S3 → EventBridge rule: each new version of an `input/**.jsonl` object in the
  store starts a run, with the event S3 would send. `GET /_local/batch` on the local server tells
  `gptoss batch submit --local` (or anyone) the store's endpoint and bucket, so an upload runs as it would deployed.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from gptoss.batch_layout import INPUT_PREFIX
from moto.server import ThreadedMotoServer
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from local.server import LOCAL_STORE_PATH

LAMBDAS = Path(__file__).resolve().parents[1] / "lambdas"
BUCKET = "gptoss-local"
# Shape-checked by the emulator like a real role ARN; nothing assumes it locally.
LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/gptoss-local-batch"


def lambda_module(directory: str, name: str) -> ModuleType:
    """A function's module (lambdas/<fn>/<name>.py), importable here as in Lambda where it sits at the root."""
    path = str(LAMBDAS / directory)
    if path not in sys.path:
        sys.path.append(path)
    return importlib.import_module(name)


class LocalBatch:
    """The local store and step runner; enter it before serving `app()`."""

    def __init__(
        self,
        emulator_url: str,
        *,
        poll_seconds: int = 1,
        max_upload_bytes: int = 4_000_000,
        watch_seconds: float = 1.0,
    ) -> None:
        self.emulator_url = emulator_url
        self.poll_seconds = poll_seconds
        self.max_upload_bytes = max_upload_bytes
        self.watch_seconds = watch_seconds
        self._store = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch_uploads, name="batch-uploads", daemon=True)

    def __enter__(self) -> LocalBatch:
        self._store.start()
        host, port = self._store.get_host_and_port()
        self.store_url = f"http://{host}:{port}"
        defaults = {
            "BUCKET_NAME": BUCKET,
            "BATCH_ROLE_ARN": LOCAL_ROLE_ARN,
            "BATCH_POLL_SECONDS": str(self.poll_seconds),
            "BATCH_MAX_POLL_SECONDS": str(self.poll_seconds),
        }
        for name, value in defaults.items():
            os.environ.setdefault(name, value)
        os.environ["AWS_ENDPOINT_URL_S3"] = self.store_url
        os.environ["AWS_ENDPOINT_URL_BEDROCK"] = self.emulator_url
        s3 = boto3.client("s3", endpoint_url=self.store_url)
        region = s3.meta.region_name
        where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=os.environ["BUCKET_NAME"], **where)
        s3.put_bucket_versioning(Bucket=os.environ["BUCKET_NAME"], VersioningConfiguration={"Status": "Enabled"})
        self._watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._watcher.join(10)
        for thread in self._threads:
            thread.join(10)
        self._store.stop()

    def app(self) -> ASGIApp:
        """The batch API function's app, each bearer value its own owner, starting runs through `start`; plus the
        store's description for `gptoss batch submit --local`."""
        batch_api = lambda_module("batch_api", "batch_api")
        settings = batch_api.BatchApiSettings(os.environ["BUCKET_NAME"], "", "bearer", self.max_upload_bytes)
        app = batch_api.create_app(settings=settings, starter=self.start)
        app.router.routes.append(Route(LOCAL_STORE_PATH, self._describe_store, methods=["GET"]))
        return app

    async def _describe_store(self, request: Request) -> JSONResponse:
        settings = lambda_module("batch", "batch_common").BatchSettings.from_env()
        return JSONResponse(
            {
                "bucket": os.environ["BUCKET_NAME"],
                "s3_endpoint": self.store_url,
                "region": boto3.session.Session().region_name or "us-east-1",
                "min_records": settings.limits.min_records,
            }
        )

    def start(self, name: str, event: dict[str, Any]) -> None:
        """Run a batch's steps in the background, as StartExecution would."""
        thread = threading.Thread(target=self.run, args=(event, f"local:{name}"), name=f"batch-{name}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _watch_uploads(self) -> None:
        """Start a run for each new version of an `input/**.jsonl` object, as the deployed EventBridge rule does."""
        s3 = boto3.client("s3", endpoint_url=self.store_url)
        bucket = os.environ["BUCKET_NAME"]
        seen: set[str] = set()
        while not self._stopping.wait(self.watch_seconds):
            try:
                pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=INPUT_PREFIX)
                versions = [version for page in pages for version in page.get("Versions", [])]
            except (BotoCoreError, ClientError) as exc:
                print(f"local batch: cannot list {INPUT_PREFIX} in the local store: {exc}", file=sys.stderr)
                continue
            for version in versions:
                if not version["Key"].endswith(".jsonl") or version["VersionId"] in seen:
                    continue
                seen.add(version["VersionId"])
                event = object_created(bucket, version["Key"], version["ETag"], version["Size"], version["VersionId"])
                self.start(f"{version['Key']}@{version['VersionId']}", event)

    def run(self, event: dict[str, Any], execution: str) -> dict[str, Any]:
        """The state machine's path through the steps for one input; returns the final state."""
        step = {name: lambda_module("batch", name).handler for name in STEPS}
        state: dict[str, Any] = {"event": event, "execution": execution}
        try:
            run = state["run"] = step["batch_validate"](state)
            if run["duplicate"] or not run["valid"]:
                return state
            if run["on_demand"]:
                job: dict[str, Any] = {}
                while not job.get("done"):
                    job = state["job"] = step["batch_on_demand"]({"run": run, "job": job})
            else:
                job = state["job"] = step["batch_submit"]({"run": run})
                while not job["done"]:
                    time.sleep(job["wait_seconds"])
                    job = state["job"] = step["batch_check"]({"run": run, "job": job})
            state["outcome"] = step["batch_collect"]({"run": run, "job": job})
        except Exception as exc:  # the definition's catch-all: States.ALL → ReportError
            cause = json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)})
            state["outcome"] = step["batch_report"]({**state, "error": {"Error": type(exc).__name__, "Cause": cause}})
        return state


def object_created(bucket: str, key: str, etag: str, size: int, version_id: str) -> dict[str, Any]:
    """The EventBridge event S3 sends for a new object (the fields the batch steps read)."""
    obj = {"key": key, "etag": etag.strip('"'), "size": size, "version-id": version_id}
    return {"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": bucket}, "object": obj}}


STEPS = ("batch_validate", "batch_submit", "batch_check", "batch_on_demand", "batch_collect", "batch_report")
