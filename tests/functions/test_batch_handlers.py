"""Batch lifecycle handlers one at a time: S3 in moto, the Bedrock control plane in the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import batch_check
import batch_collect
import batch_report
import batch_submit
import batch_validate
import boto3
import pytest
from batch_api import BatchApiSettings, create_app
from moto import mock_aws
from starlette.testclient import TestClient

from local.emulator.server import EmulatorServer

BUCKET = "handlers-bucket"
ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"
MODEL_20B = "openai.gpt-oss-20b-1:0"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, chunk_delay=0.0, job_polls_per_state=1) as emu:
        yield emu


@pytest.fixture
def s3(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    emulator.jobs.reset()
    env = {
        "BUCKET_NAME": BUCKET,
        "BATCH_ROLE_ARN": ROLE,
        "ENABLED_MODELS": "openai.gpt-oss-20b-1:0,openai.gpt-oss-120b-1:0",
        "DEFAULT_MODEL": "openai.gpt-oss-120b-1:0",
        "BATCH_MIN_RECORDS": "2",
        "BATCH_MAX_RECORDS": "10",
        "BATCH_MAX_FILE_BYTES": "100000",
        "BATCH_POLL_SECONDS": "30",
        "BATCH_MAX_POLL_SECONDS": "100",
        "BATCH_EVENT_SOURCE": "gptoss.batch",
        "BATCH_EVENT_DETAIL_TYPE": "GptOss Batch Run State Change",
        "AWS_ENDPOINT_URL_BEDROCK": emulator.url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-west-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        yield client


def status_api() -> TestClient:
    """The batch API function's app, as one API key sees it (no run is started through it here)."""
    app = create_app(settings=BatchApiSettings(BUCKET, "", "bearer", 1000), starter=lambda *_: None)
    return TestClient(app, headers={"Authorization": "Bearer key-one"})


def upload(s3: Any, key: str, count: int, text: str = "hello", body: bytes | None = None) -> dict[str, Any]:
    """Put `count` valid records (or `body`) at `key`; returns the state machine's input for that upload."""
    lines = [
        json.dumps({"recordId": f"r{i}", "modelInput": {"messages": [{"role": "user", "content": f"{text} {i}"}]}})
        for i in range(count)
    ]
    body = body if body is not None else ("\n".join(lines) + "\n").encode()
    put = s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    detail = {"bucket": {"name": BUCKET}, "object": {"key": key, "size": len(body), "etag": put["ETag"].strip('"')}}
    return {"event": {"detail-type": "Object Created", "source": "aws.s3", "detail": detail}, "execution": "exec-1"}


def file_uri(run: dict[str, Any]) -> str:
    return f"s3://{run['bucket']}/{run['key']}"


def read_json(s3: Any, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_validate_takes_the_model_from_the_key_and_claims_the_upload(s3: Any) -> None:
    # Given a valid file under the 20b alias folder
    state = upload(s3, "input/gpt-oss-20b/team.jsonl", 3)
    # When the validate step runs
    run = batch_validate.handler(state)
    # Then the run is valid, for the 20b model, and the status record says it is being validated
    assert (run["valid"], run["duplicate"], run["model"], run["name"], run["records"]) == (
        True,
        False,
        MODEL_20B,
        "team",
        3,
    )
    assert read_json(s3, "status/team.json")["records"]["total"] == 3


def test_validate_rejects_an_unknown_model_folder_without_reading_the_file(s3: Any) -> None:
    # Given a file under a folder that names no enabled model
    state = upload(s3, "input/gpt-5/team.jsonl", 3)
    # When the validate step runs
    run = batch_validate.handler(state)
    # Then the run is invalid and the error report explains the key
    assert run["valid"] is False
    [problem] = read_json(s3, "errors/team.json")["problems"]
    assert problem["code"] == "invalid_key"
    assert "gpt-5" in problem["message"]


def test_a_second_execution_for_the_same_object_is_a_duplicate_but_a_retry_is_not(s3: Any) -> None:
    # Given an upload already claimed by execution exec-1
    state = upload(s3, "input/dup.jsonl", 3)
    batch_validate.handler(state)
    # When exec-1 retries its step, and another execution sees the same object
    retried = batch_validate.handler(state)
    other = batch_validate.handler({**state, "execution": "exec-2"})
    # Then only the other execution is a duplicate
    assert retried["duplicate"] is False
    assert other["duplicate"] is True


def test_a_retried_submit_step_never_starts_a_second_job(s3: Any, emulator: EmulatorServer) -> None:
    # Given a validated run
    run = batch_validate.handler(upload(s3, "input/once.jsonl", 3))
    # When the submit step runs twice (a retry after a timeout, say)
    first = batch_submit.handler({"run": run})
    second = batch_submit.handler({"run": run})
    # Then both name the same, single Bedrock job, and the first wait is the configured poll interval
    assert first["job_arn"] == second["job_arn"]
    assert len(emulator.jobs.list()) == 1
    assert first["wait_seconds"] == 30
    assert read_json(s3, "status/once.json")["job_arn"] == first["job_arn"]


def test_submit_recovers_a_job_created_before_the_claim_was_updated(s3: Any, emulator: EmulatorServer) -> None:
    # Given a job created by a submit step that died before recording it
    run = batch_validate.handler(upload(s3, "input/crash.jsonl", 3))
    first = batch_submit.handler({"run": run})
    claim_key = next(k["Key"] for k in s3.list_objects_v2(Bucket=BUCKET, Prefix="status/claims/")["Contents"])
    claim = read_json(s3, claim_key)
    claim.pop("job_arn")
    s3.put_object(Bucket=BUCKET, Key=claim_key, Body=json.dumps(claim).encode())
    # When the step is retried
    second = batch_submit.handler({"run": run})
    # Then Bedrock's idempotency token returns the same job
    assert second["job_arn"] == first["job_arn"]
    assert len(emulator.jobs.list()) == 1


def test_check_backs_off_and_publishes_progress(s3: Any) -> None:
    # Given a submitted job
    run = batch_validate.handler(upload(s3, "input/poll.jsonl", 3))
    job = batch_submit.handler({"run": run})
    # When the job is polled until it ends
    waits, statuses = [], []
    while not job["done"]:
        job = batch_check.handler({"run": run, "job": job})
        waits.append(job["wait_seconds"])
        statuses.append(job["status"])
    # Then the wait doubles up to its cap, and the status record carries the job's counts; the run is finalizing
    # (it is complete only once its results are collected, so a poller never sees "completed" without them)
    assert waits == [60, 100]
    assert statuses == ["InProgress", "Completed"]
    status = read_json(s3, "status/poll.json")
    assert status["state"] == "finalizing"
    assert status["records"]["processed"] == 3


def test_collect_writes_results_and_the_status_api_serves_them(s3: Any) -> None:
    # Given a completed job
    run = batch_validate.handler(upload(s3, "input/api.jsonl", 3))
    job = batch_submit.handler({"run": run})
    while not job["done"]:
        job = batch_check.handler({"run": run, "job": job})
    # When results are collected and the status API is asked
    outcome = batch_collect.handler({"run": run, "job": job})
    api = status_api()
    one = api.get("/v1/batches/api")
    listing = api.get("/v1/batches", params={"limit": 5})
    missing = api.get("/v1/batches/nope")
    # Then the run shows as a completed OpenAI batch in both routes; an unknown id is a 404
    assert outcome["state"] == "completed"
    body = one.json()
    assert one.status_code == 200
    assert (body["object"], body["status"]) == ("batch", "completed")
    assert body["request_counts"] == {"total": 3, "completed": 3, "failed": 0}
    assert body["input_file_id"] == f"s3://{BUCKET}/input/api.jsonl"
    assert [item["id"] for item in listing.json()["data"]] == ["api"]
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "batch_not_found"


@pytest.mark.usefixtures("s3")
def test_the_status_api_rejects_a_bad_limit_as_an_openai_error() -> None:
    # Given the status API (at most 100 runs per page)
    # When the list is asked for 1,000 runs
    response = status_api().get("/v1/batches", params={"limit": 1000})
    # Then it is a 400 naming the parameter
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit"


def test_report_handles_a_timed_out_execution_event(s3: Any) -> None:
    # Given a run that was validated, then its execution timed out
    state = upload(s3, "input/slow.jsonl", 3)
    batch_validate.handler(state)
    event = {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"status": "TIMED_OUT", "executionArn": "exec-1", "input": json.dumps(state["event"])},
    }
    # When the report function receives Step Functions' status-change event
    outcome = batch_report.handler(event)
    # Then errors/ and the status record say the run timed out
    assert outcome["state"] == "error"
    assert read_json(s3, "errors/slow.json")["error"] == "States.TIMED_OUT"
    assert read_json(s3, "status/slow.json")["state"] == "error"


def test_a_job_running_long_past_its_timeout_is_stopped_and_still_collected(s3: Any) -> None:
    # Given a job submitted long ago (far beyond its 24 h Bedrock timeout plus the grace period)
    run = batch_validate.handler(upload(s3, "input/stuck.jsonl", 4))
    job = {**batch_submit.handler({"run": run}), "started": 0}
    # When it is polled
    job = batch_check.handler({"run": run, "job": job})
    # Then the safety net asks Bedrock to stop it, and the run ends Stopped with every record accounted for
    assert job["stop_requested"] is True
    while not job["done"]:
        job = batch_check.handler({"run": run, "job": job})
    assert job["status"] == "Stopped"
    outcome = batch_collect.handler({"run": run, "job": job})
    assert outcome["state"] == "stopped"
    assert outcome["records"]["total"] == 4
    assert read_json(s3, "errors/stuck.json")["job_status"] == "Stopped"


def timed_out(state: dict[str, Any], execution: str = "exec-1") -> dict[str, Any]:
    """Step Functions' status-change event for an execution that timed out, as the ExecutionStopped rule sends it."""
    detail = {"status": "TIMED_OUT", "executionArn": execution, "input": json.dumps(state["event"])}
    return {"source": "aws.states", "detail-type": "Step Functions Execution Status Change", "detail": detail}


def failed_after(state: dict[str, Any], execution: str = "exec-1") -> dict[str, Any]:
    """Step Functions' status-change event for an execution whose Notify step failed after all its retries."""
    event = timed_out(state, execution)
    event["detail"] |= {"status": "FAILED", "error": "EventBridge.EventBridgeException", "cause": "PutEvents failed"}
    return event


def test_a_collected_run_whose_announcement_failed_keeps_its_results_and_is_announced(s3: Any) -> None:
    # Given a run whose results were collected, then its Notify step failed for good (the execution ends FAILED)
    state = upload(s3, "input/done.jsonl", 3)
    run = batch_validate.handler(state)
    job = batch_submit.handler({"run": run})
    while not job["done"]:
        job = batch_check.handler({"run": run, "job": job})
    collected = batch_collect.handler({"run": run, "job": job})
    status_before = read_json(s3, "status/done.json")
    # When the report function receives the FAILED execution event
    outcome = batch_report.handler(failed_after(state))
    # Then the run stays completed with its results, no error report is written, and the collected outcome is the
    # one announced
    assert outcome == collected
    assert (outcome["state"], outcome["succeeded"]) == ("completed", True)
    assert read_json(s3, "status/done.json") == status_before
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="errors/")["KeyCount"] == 0


def test_an_invalid_run_whose_announcement_failed_keeps_its_report(s3: Any) -> None:
    # Given an upload refused by validation (a record without its modelInput), whose Notify step then failed for good
    state = upload(s3, "input/short.jsonl", 0, body=b'{"recordId": "r0"}\n{"recordId": "r1"}\n')
    run = batch_validate.handler(state)
    report_before = read_json(s3, "errors/short.json")
    # When the report function receives the FAILED execution event
    outcome = batch_report.handler(failed_after(state))
    # Then the validation report and the invalid state stand, and the invalid outcome is the one announced
    assert outcome == run["outcome"]
    assert outcome["state"] == "invalid"
    assert report_before["problems"][0]["line"] == 1
    assert read_json(s3, "errors/short.json") == report_before
    assert read_json(s3, "status/short.json")["state"] == "invalid"


def test_a_reported_error_whose_announcement_failed_keeps_its_first_message(s3: Any) -> None:
    # Given a run whose step failed and was reported by the state machine's catch-all, then its Notify step failed
    state = upload(s3, "input/broken.jsonl", 3)
    run = batch_validate.handler(state)
    error = {"Error": "States.TaskFailed", "Cause": json.dumps({"errorMessage": "the submit step broke"})}
    reported = batch_report.handler({**state, "run": run, "error": error})
    # When the report function receives the FAILED execution event
    outcome = batch_report.handler(failed_after(state))
    # Then the first report stands: the announced message is the step's, not the Notify step's
    assert outcome == reported
    assert read_json(s3, "errors/broken.json")["message"] == "the submit step broke"


def test_a_timed_out_execution_stops_its_still_running_job(s3: Any, emulator: EmulatorServer) -> None:
    # Given a run whose Bedrock job was submitted and is still running when its execution times out
    state = upload(s3, "input/late.jsonl", 3)
    run = batch_validate.handler(state)
    job = batch_submit.handler({"run": run})
    # When the report function receives Step Functions' status-change event (no job in it: only the S3 event)
    outcome = batch_report.handler(timed_out(state))
    # Then the job is stopped in Bedrock, and errors/ and the status record say so
    [stopped] = emulator.jobs.list()
    assert (stopped.arn, stopped.stop_requested, stopped.status) == (job["job_arn"], True, "Stopping")
    assert outcome["job_stopped"] is True
    report = read_json(s3, "errors/late.json")
    assert (report["error"], report["job_arn"], report["job_stopped"]) == ("States.TIMED_OUT", job["job_arn"], True)
    assert "Bedrock job was stopped" in report["message"]
    assert read_json(s3, "status/late.json")["state"] == "error"


def test_a_failed_step_stops_the_job_named_in_the_state_but_not_one_that_already_ended(
    s3: Any, emulator: EmulatorServer
) -> None:
    # Given two runs: one whose job is running, one whose job has completed
    running_state = upload(s3, "input/running.jsonl", 3)
    running = batch_validate.handler(running_state)
    running_job = batch_submit.handler({"run": running})
    ended_state = {**upload(s3, "input/ended.jsonl", 3), "execution": "exec-2"}
    ended = batch_validate.handler(ended_state)
    ended_job = batch_submit.handler({"run": ended})
    while not ended_job["done"]:
        ended_job = batch_check.handler({"run": ended, "job": ended_job})
    # When a step of each fails for good and the catch-all sends the state to the report function
    error = {"Error": "States.TaskFailed", "Cause": json.dumps({"errorMessage": "boom", "errorType": "X"})}
    first = batch_report.handler({**running_state, "run": running, "job": running_job, "error": error})
    second = batch_report.handler({**ended_state, "run": ended, "job": ended_job, "error": error})
    # Then only the running job is stopped; the ended one is reported without an error of its own
    jobs = {job.arn: job.status for job in emulator.jobs.list()}
    assert jobs == {running_job["job_arn"]: "Stopping", ended_job["job_arn"]: "Completed"}
    assert (first["job_stopped"], second["job_stopped"]) == (True, False)
    assert read_json(s3, "errors/ended.json")["message"] == "boom"


def test_an_upload_whose_name_is_held_by_a_running_run_is_refused_and_leaves_that_run_alone(
    s3: Any, emulator: EmulatorServer
) -> None:
    # Given a run of input/gpt-oss-20b/team.jsonl whose job is running
    first = batch_validate.handler(upload(s3, "input/gpt-oss-20b/team.jsonl", 3))
    job = batch_submit.handler({"run": first})
    # When another file with the same name is uploaded for the default model
    second_state = {**upload(s3, "input/team.jsonl", 4, text="other"), "execution": "exec-2"}
    second = batch_validate.handler(second_state)
    # Then it is refused, with an error report naming the run in progress, and no second job
    assert (second["valid"], second["conflict"], second["outcome"]["state"]) == (False, True, "conflict")
    report = read_json(s3, "errors/team.json")
    assert report["state"] == "conflict"
    assert report["file"] == f"s3://{BUCKET}/input/team.jsonl"
    assert report["in_progress"]["file"] == f"s3://{BUCKET}/input/gpt-oss-20b/team.jsonl"
    assert "input/gpt-oss-20b/team.jsonl" in report["message"]
    assert len(emulator.jobs.list()) == 1
    # And the running run's status record is untouched
    status = read_json(s3, "status/team.json")
    assert (status["file"], status["state"], status["job_arn"]) == (file_uri(first), "submitted", job["job_arn"])
    # And when the refused run's report path runs too, it neither stops the other job nor rewrites its status
    batch_report.handler({**second_state, "run": second, "error": {"Error": "X", "Cause": "late failure"}})
    assert [j.status for j in emulator.jobs.list()] == ["Submitted"]
    assert read_json(s3, "status/team.json")["state"] == "submitted"


def test_once_a_run_has_ended_a_new_upload_of_its_name_replaces_it(s3: Any) -> None:
    # Given a run of team.jsonl that ended invalid (a blank line, no record), leaving errors/team.json
    assert batch_validate.handler(upload(s3, "input/team.jsonl", 0))["valid"] is False
    assert read_json(s3, "errors/team.json")["state"] == "invalid"
    # When a corrected file with the same name is uploaded, under another model folder
    state = {**upload(s3, "input/gpt-oss-20b/team.jsonl", 3), "execution": "exec-2"}
    run = batch_validate.handler(state)
    # Then it starts a new run: its own status record, and the old error report is gone
    assert run["valid"] is True
    status = read_json(s3, "status/team.json")
    assert (status["file"], status["model"], status["state"]) == (file_uri(run), MODEL_20B, "validating")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="errors/")


def test_a_run_record_older_than_any_execution_no_longer_holds_its_name(s3: Any) -> None:
    # Given a status record left "in_progress" years ago by an execution that can no longer be running
    abandoned = {"id": "old", "state": "in_progress", "execution": "exec-0", "created_at": "2020-01-01T00:00:00Z"}
    s3.put_object(Bucket=BUCKET, Key="status/old.json", Body=json.dumps(abandoned).encode())
    # When a file with that name is uploaded
    run = batch_validate.handler(upload(s3, "input/old.jsonl", 3))
    # Then the new run takes the name
    assert run["valid"] is True
    assert read_json(s3, "status/old.json")["execution"] == "exec-1"


def finished(s3: Any, name: str, count: int) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A validated, submitted and finished run of `count` records, and the key of the `.out` file Bedrock wrote."""
    run = batch_validate.handler(upload(s3, f"input/{name}.jsonl", count))
    job = batch_submit.handler({"run": run})
    while not job["done"]:
        job = batch_check.handler({"run": run, "job": job})
    written = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"batch-output/{name}/")["Contents"]
    return run, job, next(item["Key"] for item in written if item["Key"].endswith(".jsonl.out"))


def result_lines(s3: Any, name: str, part: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=BUCKET, Key=f"results/{name}/{part}.jsonl")["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def test_collect_accounts_for_every_record_whatever_bedrock_writes(s3: Any) -> None:
    # Given a finished job of 6 records whose output Bedrock wrote out of order, with: r1 failed then succeeded, r2
    # succeeded then failed, r3 cut off mid-line, r4 not a chat.completion, r5 missing, plus a line for an unknown
    # recordId, one with an id Bedrock made up, a line that is not JSON and a blank line
    run, job, out_key = finished(s3, "messy", 6)
    body = s3.get_object(Bucket=BUCKET, Key=out_key)["Body"].read().decode()
    good = {line["recordId"]: line for line in map(json.loads, body.splitlines())}
    error = {"errorCode": 400, "errorMessage": "bad record"}
    lines = [
        good["r2"],
        {"recordId": "r1", "modelInput": {}, "error": error},
        {**good["r0"], "recordId": "stranger"},
        {"recordId": "r4", "modelInput": {}, "modelOutput": {"output": {"message": {"content": []}}}},
        good["r1"],
        {"recordId": "r2", "modelInput": {}, "error": error},
        {**good["r0"], "recordId": "CALL0000001"},
        good["r0"],
    ]
    text = [json.dumps(line) for line in lines] + [json.dumps(good["r3"])[:50], "not json", ""]
    s3.put_object(Bucket=BUCKET, Key=out_key, Body="\n".join(text).encode())
    # When results are collected
    outcome = batch_collect.handler({"run": run, "job": job})
    # Then each input recordId is in exactly one file, a success winning over an error for the same record
    succeeded = result_lines(s3, "messy", "succeeded")
    failed = result_lines(s3, "messy", "failed")
    assert sorted(line["recordId"] for line in succeeded) == ["r0", "r1", "r2"]
    assert sorted(line["recordId"] for line in failed) == ["r3", "r4", "r5"]
    codes = {line["recordId"]: line["error"]["code"] for line in failed}
    assert codes == {"r3": "invalid_output", "r4": "invalid_output", "r5": "not_processed"}
    # And the summary's counts and token totals match the files
    summary = read_json(s3, "results/messy/summary.json")
    assert summary["records"] == {"total": 6, "succeeded": 3, "failed": 3, "not_processed": 1}
    assert (summary["unmatched_output_records"], summary["duplicate_output_records"]) == (3, 2)
    usage = [line["response"]["usage"] for line in succeeded]
    assert summary["tokens"] == {
        "input": sum(u["prompt_tokens"] for u in usage),
        "output": sum(u["completion_tokens"] for u in usage),
    }
    assert summary["tokens"]["input"] > 0
    assert outcome["records"] == summary["records"]


@pytest.mark.parametrize("layout", ["missing", "empty", "renamed_and_split"])
def test_collect_reads_whatever_out_files_the_job_left(s3: Any, layout: str) -> None:
    # Given a finished job of 4 records whose output file is missing, empty, or under another name and split in two
    run, job, out_key = finished(s3, f"out-{layout}", 4)
    body = s3.get_object(Bucket=BUCKET, Key=out_key)["Body"].read()
    s3.delete_object(Bucket=BUCKET, Key=out_key)
    if layout == "empty":
        s3.put_object(Bucket=BUCKET, Key=out_key, Body=b"")
    if layout == "renamed_and_split":
        lines = body.splitlines()
        base = out_key.rsplit("/", 1)[0]
        s3.put_object(Bucket=BUCKET, Key=f"{base}/part-1.jsonl.out", Body=b"\n".join(lines[:2]))
        s3.put_object(Bucket=BUCKET, Key=f"{base}/part-2.jsonl.out", Body=b"\n".join(lines[2:]))
    # When results are collected
    batch_collect.handler({"run": run, "job": job})
    # Then all 4 records are accounted for: as not processed when there is no output, else as succeeded
    summary = read_json(s3, f"results/out-{layout}/summary.json")
    expected = 4 if layout == "renamed_and_split" else 0
    assert summary["records"] == {
        "total": 4,
        "succeeded": expected,
        "failed": 4 - expected,
        "not_processed": 4 - expected,
    }
    ids = [line["recordId"] for part in ("succeeded", "failed") for line in result_lines(s3, f"out-{layout}", part)]
    assert sorted(ids) == ["r0", "r1", "r2", "r3"]


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("input/my data.jsonl", "my_data"),
        ("input/my+data.jsonl", "my_data"),
        ("input/données.jsonl", "donn_es"),
        ("input/gpt-oss-120b/team/a.jsonl", "a"),
    ],
)
def test_a_key_with_odd_characters_or_nested_folders_is_refused_with_a_report(s3: Any, key: str, name: str) -> None:
    # Given an upload whose file name has a space, a plus or non-ASCII letters, or which sits in a nested folder
    # (EventBridge gives S3 keys as they are, not URL-encoded: ' ' stays ' ')
    state = upload(s3, key, 3)
    # When the validate step runs
    run = batch_validate.handler(state)
    # Then no job can start, and the report, under a sanitised name, explains the key
    assert (run["valid"], run["name"]) == (False, name)
    [problem] = read_json(s3, f"errors/{name}.json")["problems"]
    assert problem["code"] == "invalid_key"


def test_a_model_folder_named_by_its_bedrock_id_selects_that_model(s3: Any) -> None:
    # Given an upload under the 20b model's Bedrock id (a ':' in the key, raw in EventBridge events)
    state = upload(s3, f"input/{MODEL_20B}/byid.jsonl", 3)
    # When the validate step runs
    run = batch_validate.handler(state)
    # Then the run is valid, for that model
    assert (run["valid"], run["model"]) == (True, MODEL_20B)


def test_the_status_api_pages_through_many_runs_with_after(s3: Any) -> None:
    # Given 25 runs
    for i in range(25):
        s3.put_object(Bucket=BUCKET, Key=f"status/run{i:02}.json", Body=json.dumps({"id": f"run{i:02}"}).encode())
    # When the list is read 10 at a time, each page starting after the previous page's last id
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        query = {"limit": "10", **({"after": after} if after else {})}
        page = status_api().get("/v1/batches", params=query).json()
        pages += 1
        seen += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    # Then three pages list every run exactly once
    assert pages == 3
    assert sorted(seen) == [f"run{i:02}" for i in range(25)]


@pytest.mark.usefixtures("s3")
@pytest.mark.parametrize("run_id", ["nope", "../status/x", "a b", "%2e%2e", "x" * 300, "claims/abc"])
def test_an_unknown_or_ill_formed_batch_id_is_an_openai_404(run_id: str) -> None:
    # Given no run by that id (some not even possible names)
    # When it is asked for
    response = status_api().get(f"/v1/batches/{run_id}")
    # Then it is a 404 in OpenAI's error shape
    assert response.status_code == 404
    error = response.json()["error"]
    # (an id with a slash never reaches the batch route: it is an unknown URL)
    expected = "not_found" if "/" in run_id else "batch_not_found"
    assert (error["type"], error["code"]) == ("invalid_request_error", expected)


@pytest.mark.usefixtures("s3")
def test_listing_after_an_unknown_id_is_a_400_naming_after() -> None:
    # Given no run named "ghost"
    # When the list is asked for the runs after it
    response = status_api().get("/v1/batches", params={"after": "ghost"})
    # Then it is a 400 naming the parameter
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "after"


def test_submit_points_the_job_at_a_staged_copy_of_the_validated_version(s3: Any, emulator: EmulatorServer) -> None:
    # Given a versioned bucket, a validated upload, and the user overwriting that key before the job is submitted
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    state = upload(s3, "input/swap.jsonl", 3, text="validated")
    validated = s3.get_object(Bucket=BUCKET, Key="input/swap.jsonl")
    state["event"]["detail"]["object"]["version-id"] = validated["VersionId"]
    run = batch_validate.handler(state)
    upload(s3, "input/swap.jsonl", 5, text="never validated")
    # When the submit step runs, and is retried
    first = batch_submit.handler({"run": run})
    second = batch_submit.handler({"run": run})
    # Then one job reads a gateway-owned copy of the validated bytes, never the input/ key
    [job] = emulator.jobs.list()
    assert first["job_arn"] == second["job_arn"] == job.arn
    bucket, _, key = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"].removeprefix("s3://").partition("/")
    assert (bucket, key.startswith("batch-input/swap/"), key.endswith("/swap.jsonl")) == (BUCKET, True, True)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == validated["Body"].read()


def test_a_file_that_outgrows_the_size_limit_in_bedrocks_form_is_refused_before_any_job(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given records that name the model by alias (the staged copy names it by its longer Bedrock id), in a file
    # just under the size limit
    lines = [
        json.dumps(
            {
                "recordId": f"r{i}",
                "modelInput": {"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "hi"}]},
            },
            separators=(",", ":"),
        )
        for i in range(3)
    ]
    body = ("\n".join(lines) + "\n").encode()
    monkeypatch.setenv("BATCH_MAX_FILE_BYTES", str(len(body) + 5))
    put = s3.put_object(Bucket=BUCKET, Key="input/gpt-oss-20b/grows.jsonl", Body=body)
    detail = {
        "bucket": {"name": BUCKET},
        "object": {"key": "input/gpt-oss-20b/grows.jsonl", "size": len(body), "etag": put["ETag"].strip('"')},
    }
    # When the validate step runs
    run = batch_validate.handler(
        {"event": {"detail-type": "Object Created", "source": "aws.s3", "detail": detail}, "execution": "exec-1"}
    )
    # Then the run is refused with a whole-file problem saying so, and nothing is staged for Bedrock
    assert run["valid"] is False
    [problem] = read_json(s3, "errors/grows.json")["problems"]
    assert (problem["line"], problem["code"]) == (None, "file_too_large")
    assert "in the form Bedrock reads" in problem["message"]
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="batch-input/")
