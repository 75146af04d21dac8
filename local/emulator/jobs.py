"""Batch inference jobs (bedrock control plane): validation, idempotency, and the status life cycle.

A job moves Submitted → InProgress → its outcome (Completed unless told otherwise). By default it advances one state
per GetModelInvocationJob call (`polls_per_state`); with `seconds_per_state` it advances by wall-clock time instead.
The outcome can be set through `set_outcome` (admin route) or a `[job:Status]` / `[job:Status:fraction]` directive in
the first input record. Records are processed, and outputs written to S3, when the job reaches its final state.
"""

import hashlib
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from local.emulator import batch
from local.emulator.errors import INVALID_MODEL_MESSAGE, BedrockError, validation

ACCOUNT = "123456789012"
TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
DEFAULT_FRACTION = {"Completed": 1.0, "PartiallyCompleted": 0.5, "Stopped": 0.5, "Failed": 0.0, "Expired": 0.0}
DEFAULT_MESSAGE = {
    "Failed": "The batch inference job failed. [emulated]",
    "PartiallyCompleted": "Not all records were processed before the job timed out. [emulated]",
    "Stopped": "The job was stopped. [emulated]",
    "Expired": "The job expired before it could start. [emulated]",
}
_JOB_NAME = re.compile(r"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}")
_ROLE_ARN = re.compile(r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+")
_S3_URI = re.compile(r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?")
_TOKEN = re.compile(r"[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}")
_IDENTIFIER = re.compile(r"((arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job/)?[a-z0-9]{12})")


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str | None = None
    process_fraction: float | None = None

    def fraction(self) -> float:
        return DEFAULT_FRACTION[self.status] if self.process_fraction is None else self.process_fraction


@dataclass
class Job:
    job_id: str
    arn: str
    request: dict
    submitted: datetime
    status: str = "Submitted"
    message: str | None = None
    modified: datetime | None = None
    ended: datetime | None = None
    polls: int = 0
    outcome: Outcome | None = None
    stop_requested: bool = False
    files: list[batch.InputFile] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.request["jobName"]

    def describe(self) -> dict:
        """The GetModelInvocationJob response / a ListModelInvocationJobs summary."""
        request = self.request
        hours = request.get("timeoutDurationInHours", 24)
        fields = {
            "jobArn": self.arn,
            "jobName": self.name,
            "modelId": request["modelId"],
            "clientRequestToken": request.get("clientRequestToken"),
            "roleArn": request["roleArn"],
            "status": self.status,
            "message": self.message,
            "submitTime": _iso(self.submitted),
            "lastModifiedTime": _iso(self.modified or self.submitted),
            "endTime": _iso(self.ended) if self.ended else None,
            "inputDataConfig": request["inputDataConfig"],
            "outputDataConfig": request["outputDataConfig"],
            "vpcConfig": request.get("vpcConfig"),
            "timeoutDurationInHours": hours,
            "jobExpirationTime": _iso(self.submitted + timedelta(hours=hours)),
            "modelInvocationType": request.get("modelInvocationType", "InvokeModel"),
            **self.counts,
        }
        return {key: value for key, value in fields.items() if value is not None}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _now() -> datetime:
    return datetime.now(UTC)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise validation(message)


def validate_create(request: dict, models: frozenset[str]) -> None:
    """CreateModelInvocationJob checks that botocore does not do client-side (patterns, ranges, model ids)."""
    name = request.get("jobName", "")
    _require(bool(_JOB_NAME.fullmatch(name)) and len(name) <= 63, f"Invalid jobName {name!r}. [emulated]")
    _require(bool(_ROLE_ARN.fullmatch(request.get("roleArn", ""))), "Invalid roleArn. [emulated]")
    model = request.get("modelId", "").rsplit("/", 1)[-1]
    _require(model in models, INVALID_MODEL_MESSAGE)
    source = (request.get("inputDataConfig") or {}).get("s3InputDataConfig") or {}
    _require(bool(_S3_URI.fullmatch(source.get("s3Uri", ""))), "Invalid input s3Uri. [emulated]")
    _require(source.get("s3InputFormat", "JSONL") == "JSONL", "s3InputFormat must be JSONL. [emulated]")
    target = (request.get("outputDataConfig") or {}).get("s3OutputDataConfig") or {}
    _require(bool(_S3_URI.fullmatch(target.get("s3Uri", ""))), "Invalid output s3Uri. [emulated]")
    hours = request.get("timeoutDurationInHours", 24)
    _require(isinstance(hours, int) and 24 <= hours <= 168, "timeoutDurationInHours must be 24-168. [emulated]")
    kind = request.get("modelInvocationType", "InvokeModel")
    _require(kind in ("InvokeModel", "Converse"), "modelInvocationType must be InvokeModel or Converse. [emulated]")
    token = request.get("clientRequestToken")
    _require(token is None or bool(_TOKEN.fullmatch(token)), "Invalid clientRequestToken. [emulated]")


class JobStore:
    """All jobs of one emulator. Thread-safe; S3 work happens inside calls, under the lock."""

    def __init__(
        self,
        *,
        models: frozenset[str],
        region: str = "us-west-2",
        polls_per_state: int = 1,
        seconds_per_state: float | None = None,
    ) -> None:
        self.models = models
        self.region = region
        self.polls_per_state = polls_per_state
        self.seconds_per_state = seconds_per_state
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}

    def reset(self) -> None:
        with self._lock:
            self._jobs.clear()

    def create(self, request: dict) -> Job:
        validate_create(request, self.models)
        token = request.get("clientRequestToken") or uuid.uuid4().hex
        with self._lock:
            same_token = next((j for j in self._jobs.values() if j.request.get("clientRequestToken") == token), None)
            if same_token is not None:
                if same_token.request != {**request, "clientRequestToken": token}:
                    raise BedrockError("ConflictException", "The clientRequestToken was used with other parameters.")
                return same_token
            if any(job.name == request["jobName"] for job in self._jobs.values()):
                raise validation("The provided job name is currently in use.")
            job_id = hashlib.sha256(f"{token}/{request['jobName']}".encode()).hexdigest()[:12]
            arn = f"arn:aws:bedrock:{self.region}:{ACCOUNT}:model-invocation-job/{job_id}"
            job = Job(job_id, arn, {**request, "clientRequestToken": token}, _now())
            self._jobs[job_id] = job
            return job

    def find(self, identifier: str) -> Job:
        if not _IDENTIFIER.fullmatch(identifier):
            raise validation(f"Invalid job identifier {identifier!r}. [emulated]")
        job = self._jobs.get(identifier.rsplit("/", 1)[-1])
        if job is None:
            raise BedrockError("ResourceNotFoundException", f"Model invocation job {identifier} not found. [emulated]")
        return job

    def get(self, identifier: str) -> Job:
        """GetModelInvocationJob: counts as a poll, which may advance the job."""
        with self._lock:
            job = self.find(identifier)
            job.polls += 1
            self._advance(job)
            return job

    def list(self) -> list[Job]:
        with self._lock:
            for job in self._jobs.values():
                if self.seconds_per_state is not None:
                    self._advance(job)
            return sorted(self._jobs.values(), key=lambda j: j.submitted, reverse=True)

    def stop(self, identifier: str) -> None:
        with self._lock:
            job = self.find(identifier)
            if job.status in TERMINAL or job.status == "Stopping":
                raise validation(f"The job cannot be stopped in its current state ({job.status}). [emulated]")
            job.stop_requested = True
            job.status, job.modified = "Stopping", _now()

    def set_outcome(self, identifier: str, outcome: Outcome) -> Job:
        if outcome.status not in DEFAULT_FRACTION:
            raise validation(f"Unknown outcome {outcome.status!r}. [emulated]")
        with self._lock:
            job = self.find(identifier)
            job.outcome = outcome
            return job

    def _step(self, job: Job) -> int:
        if self.seconds_per_state is not None:
            elapsed = (_now() - job.submitted).total_seconds()
            return int(elapsed // self.seconds_per_state) if self.seconds_per_state > 0 else 2
        return job.polls // self.polls_per_state if self.polls_per_state > 0 else 2

    def _advance(self, job: Job) -> None:
        if job.status in TERMINAL:
            return
        if job.stop_requested:
            self._start(job)
            self._finish(job, Outcome("Stopped", *_outcome_details(job.outcome, "Stopped")))
            return
        step = self._step(job)
        if step >= 1 and job.status == "Submitted":
            self._start(job)
        if step >= 2 and job.status not in TERMINAL:
            self._finish(job, job.outcome or Outcome("Completed"))

    def _start(self, job: Job) -> None:
        """Read the input (once): record count and any `[job:...]` directive; a read failure fails the job."""
        if job.files or job.status in TERMINAL or "totalRecordCount" in job.counts:
            return
        uri = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        try:
            job.files = batch.read_inputs(uri, self.region)
        except (ClientError, BotoCoreError) as error:
            self._end(job, "Failed", f"Unable to read the input data at {uri}: {error} [emulated]")
            return
        total = sum(len(f.lines) for f in job.files)
        job.counts = {"totalRecordCount": total, "processedRecordCount": 0}
        job.counts.update(successRecordCount=0, errorRecordCount=0)
        directive = batch.job_directive(job.files)
        if directive and job.outcome is None and directive[0] in DEFAULT_FRACTION:
            job.outcome = Outcome(directive[0], None, directive[1])
        expiring = job.outcome is not None and job.outcome.status == "Expired"
        if job.status == "Submitted":
            job.status, job.modified = ("Scheduled" if expiring else "InProgress"), _now()

    def _finish(self, job: Job, outcome: Outcome) -> None:
        if job.status in TERMINAL:
            return
        total = job.counts.get("totalRecordCount", 0)
        limit = total if outcome.status == "Completed" else int(total * max(0.0, min(outcome.fraction(), 1.0)))
        if limit or outcome.status == "Completed":
            kind = job.request.get("modelInvocationType", "InvokeModel")
            model_id = job.request["modelId"].rsplit("/", 1)[-1]
            totals = batch.run_records(job.files, limit, model_id, kind)
            output_uri = job.request["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
            try:
                batch.write_outputs(output_uri, job.job_id, totals, total, self.region)
            except (ClientError, BotoCoreError) as error:
                self._end(job, "Failed", f"Unable to write the output to {output_uri}: {error} [emulated]")
                return
            job.counts.update(processedRecordCount=totals.processed, successRecordCount=totals.succeeded)
            job.counts["errorRecordCount"] = totals.failed
        self._end(job, outcome.status, outcome.message or DEFAULT_MESSAGE.get(outcome.status))

    def _end(self, job: Job, status: str, message: str | None) -> None:
        job.status, job.message = status, message
        job.modified = job.ended = _now()


def _outcome_details(outcome: Outcome | None, status: str) -> tuple[str | None, float | None]:
    """Message and fraction for a user-requested stop, taken from an outcome set for Stopped if any."""
    if outcome is not None and outcome.status == status:
        return outcome.message, outcome.process_fraction
    return None, None
