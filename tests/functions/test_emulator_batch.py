"""The emulator's bedrock control plane runs batch jobs against S3 (moto) the way Bedrock lays out results."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local.emulator import jobs
from local.emulator.server import EmulatorServer

MODEL = "openai.gpt-oss-120b-1:0"
BUCKET = "batch-bucket"
ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[BaseClient]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-west-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        yield client


@pytest.fixture(scope="module")
def emulator(moto_s3: BaseClient) -> Iterator[EmulatorServer]:
    """Started inside moto's mock (the `moto_s3` fixture): its jobs read and write that S3."""
    with EmulatorServer(port=0, chunk_delay=0.0) as emu:
        yield emu


@pytest.fixture(scope="module")
def module_bedrock(emulator: EmulatorServer) -> BaseClient:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("bedrock", endpoint_url=emulator.url, region_name="us-west-2", config=config)


@pytest.fixture
def s3(moto_s3: BaseClient) -> BaseClient:
    """The moto S3 client, with the bucket emptied."""
    for page in moto_s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            moto_s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    return moto_s3


@pytest.fixture
def emu(emulator: EmulatorServer) -> EmulatorServer:
    httpx.post(f"{emulator.url}/_emulator/reset")
    return emulator


@pytest.fixture
def bedrock(emu: EmulatorServer, s3: BaseClient, module_bedrock: BaseClient) -> BaseClient:
    """The bedrock client, against a reset emulator and an emptied bucket."""
    return module_bedrock


def _record(record_id: str, text: str) -> str:
    return json.dumps({"recordId": record_id, "modelInput": {"messages": [{"role": "user", "content": text}]}})


def _upload(s3: BaseClient, key: str, lines: list[str]) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=("\n".join(lines) + "\n").encode())
    return f"s3://{BUCKET}/{key}"


def _create(bedrock: BaseClient, input_uri: str, name: str = "job1", **extra: object) -> str:
    return bedrock.create_model_invocation_job(
        jobName=name,
        roleArn=ROLE,
        modelId=MODEL,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/output/"}},
        **extra,
    )["jobArn"]


def _poll_to_end(bedrock: BaseClient, arn: str) -> list[dict]:
    states = []
    for _ in range(10):
        job = bedrock.get_model_invocation_job(jobIdentifier=arn)
        states.append(job)
        if job["status"] in {"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"}:
            return states
    raise AssertionError("job never ended")


def _read_lines(s3: BaseClient, key: str) -> list[dict]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def test_job_runs_to_completion_and_writes_bedrock_layout(bedrock: BaseClient, s3: BaseClient) -> None:
    # Given an input file of three records, one of which faults
    lines = [_record("r1", "hello"), _record("r2", "boom [fault:ModelErrorException]"), _record("r3", "bye")]
    arn = _create(bedrock, _upload(s3, "input/prompts.jsonl", lines))

    # When the job is polled until it ends
    states = _poll_to_end(bedrock, arn)

    # Then it went Submitted → InProgress → Completed with counts
    assert [s["status"] for s in states] == ["InProgress", "Completed"]
    final = states[-1]
    assert (final["totalRecordCount"], final["processedRecordCount"]) == (3, 3)
    assert (final["successRecordCount"], final["errorRecordCount"]) == (2, 1)
    assert final["endTime"] and final["modelId"] == MODEL

    # And the output file and manifest sit under <output>/<jobId>/
    job_id = arn.rsplit("/", 1)[1]
    out = _read_lines(s3, f"output/{job_id}/prompts.jsonl.out")
    assert [line["recordId"] for line in out] == ["r1", "r2", "r3"]
    assert out[0]["modelOutput"]["object"] == "chat.completion"
    assert out[0]["modelOutput"]["choices"][0]["message"]["content"].startswith("<reasoning>")
    assert out[1]["error"]["errorCode"] == 424 and "modelOutput" not in out[1]
    (manifest,) = _read_lines(s3, f"output/{job_id}/manifest.json.out")
    assert manifest["totalRecordCount"] == 3 and manifest["successRecordCount"] == 2
    assert manifest["errorRecordCount"] == 1 and manifest["inputTokenCount"] > 0 and manifest["outputTokenCount"] > 0


def test_job_arn_has_bedrocks_shape_and_get_accepts_id_or_arn(bedrock: BaseClient, s3: BaseClient) -> None:
    # Given a created job
    arn = _create(bedrock, _upload(s3, "input/a.jsonl", [_record("r1", "hi")]))

    # Then its ARN has Bedrock's form and both the ARN and bare id find it
    prefix, job_id = arn.rsplit("/", 1)
    assert prefix == "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job"
    assert re.fullmatch(r"[0-9a-z]{12}", job_id), job_id
    assert bedrock.get_model_invocation_job(jobIdentifier=job_id)["jobArn"] == arn


def test_same_client_request_token_returns_the_same_job(bedrock: BaseClient, s3: BaseClient) -> None:
    # Given two creates with the same token and parameters
    uri = _upload(s3, "input/a.jsonl", [_record("r1", "hi")])
    first = _create(bedrock, uri, clientRequestToken="token-1")
    second = _create(bedrock, uri, clientRequestToken="token-1")

    # Then one job exists
    assert first == second
    assert len(bedrock.list_model_invocation_jobs()["invocationJobSummaries"]) == 1


def test_reused_job_name_with_new_token_is_rejected(bedrock: BaseClient, s3: BaseClient) -> None:
    # Given a job name already in use
    uri = _upload(s3, "input/a.jsonl", [_record("r1", "hi")])
    _create(bedrock, uri, name="dup")

    # When another job is created with it, Then Bedrock's ValidationException
    with pytest.raises(ClientError) as caught:
        _create(bedrock, uri, name="dup")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"jobName": "-bad name"}, "jobName"),
        ({"modelId": "openai.gpt-oss-999b-1:0"}, "model identifier is invalid"),
        ({"roleArn": "not-a-role-arn-at-all"}, "roleArn"),
    ],
    ids=["job-name", "model", "role"],
)
def test_create_validates_like_bedrock(bedrock: BaseClient, override: dict, fragment: str) -> None:
    # Given a create request with one invalid field
    request = {
        "jobName": "ok",
        "roleArn": ROLE,
        "modelId": MODEL,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/input/a.jsonl"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/output/"}},
        **override,
    }

    # When created, Then a ValidationException names it
    with pytest.raises(ClientError) as caught:
        bedrock.create_model_invocation_job(**request)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert fragment in caught.value.response["Error"]["Message"]


def test_unknown_job_is_not_found(bedrock: BaseClient) -> None:
    # Given no such job, When fetched, Then ResourceNotFoundException
    with pytest.raises(ClientError) as caught:
        bedrock.get_model_invocation_job(jobIdentifier="abcdefabcdef")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("status", "fraction", "processed"),
    [("PartiallyCompleted", 0.5, 2), ("Stopped", 0.25, 1), ("Expired", None, 0), ("Failed", None, 0)],
)
def test_admin_outcome_ends_job_with_a_fraction_processed(
    bedrock: BaseClient,
    s3: BaseClient,
    emu: EmulatorServer,
    status: str,
    fraction: float | None,
    processed: int,
) -> None:
    # Given a four-record job told how to end
    arn = _create(bedrock, _upload(s3, "input/four.jsonl", [_record(f"r{n}", "hi") for n in range(4)]))
    outcome = {"status": status, "message": f"told to end {status}", "process_fraction": fraction}
    reply = httpx.post(f"{emu.url}/_emulator/jobs/{arn}/outcome", json=outcome)
    assert reply.status_code == 200

    # When polled to the end
    final = _poll_to_end(bedrock, arn)[-1]

    # Then it ends in that state with that message, having processed only that fraction
    assert final["status"] == status and final["message"] == f"told to end {status}"
    assert final["totalRecordCount"] == 4 and final["processedRecordCount"] == processed
    job_id = arn.rsplit("/", 1)[1]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"output/{job_id}/").get("Contents", [])]
    if processed:
        assert len(_read_lines(s3, f"output/{job_id}/four.jsonl.out")) == processed
        assert _read_lines(s3, f"output/{job_id}/manifest.json.out")[0]["processedRecordCount"] == processed
    else:
        assert keys == []


def test_directive_in_first_record_sets_outcome(bedrock: BaseClient, s3: BaseClient) -> None:
    # Given a first record asking the job to fail
    arn = _create(bedrock, _upload(s3, "input/f.jsonl", [_record("r1", "[job:Failed]"), _record("r2", "x")]))

    # When polled to the end, Then it failed without output
    final = _poll_to_end(bedrock, arn)[-1]
    assert final["status"] == "Failed" and final["message"]
    assert final["processedRecordCount"] == 0


def test_stop_ends_job_stopped(bedrock: BaseClient, s3: BaseClient) -> None:
    # Given a running job
    arn = _create(bedrock, _upload(s3, "input/s.jsonl", [_record(f"r{n}", "hi") for n in range(4)]))
    assert bedrock.get_model_invocation_job(jobIdentifier=arn)["status"] == "InProgress"

    # When stopped
    bedrock.stop_model_invocation_job(jobIdentifier=arn)

    # Then the next Get shows it Stopped with part of the records processed, and it cannot be stopped again
    final = bedrock.get_model_invocation_job(jobIdentifier=arn)
    assert final["status"] == "Stopped" and 0 < final["processedRecordCount"] < 4
    with pytest.raises(ClientError):
        bedrock.stop_model_invocation_job(jobIdentifier=arn)


def test_missing_input_fails_the_job(bedrock: BaseClient) -> None:
    # Given a job whose input object does not exist
    arn = _create(bedrock, f"s3://{BUCKET}/input/missing.jsonl")

    # When polled, Then it fails with a message naming the input
    final = _poll_to_end(bedrock, arn)[-1]
    assert final["status"] == "Failed" and "missing.jsonl" in final["message"]


def test_list_filters_by_status_and_name(bedrock: BaseClient, s3: BaseClient) -> None:
    # Given one finished and one fresh job
    uri = _upload(s3, "input/a.jsonl", [_record("r1", "hi")])
    done = _create(bedrock, uri, name="alpha-done")
    _poll_to_end(bedrock, done)
    _create(bedrock, uri, name="beta-new")

    # When listed with filters
    def names(**filters: str) -> list[str]:
        return [s["jobName"] for s in bedrock.list_model_invocation_jobs(**filters)["invocationJobSummaries"]]

    # Then the filters apply and the newest comes first
    assert names() == ["beta-new", "alpha-done"]
    assert names(statusEquals="Completed") == ["alpha-done"]
    assert names(nameContains="beta") == ["beta-new"]


def test_converse_type_job_writes_converse_outputs(bedrock: BaseClient, s3: BaseClient) -> None:
    # Given a Converse-type job
    record = {"recordId": "c1", "modelInput": {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}}
    arn = _create(bedrock, _upload(s3, "input/c.jsonl", [json.dumps(record)]), modelInvocationType="Converse")

    # When it completes
    _poll_to_end(bedrock, arn)

    # Then each output is a Converse response
    (line,) = _read_lines(s3, f"output/{arn.rsplit('/', 1)[1]}/c.jsonl.out")
    assert line["modelOutput"]["stopReason"] == "end_turn"
    assert "reasoningContent" in line["modelOutput"]["output"]["message"]["content"][0]


def test_jobs_can_finish_on_first_poll(s3: BaseClient) -> None:
    # Given an emulator configured to finish jobs immediately
    with EmulatorServer(port=0, job_polls_per_state=0) as emu:
        bedrock = boto3.client("bedrock", endpoint_url=emu.url, region_name="us-west-2")
        arn = _create(bedrock, _upload(s3, "input/a.jsonl", [_record("r1", "hi")]))

        # When polled once, Then it is already Completed
        assert bedrock.get_model_invocation_job(jobIdentifier=arn)["status"] == "Completed"


def test_queued_fault_can_target_create_job(bedrock: BaseClient, s3: BaseClient, emu: EmulatorServer) -> None:
    # Given one throttle queued for CreateModelInvocationJob
    reply = httpx.post(
        f"{emu.url}/_emulator/faults",
        json={"fault": "ThrottlingException", "count": 1, "operation": "CreateModelInvocationJob"},
    )
    assert reply.status_code == 200
    uri = _upload(s3, "input/a.jsonl", [_record("r1", "hi")])

    # When a job is created twice with the same token
    with pytest.raises(ClientError) as caught:
        _create(bedrock, uri, clientRequestToken="t1")
    arn = _create(bedrock, uri, clientRequestToken="t1")

    # Then the first attempt is throttled and the second creates the job
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert bedrock.get_model_invocation_job(jobIdentifier=arn)["jobName"] == "job1"


def test_jobs_can_advance_by_time(s3: BaseClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an emulator whose jobs advance one state per minute, and a controllable clock
    start = datetime(2025, 1, 1, tzinfo=UTC)
    monkeypatch.setattr(jobs, "_now", lambda: start)
    with EmulatorServer(port=0, job_seconds_per_state=60) as emu:
        bedrock = boto3.client("bedrock", endpoint_url=emu.url, region_name="us-west-2")
        arn = _create(bedrock, _upload(s3, "input/a.jsonl", [_record("r1", "hi")]))

        # When polled at 0 s, 61 s and 121 s
        statuses = []
        for seconds in (0, 61, 121):
            monkeypatch.setattr(jobs, "_now", lambda seconds=seconds: start + timedelta(seconds=seconds))
            statuses.append(bedrock.get_model_invocation_job(jobIdentifier=arn)["status"])

    # Then the state follows the clock, not the number of polls
    assert statuses == ["Submitted", "InProgress", "Completed"]
