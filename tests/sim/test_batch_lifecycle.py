"""The batch lifecycle, end to end: the synthesized state machine run by moto, Bedrock by the emulator."""

from __future__ import annotations

import json
import time

import batch_check
import batch_validate
import pytest
from batch_common import STOP_GRACE_HOURS

from tests.sim.conftest import BUCKET, MODEL, Sim, records

KEY = "input/gpt-oss-120b/prompts.jsonl"


def accounted(sim: Sim, name: str) -> tuple[list[dict], list[dict]]:
    succeeded = sim.jsonl(f"results/{name}/succeeded.jsonl")
    failed = sim.jsonl(f"results/{name}/failed.jsonl")
    return succeeded, failed


def test_a_valid_upload_runs_one_job_and_accounts_for_every_record(sim: Sim) -> None:
    # Given a valid file of 5 records uploaded under the 120b model's folder
    event = sim.upload(KEY, records(5))
    # When the state machine handles the upload
    execution = sim.run(event)
    # Then it succeeds, having started exactly one Bedrock job
    assert execution["status"] == "SUCCEEDED", execution
    [job] = sim.emulator.jobs.list()
    assert job.request["modelId"] == MODEL
    # And every record is in succeeded.jsonl as a chat.completion with the reasoning split out
    succeeded, failed = accounted(sim, "prompts")
    assert [r["recordId"] for r in succeeded] == [f"rec{i:04d}" for i in range(5)]
    assert failed == []
    message = succeeded[0]["response"]["choices"][0]["message"]
    assert "[emulated]" in message["content"]
    assert message["reasoning_content"]
    assert "<reasoning>" not in message["content"]
    # And the summary, the status record and the published event tell the same story
    summary = sim.json("results/prompts/summary.json")
    assert summary["state"] == "completed"
    assert summary["records"] == {"total": 5, "succeeded": 5, "failed": 0, "not_processed": 0}
    assert summary["tokens"]["input"] > 0 and summary["tokens"]["output"] > 0
    assert summary["job_arn"] == job.arn
    status = sim.json("status/prompts.json")
    assert status["state"] == "completed"
    assert status["records"]["processed"] == status["records"]["total"] == 5
    [published] = sim.published()
    assert published["detail-type"] == "GptOss Batch Run State Change"
    assert published["detail"]["state"] == "completed"
    assert not sim.objects("errors/")


def test_an_invalid_file_starts_no_job_and_reports_every_problem_by_line(sim: Sim) -> None:
    # Given a file with a broken line, a duplicate recordId and a streaming record
    lines = records(4).decode().splitlines()
    lines[1] = "{not json"
    lines[2] = lines[0]
    lines[3] = json.dumps(
        {"recordId": "s1", "modelInput": {"messages": [{"role": "user", "content": "x"}], "stream": True}}
    )
    event = sim.upload("input/bad.jsonl", ("\n".join(lines) + "\n").encode())
    # When the state machine handles the upload
    execution = sim.run(event)
    # Then the run fails visibly, no Bedrock job exists, and errors/bad.json lists each problem with its line
    assert execution["status"] == "FAILED"
    assert sim.emulator.jobs.list() == []
    report = sim.json("errors/bad.json")
    assert [(p["line"], p["code"]) for p in report["problems"]] == [
        (2, "invalid_json"),
        (3, "duplicate_record_id"),
        (4, "stream_not_allowed"),
    ]
    assert not sim.objects("results/")
    assert sim.json("status/bad.json")["state"] == "invalid"
    [published] = sim.published()
    assert published["detail"]["state"] == "invalid"
    assert published["detail"]["errors"] == f"s3://{BUCKET}/errors/bad.json"


def test_uploading_the_same_object_twice_starts_one_job(sim: Sim) -> None:
    # Given a valid file that was uploaded and fully processed
    body = records(4)
    first = sim.run(sim.upload(KEY, body))
    steps_before = len(sim.lambdas.invocations)
    # When the identical object is uploaded again (same key and content, so the same ETag)
    second = sim.run(sim.upload(KEY, body))
    # Then the second run stops after its claim check, and the first run's single job and results stand
    assert first["status"] == second["status"] == "SUCCEEDED"
    assert sim.lambdas.invocations[steps_before:] == ["batch_validate"]
    assert len(sim.emulator.jobs.list()) == 1
    assert sim.json("status/prompts.json")["state"] == "completed"
    assert len(sim.jsonl("results/prompts/succeeded.jsonl")) == 4


def assert_failed_job_accounted(sim: Sim, job_status: str, total: int, processed: int) -> dict:
    """Shared checks for a job Bedrock ended early: every record accounted for, errors/ written, event sent."""
    succeeded, failed = accounted(sim, "prompts")
    ids = [r["recordId"] for r in succeeded] + [r["recordId"] for r in failed]
    assert sorted(ids) == [f"rec{i:04d}" for i in range(total)]
    assert len(succeeded) == processed
    not_processed = [r for r in failed if r["error"]["code"] == "not_processed"]
    assert len(not_processed) == total - processed
    assert all(job_status in r["error"]["message"] for r in not_processed)
    summary = sim.json("results/prompts/summary.json")
    assert summary["job_status"] == job_status
    assert summary["records"]["not_processed"] == total - processed
    [published] = sim.published()
    assert published["detail"]["job_status"] == job_status
    return summary


def test_a_failed_job_leaves_every_record_in_failed_jsonl_and_an_error_report(sim: Sim) -> None:
    # Given a valid file whose Bedrock job will fail
    event = sim.upload(KEY, records(4, first_text="[job:Failed] hello"))
    # When the state machine runs
    execution = sim.run(event)
    # Then the run fails visibly, no record is lost and errors/ carries Bedrock's message
    assert execution["status"] == "FAILED"
    assert_failed_job_accounted(sim, "Failed", total=4, processed=0)
    report = sim.json("errors/prompts.json")
    assert report["job_status"] == "Failed"
    assert "failed" in report["message"].lower()
    assert sim.json("status/prompts.json")["state"] == "failed"


def test_a_partially_completed_job_splits_records_between_succeeded_and_failed(sim: Sim) -> None:
    # Given a valid file of 6 records of which Bedrock will process only half
    event = sim.upload(KEY, records(6, first_text="[job:PartiallyCompleted:0.5] hello"))
    # When the state machine runs
    execution = sim.run(event)
    # Then the run succeeds with 3 answers and 3 records reported as not processed
    assert execution["status"] == "SUCCEEDED"
    summary = assert_failed_job_accounted(sim, "PartiallyCompleted", total=6, processed=3)
    assert summary["state"] == "partially_completed"
    assert not sim.objects("errors/")


def test_an_expired_job_reports_every_record_as_not_processed(sim: Sim) -> None:
    # Given a valid file whose job will expire before it starts
    event = sim.upload("input/prompts.jsonl", records(3, first_text="[job:Expired] hello"))
    # When the state machine runs (default model: no model folder in the key)
    execution = sim.run(event)
    # Then the run fails visibly and all three records are in failed.jsonl
    assert execution["status"] == "FAILED"
    assert_failed_job_accounted(sim, "Expired", total=3, processed=0)
    assert sim.json("errors/prompts.json")["job_status"] == "Expired"
    [job] = sim.emulator.jobs.list()
    assert job.request["modelId"] == MODEL


def test_a_step_that_fails_for_good_is_reported_not_silent(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Bedrock rejects the job (the model is not available to batch in this account)
    monkeypatch.setattr(sim.emulator.jobs, "models", frozenset({"openai.gpt-oss-20b-1:0"}))
    event = sim.upload(KEY, records(3))
    # When the state machine runs
    execution = sim.run(event)
    # Then the catch-all writes errors/ with Bedrock's message, and the failure is published
    assert execution["status"] == "FAILED"
    report = sim.json("errors/prompts.json")
    assert report["state"] == "error"
    assert report["error"] == "ValidationException"
    assert report["message"]
    assert sim.json("status/prompts.json")["state"] == "error"
    [published] = sim.published()
    assert published["detail"]["state"] == "error"


def test_the_status_api_shows_a_finished_run(sim: Sim) -> None:
    # Given a run that completed
    assert sim.run(sim.upload(KEY, records(3)))["status"] == "SUCCEEDED"
    # When the deployed batch API function answers GET /v1/batches/prompts and GET /v1/batches, for any key
    api = sim.api("anykey0001")
    one, listing = api.get("/v1/batches/prompts"), api.get("/v1/batches")
    # Then both show the run as an OpenAI batch: file, model, status and counts
    run = one.json()
    assert one.status_code == listing.status_code == 200
    assert (run["input_file_id"], run["model"], run["status"]) == (f"s3://{BUCKET}/{KEY}", MODEL, "completed")
    assert run["request_counts"] == {"total": 3, "completed": 3, "failed": 0}
    assert [item["id"] for item in listing.json()["data"]] == ["prompts"]


def test_a_job_still_running_long_after_its_timeout_is_stopped_and_the_run_reported(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Bedrock job that never ends on its own
    monkeypatch.setattr(sim.emulator.jobs, "polls_per_state", 10**9)
    # And a clock on which the job was submitted one hour past its Bedrock timeout plus the stop grace period
    timeout_hours = int(sim.lambdas.handlers[sim.function_arn("batch-check")].environment["BATCH_TIMEOUT_HOURS"])
    ahead = (timeout_hours + STOP_GRACE_HOURS + 1) * 3600
    monkeypatch.setattr(batch_check, "clock", lambda: time.time() + ahead)
    # When the state machine runs
    execution = sim.run(sim.upload(KEY, records(4)))
    # Then the poll step stopped the job, and the run ended Stopped: visibly failed, every record accounted for
    assert execution["status"] == "FAILED"
    [job] = sim.emulator.jobs.list()
    assert (job.stop_requested, job.status) == (True, "Stopped")
    summary = assert_failed_job_accounted(sim, "Stopped", total=4, processed=2)
    assert summary["state"] == "stopped"
    report = sim.json("errors/prompts.json")
    assert report["job_status"] == "Stopped"
    assert "stopped by the gateway" in report["message"]
    assert f"past its {timeout_hours} h Bedrock timeout" in report["message"]
    assert sim.json("status/prompts.json")["state"] == "stopped"


def test_a_run_that_breaks_while_its_job_runs_stops_the_job(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a job that is running, and Bedrock refusing the poll step's GetModelInvocationJob for good
    monkeypatch.setattr(sim.emulator.jobs, "polls_per_state", 10**9)
    sim.fault("GetModelInvocationJob", "AccessDeniedException")
    # When the state machine runs
    execution = sim.run(sim.upload(KEY, records(3)))
    # Then the run is reported as an error and its Bedrock job is stopped (nothing would collect it)
    assert execution["status"] == "FAILED"
    [job] = sim.emulator.jobs.list()
    assert (job.stop_requested, job.status) == (True, "Stopping")
    report = sim.json("errors/prompts.json")
    assert (report["state"], report["job_arn"], report["job_stopped"]) == ("error", job.arn, True)
    assert "AccessDeniedException" in report["message"]
    assert sim.json("status/prompts.json")["state"] == "error"
    [published] = sim.published()
    assert (published["detail"]["state"], published["detail"]["job_stopped"]) == ("error", True)


def test_a_second_file_with_the_name_of_a_running_run_is_refused_then_runs_once_that_run_has_ended(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run of input/gpt-oss-120b/prompts.jsonl whose Bedrock job is running
    monkeypatch.setattr(sim.emulator.jobs, "polls_per_state", 10**9)
    first = sim.start(sim.upload(KEY, records(4)))
    sim.status_when("prompts", ("in_progress",))
    # When another file named prompts.jsonl is uploaded for the default model
    other = records(3, prefix="new")
    refused = sim.run(sim.upload("input/prompts.jsonl", other))
    # Then it is refused visibly: no second job, an error report naming the conflict, the running run untouched
    assert refused["status"] == "FAILED"
    assert len(sim.emulator.jobs.list()) == 1
    report = sim.json("errors/prompts.json")
    assert (report["state"], report["file"]) == ("conflict", f"s3://{BUCKET}/input/prompts.jsonl")
    assert KEY in report["message"]
    assert sim.json("status/prompts.json")["file"] == f"s3://{BUCKET}/{KEY}"
    # And once the first run's job ends, that run completes with its own records
    monkeypatch.setattr(sim.emulator.jobs, "polls_per_state", 0)
    assert sim.wait(first)["status"] == "SUCCEEDED"
    assert [r["recordId"] for r in sim.jsonl("results/prompts/succeeded.jsonl")] == [f"rec{i:04d}" for i in range(4)]
    # And uploading the refused file again starts its run, which replaces the results and clears the old report
    assert sim.run(sim.upload("input/prompts.jsonl", other))["status"] == "SUCCEEDED"
    assert [r["recordId"] for r in sim.jsonl("results/prompts/succeeded.jsonl")] == [f"new{i:04d}" for i in range(3)]
    assert sim.json("status/prompts.json")["file"] == f"s3://{BUCKET}/input/prompts.jsonl"
    assert not sim.objects("errors/")
    assert sorted(event["detail"]["state"] for event in sim.published()) == ["completed", "completed", "conflict"]


def test_an_upload_overwritten_after_validation_still_runs_the_validated_records(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a valid file of 4 records, and a user who overwrites it (other records) right after it was validated
    event = sim.upload(KEY, records(4))
    validate = batch_validate.handler

    def validate_then_overwrite(state: dict, context: object = None) -> dict:
        run = validate(state, context)
        sim.s3.put_object(Bucket=BUCKET, Key=KEY, Body=records(6, first_text="Never validated", prefix="new"))
        return run

    monkeypatch.setattr(batch_validate, "handler", validate_then_overwrite)
    # When the state machine handles the first upload
    execution = sim.run(event)
    # Then the one job read the gateway's staged copy of the validated version, not the overwritten input/ key
    assert execution["status"] == "SUCCEEDED", execution
    [job] = sim.emulator.jobs.list()
    uri = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
    assert uri.startswith(f"s3://{BUCKET}/batch-input/prompts/") and uri.endswith("/prompts.jsonl")
    assert sim.objects("batch-input/") == {uri.removeprefix(f"s3://{BUCKET}/"): records(4)}
    # And the results are exactly the validated records, every one processed
    succeeded, failed = accounted(sim, "prompts")
    assert [r["recordId"] for r in succeeded] == [f"rec{i:04d}" for i in range(4)]
    assert failed == []
    assert sim.json("results/prompts/summary.json")["records"]["not_processed"] == 0


def test_an_upload_under_the_batch_minimum_runs_on_demand_with_every_record_accounted_for(sim: Sim) -> None:
    # Given an upload of 2 records (the batch minimum is 3), the model refusing the second and throttling once
    lines = records(2).decode().splitlines()
    lines[1] = lines[1].replace("Question number 1", "Question number 1 [fault:ValidationException]")
    sim.fault("InvokeModel", "ThrottlingException", count=1)
    event = sim.upload(KEY, ("\n".join(lines) + "\n").encode())
    # When the state machine handles the upload
    execution = sim.run(event)
    # Then it ran on demand through InvokeModel (no Bedrock batch job), the throttle retried
    assert execution["status"] == "SUCCEEDED", execution
    assert sim.emulator.jobs.list() == []
    assert "batch_on_demand" in sim.lambdas.invocations
    # And every recordId is in exactly one results file: the answer, and the model's refusal with Bedrock's code
    succeeded, failed = accounted(sim, "prompts")
    assert [r["recordId"] for r in succeeded] == ["rec0000"]
    assert [(r["recordId"], r["error"]["code"]) for r in failed] == [("rec0001", "ValidationException")]
    summary = sim.json("results/prompts/summary.json")
    assert (summary["state"], summary["job_arn"]) == ("completed", None)
    assert summary["records"] == {"total": 2, "succeeded": 1, "failed": 1, "not_processed": 0}
    [published] = sim.published()
    assert published["detail"]["state"] == "completed"


def test_records_bedrock_would_refuse_as_written_are_staged_in_the_form_it_accepts(sim: Sim) -> None:
    # Given an upload whose records name the model by alias, replay reasoning_content, send fields the contract
    # accepts but InvokeModel refuses or is not sent (logit_bias, n, store, service_tier), or are plain
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "reasoning_content": "A greeting."},
        {"role": "user", "content": "Say hello again"},
    ]
    hello = [{"role": "user", "content": "Say hello"}]
    bodies = {
        "alias": {"model": "gpt-oss-120b", "messages": hello},
        "history": {"messages": history, "max_completion_tokens": 64},
        "defaults": {"messages": hello, "n": 1, "store": False, "logit_bias": {}, "service_tier": "auto"},
        "plain": {"model": MODEL, "messages": hello, "temperature": 0.5},
    }
    plain_line = json.dumps({"recordId": "plain", "modelInput": bodies["plain"]})
    body = "".join(json.dumps({"recordId": name, "modelInput": b}) + "\r\n" for name, b in bodies.items())
    # When the state machine handles the upload
    execution = sim.run(sim.upload(KEY, body.encode()))
    # Then the one job read a staged copy in the form Bedrock accepts: the Bedrock id, no reasoning_content, no
    # field InvokeModel does not take; a record already in that form passed byte for byte
    assert execution["status"] == "SUCCEEDED", execution
    [staged] = sim.objects("batch-input/").values()
    staged_lines = staged.decode().splitlines()
    inputs = {record["recordId"]: record["modelInput"] for record in map(json.loads, staged_lines)}
    assert inputs["alias"] == {"model": MODEL, "messages": hello}
    assert inputs["history"]["messages"][1] == {"role": "assistant", "content": "Hello!"}
    assert inputs["defaults"] == {"model": MODEL, "messages": hello}
    assert staged_lines[3] == plain_line
    # And so every record succeeded in the job (the emulator refuses an alias and logit_bias as Bedrock does)
    succeeded, failed = accounted(sim, "prompts")
    assert sorted(r["recordId"] for r in succeeded) == sorted(bodies)
    assert failed == []
