"""Every batch run that ends is announced: the "GptOss Batch Run State Change" event for each way a run can end,
including the endings the state machine's own Notify step never reaches (timed out, aborted, a step without a catch).

Step Functions' own status-change events are routed through the template's EventBridge rules (moto's matcher) to
the functions they target, in-process, as EventBridge would invoke them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import batch_report
import pytest

from tests.sim.conftest import BUCKET, Sim, records

KEY = "input/gpt-oss-120b/prompts.jsonl"
DETAIL_TYPE = "GptOss Batch Run State Change"


def a_running_job(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> str:
    """Start a run whose Bedrock job never ends on its own; returns the execution ARN once the job was submitted and
    the execution waits to poll it (a long poll interval: stopping it then interrupts the Wait state, not a task)."""
    monkeypatch.setattr(sim.emulator.jobs, "polls_per_state", 10**9)
    monkeypatch.setitem(sim.lambdas.extra_env, "BATCH_POLL_SECONDS", "600")
    monkeypatch.setitem(sim.lambdas.extra_env, "BATCH_MAX_POLL_SECONDS", "600")
    arn = sim.start(sim.upload(KEY, records(3)))
    sim.status_when("prompts", ("submitted",))
    deadline = time.monotonic() + 10
    while not any(e["type"] == "WaitStateEntered" for e in sim.sfn.get_execution_history(executionArn=arn)["events"]):
        assert time.monotonic() < deadline, "the execution never reached its Wait state"
        time.sleep(0.02)
    return arn


def assert_announced_error(sim: Sim, job_stopped: bool) -> dict[str, Any]:
    [published] = sim.published()
    assert (published["source"], published["detail-type"]) == ("gptoss.batch", DETAIL_TYPE)
    detail = published["detail"]
    assert (detail["id"], detail["state"], detail["succeeded"]) == ("prompts", "error", False)
    assert detail["file"] == f"s3://{BUCKET}/{KEY}"
    assert detail["errors"] == f"s3://{BUCKET}/errors/prompts.json"
    assert detail["job_stopped"] is job_stopped
    assert sim.json("status/prompts.json")["state"] == "error"
    return detail


def test_an_aborted_run_is_reported_its_job_stopped_and_announced(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a run whose Bedrock job is running
    arn = a_running_job(sim, monkeypatch)
    # When an operator stops the execution, and Step Functions announces the ABORTED execution
    sim.sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped from the console")
    assert sim.wait(arn)["status"] == "ABORTED"
    [invoked] = sim.deliver(sim.execution_ended(arn))
    # Then the error report runs once (no function error), stops the job, and the run's end is published
    assert "FunctionError" not in invoked, invoked
    [job] = sim.emulator.jobs.list()
    assert job.stop_requested
    detail = assert_announced_error(sim, job_stopped=True)
    assert detail["error"] == "States.ABORTED"
    assert sim.json("errors/prompts.json")["execution"] == arn


def test_a_run_that_timed_out_is_reported_its_job_stopped_and_announced(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run whose Bedrock job is running
    arn = a_running_job(sim, monkeypatch)
    # When Step Functions ends the execution for its overall timeout (the event it sends; moto cannot age it 60 h)
    sim.sfn.stop_execution(executionArn=arn)
    sim.wait(arn)
    [invoked] = sim.deliver(sim.execution_ended(arn, status="TIMED_OUT"))
    # Then the run is reported, its job stopped and its end published
    assert "FunctionError" not in invoked, invoked
    detail = assert_announced_error(sim, job_stopped=True)
    assert detail["error"] == "States.TIMED_OUT"


def test_a_run_whose_error_report_step_itself_failed_is_still_reported_and_announced(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Bedrock rejects the job, and the state machine's report step fails for good on that first attempt
    monkeypatch.setattr(sim.emulator.jobs, "models", frozenset({"openai.gpt-oss-20b-1:0"}))
    report = batch_report.report
    attempts = []

    def fails_first(state: dict[str, Any], settings: Any) -> dict[str, Any]:
        attempts.append(state)
        if len(attempts) == 1:
            raise RuntimeError("the report step broke")
        return report(state, settings)

    monkeypatch.setattr(batch_report, "report", fails_first)
    # When the state machine runs: it ends FAILED without reaching its Notify step
    arn = sim.start(sim.upload(KEY, records(3)))
    execution = sim.wait(arn)
    assert execution["status"] == "FAILED"
    assert sim.published() == []
    # And Step Functions announces the FAILED execution
    [invoked] = sim.deliver(sim.execution_ended(arn))
    # Then the rule for unreported failures runs the report, which writes errors/ and publishes the run's end
    assert "FunctionError" not in invoked, invoked
    detail = assert_announced_error(sim, job_stopped=False)
    assert "the report step broke" in detail["message"]


def test_a_run_the_state_machine_already_announced_is_not_announced_twice(sim: Sim) -> None:
    # Given an invalid upload: the state machine reports and announces it, then ends FAILED at its own failure state
    arn = sim.start(sim.upload("input/bad.jsonl", b"{not json\n"))
    assert sim.wait(arn)["status"] == "FAILED"
    [announced] = sim.published()
    assert announced["detail"]["state"] == "invalid"
    report_before = sim.json("errors/bad.json")
    # When Step Functions announces the FAILED execution
    invoked = sim.deliver(sim.execution_ended(arn))
    # Then no rule reacts: no second event, and the invalid-input report stands
    assert invoked == []
    assert sim.published() == []
    assert sim.json("errors/bad.json") == report_before


def test_every_ending_of_the_state_machine_passes_the_notify_step_except_a_duplicate_upload(sim: Sim) -> None:
    # Given the synthesized state machine's definition
    [machine] = [r for r in sim.template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    states = json.loads(sim.resolver.resolve(machine["Properties"]["DefinitionString"]))["States"]

    def successors(name: str) -> set[str]:
        state = states[name]
        found = {state["Next"]} if "Next" in state else set()
        found |= {choice["Next"] for choice in state.get("Choices", [])}
        found |= {state["Default"]} if "Default" in state else set()
        found |= {catch["Next"] for catch in state.get("Catch", [])}
        return found

    # When every path from the start is followed to its terminal state without passing Notify
    unannounced, seen, todo = set(), set(), ["Start"]
    while todo:
        name = todo.pop()
        if name in seen or name == "Notify":
            continue
        seen.add(name)
        if states[name]["Type"] in ("Succeed", "Fail"):
            unannounced.add(name)
        todo.extend(successors(name))
    # Then the only ending that skips Notify is a repeated upload of a file already handled (no new run)
    assert unannounced == {"AlreadyHandled"}


def test_a_completed_run_whose_announcement_failed_is_announced_once_with_its_results(sim: Sim) -> None:
    # Given a run that collected its results
    arn = sim.start(sim.upload(KEY, records(3)))
    assert sim.wait(arn)["status"] == "SUCCEEDED"
    [announced] = sim.published()
    status_before = sim.json("status/prompts.json")
    # When its Notify step had failed for good instead (Step Functions' event for that FAILED execution)
    ended = sim.execution_ended(arn, status="FAILED")
    ended["detail"] |= {"error": "EventBridge.EventBridgeException", "cause": "PutEvents failed"}
    [invoked] = sim.deliver(ended)
    # Then the rule for unreported failures publishes the completed outcome, and the run keeps its results
    assert "FunctionError" not in invoked, invoked
    [published] = sim.published()
    assert published["detail"] == announced["detail"]
    assert (published["detail"]["state"], published["detail"]["succeeded"]) == ("completed", True)
    assert sim.json("status/prompts.json") == status_before
