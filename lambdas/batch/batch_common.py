"""Settings, naming and S3 layout shared by the batch lifecycle functions.

The bucket layout is `gptoss.batch_layout`'s.

A name belongs to one run at a time. An upload whose name is held by a run still in progress is refused (its
`errors/<name>.json` names the conflict; the running run is untouched). Once that run has ended, a new upload of the
same name (another file, or the same file under another model folder) starts a new run that replaces its status,
results and error report.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gptoss.batch_layout import CLAIMS_PREFIX, INPUT_PREFIX, OUTPUT_PREFIX, STAGING_PREFIX
from gptoss.batch_records import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_MAX_RECORDS,
    DEFAULT_MIN_RECORDS,
    RUN_NAME_PATTERN,
    Limits,
)
from gptoss.errors import GatewayError
from gptoss.models import KNOWN_MODELS, resolve_model

NAME_PATTERN = RUN_NAME_PATTERN
# Where a run without a Bedrock job (run on demand) writes its `.out` files: `<output prefix>/on-demand/`.
ON_DEMAND_JOB_ID = "on-demand"
TERMINAL_JOB_STATUSES = ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired")
FAILED_JOB_STATUSES = ("Failed", "Stopped", "Expired")
# Run states (status/<name>.json) of a run that has not ended yet: it holds its name.
IN_PROGRESS_STATES = ("validating", "submitted", "in_progress", "stopping", "finalizing")
# The poll step stops a job still running this long after its own Bedrock timeout.
STOP_GRACE_HOURS = 12
# An execution lives at most BATCH_TIMEOUT_HOURS + this (the state machine's timeout, set in infra/batch.py).
EXECUTION_GRACE_HOURS = 36
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "InternalServerException",
        "SlowDown",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
    }
)


class TransientError(Exception):
    """A throttle or transient AWS error: the state machine retries the step with backoff."""


class BatchSettingsError(ValueError):
    """A batch function environment variable is missing or invalid."""


@dataclass(frozen=True)
class BatchSettings:
    bucket: str
    role_arn: str
    default_model: str
    enabled_models: tuple[str, ...]
    limits: Limits
    job_timeout_hours: int = 24
    poll_seconds: int = 60
    max_poll_seconds: int = 900
    on_demand_concurrency: int = 4
    on_demand_max_attempts: int = 6
    on_demand_backoff_seconds: float = 1.0
    # The "run ended" event (source and detail-type as the state machine's Notify step publishes it).
    event_source: str = ""
    event_detail_type: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BatchSettings:
        env = os.environ if env is None else env
        enabled = tuple(
            _resolve_setting(name.strip(), KNOWN_MODELS, "ENABLED_MODELS")
            for name in env.get("ENABLED_MODELS", ",".join(KNOWN_MODELS)).split(",")
            if name.strip()
        )
        default = _resolve_setting(env.get("DEFAULT_MODEL", enabled[0]), enabled, "DEFAULT_MODEL")
        return cls(
            bucket=env.get("BUCKET_NAME", ""),
            role_arn=env.get("BATCH_ROLE_ARN", ""),
            default_model=default,
            enabled_models=enabled,
            limits=Limits(
                min_records=_int(env, "BATCH_MIN_RECORDS", DEFAULT_MIN_RECORDS),
                max_records=_int(env, "BATCH_MAX_RECORDS", DEFAULT_MAX_RECORDS),
                max_file_bytes=_int(env, "BATCH_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES),
                max_record_bytes=_int(env, "BATCH_MAX_RECORD_BYTES", DEFAULT_MAX_RECORD_BYTES),
            ),
            job_timeout_hours=_int(env, "BATCH_TIMEOUT_HOURS", 24),
            poll_seconds=_int(env, "BATCH_POLL_SECONDS", 60, minimum=0),
            max_poll_seconds=_int(env, "BATCH_MAX_POLL_SECONDS", 900, minimum=0),
            on_demand_concurrency=_int(env, "BATCH_ON_DEMAND_CONCURRENCY", 4),
            on_demand_max_attempts=_int(env, "BATCH_ON_DEMAND_MAX_ATTEMPTS", 6),
            on_demand_backoff_seconds=_int(env, "BATCH_ON_DEMAND_BACKOFF_MS", 1000, minimum=0) / 1000,
            event_source=env.get("BATCH_EVENT_SOURCE", ""),
            event_detail_type=env.get("BATCH_EVENT_DETAIL_TYPE", ""),
        )


def _resolve_setting(name: str, enabled: tuple[str, ...], variable: str) -> str:
    try:
        return resolve_model(name, enabled)
    except GatewayError:
        raise BatchSettingsError(f"{variable}: model {name!r} is not one of {', '.join(enabled)}") from None


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BatchSettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise BatchSettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Source:
    """The uploaded object a run is about."""

    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None
    # A batch created through the API: its id. One file may feed several batches, each its own run and job.
    batch_id: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def digest(self) -> str:
        """Idempotency key: the same bucket/key/etag (and API batch) always maps to the same job."""
        scope = f"/{self.batch_id}" if self.batch_id else ""
        return hashlib.sha256(f"{self.bucket}/{self.key}/{self.etag}{scope}".encode()).hexdigest()


def source_from_event(event: Mapping[str, Any]) -> Source:
    """The object from an EventBridge S3 "Object Created" event, or from a batch created through the API (same
    `detail.bucket` / `detail.object` shape, plus `detail.batch`: see `api_batch`)."""
    detail = event["detail"]
    obj = detail["object"]
    return Source(
        bucket=detail["bucket"]["name"],
        key=obj["key"],
        etag=str(obj.get("etag", "")).strip('"'),
        size=int(obj.get("size", 0)),
        version_id=obj.get("version-id"),
        batch_id=(detail.get("batch") or {}).get("id"),
    )


def run_source(run: Mapping[str, Any]) -> Source:
    """The input object of a run (the state machine carries it in `$.run`)."""
    return Source(
        run["bucket"],
        run["key"],
        run["etag"],
        run["size"],
        run.get("version_id"),
        (run.get("api") or {}).get("id"),
    )


def api_batch(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """`{"id", "owner", "input_file_id"}` of a run started by POST /v1/batches, None for an S3 upload."""
    return event["detail"].get("batch")


def event_target(event: Mapping[str, Any], settings: BatchSettings) -> RunTarget:
    """The run an execution input is about: an API batch is named by its id (its model is known once validated)."""
    batch = api_batch(event)
    if batch is not None:
        return RunTarget(batch["id"], settings.default_model)
    return run_target(event["detail"]["object"]["key"], settings)


@dataclass(frozen=True)
class RunTarget:
    """What a key asks for: the run name and model, or why the key itself is unusable."""

    name: str
    model: str
    problem: str | None = None


def run_target(key: str, settings: BatchSettings) -> RunTarget:
    """`input/[<model>/]<name>.jsonl` → run name and Bedrock model id."""
    parts = key.removeprefix(INPUT_PREFIX).split("/")
    filename = parts[-1]
    stem = filename[: -len(".jsonl")] if filename.endswith(".jsonl") else filename
    name = stem if NAME_PATTERN.fullmatch(stem) else re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip("._-")[:100] or "run"
    problem = None
    if name != stem:
        problem = (
            f"file name {filename!r}: use only letters, digits, '.', '-' and '_' (starting with a letter or digit)"
        )
    folders = parts[:-1]
    if not folders:
        return RunTarget(name, settings.default_model, problem)
    try:
        model = resolve_model(folders[0], settings.enabled_models)
    except GatewayError:
        enabled = ", ".join(settings.enabled_models)
        return RunTarget(
            name, settings.default_model, f"model folder {folders[0]!r} is not an enabled model ({enabled})"
        )
    if len(folders) > 1:
        problem = problem or f"key {key!r}: put files at input/<name>.jsonl or input/<model>/<name>.jsonl"
    return RunTarget(name, model, problem)


def job_name(name: str, source: Source) -> str:
    """Deterministic Bedrock job name (pattern `[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\\-.]){0,63}`, max 63 chars)."""
    safe = re.sub(r"[^A-Za-z0-9.-]", "-", name)[:40].strip("-.") or "run"
    return f"gptoss-{safe}-{source.digest[:12]}"


def staging_key(name: str, source: Source) -> str:
    """Where the validate step stages the records Bedrock reads: deterministic per bucket/key/etag, keeping the file
    name (Bedrock names its output `<file>.out`)."""
    return f"{STAGING_PREFIX}{name}/{source.digest[:12]}/{source.key.rsplit('/', 1)[-1]}"


def staged_input_key(run: Mapping[str, Any]) -> str:
    """The records a run's job reads: `staged_key`; for a run validated before validation staged them (started by an
    earlier version of the gateway), the same key, where that version's submit step copied the upload."""
    return run.get("staged_key") or staging_key(run["name"], run_source(run))


def output_prefix(name: str, source: Source) -> str:
    return f"{OUTPUT_PREFIX}{name}/{source.digest[:12]}/"


def claim_key(source: Source) -> str:
    return f"{CLAIMS_PREFIX}{source.digest}.json"


def run_state(job_status: str) -> str:
    """Our run state for a Bedrock job status (terminal statuses map to their snake_case name)."""
    if job_status in TERMINAL_JOB_STATUSES:
        return re.sub(r"(?<!^)([A-Z])", r"_\1", job_status).lower()
    return "stopping" if job_status == "Stopping" else "in_progress"


def holds_name(status: dict[str, Any], execution: str, settings: BatchSettings) -> bool:
    """True for another execution's run that has not ended (and could still be running: younger than an execution's
    longest life, so a run whose error report itself failed does not hold its name forever)."""
    if status.get("execution") == execution or status.get("state") not in IN_PROGRESS_STATES:
        return False
    try:
        created = datetime.fromisoformat(str(status.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        return True
    longest = timedelta(hours=settings.job_timeout_hours + EXECUTION_GRACE_HOURS)
    return datetime.now(UTC) - created < longest
