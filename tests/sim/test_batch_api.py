"""The OpenAI Batch API, end to end: the deployed batch API app starts the synthesized state machine (moto), Bedrock
is the emulator. Every custom_id must come back exactly once, in the output or the error file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.sim.conftest import MODEL, Sim

KEY_A, KEY_B = "keyalpha0001", "keybravo0002"


def batch_lines(count: int, *, first_text: str = "Say hello", model: str = "gpt-oss-120b") -> bytes:
    lines = []
    for index in range(count):
        text = first_text if index == 0 else f"Question {index}"
        body = {"model": model, "messages": [{"role": "user", "content": text}], "max_completion_tokens": 64}
        # custom_ids Bedrock's recordId could never carry: spaces, quotes, non-ASCII
        custom_id = f'task #{index} "ä"'
        lines.append(
            json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})
        )
    return ("\n".join(lines) + "\n").encode()


def create_batch(api: TestClient, body: bytes) -> dict[str, Any]:
    uploaded = api.post("/v1/files", files={"file": ("tasks.jsonl", body)}, data={"purpose": "batch"})
    assert uploaded.status_code == 200, uploaded.text
    file = uploaded.json()
    assert (file["object"], file["purpose"], file["bytes"]) == ("file", "batch", len(body))
    created = api.post(
        "/v1/batches",
        json={"input_file_id": file["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"},
    )
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "validating"
    return created.json()


def finish(sim: Sim, api: TestClient, batch: dict[str, Any]) -> dict[str, Any]:
    sim.wait(sim.execution_of(batch["id"]))
    return api.get(f"/v1/batches/{batch['id']}").json()


def lines_of(api: TestClient, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    response = api.get(f"/v1/files/{file_id}/content")
    assert response.status_code == 200
    return [json.loads(line) for line in response.text.splitlines()]


def accounted(api: TestClient, batch: dict[str, Any], count: int) -> tuple[list[dict], list[dict]]:
    """Output and error lines; every custom_id of the input appears exactly once across both."""
    output, errors = lines_of(api, batch["output_file_id"]), lines_of(api, batch["error_file_id"])
    assert sorted(line["custom_id"] for line in output + errors) == sorted(f'task #{i} "ä"' for i in range(count))
    return output, errors


def test_a_batch_created_through_the_api_runs_one_bedrock_job_and_returns_openai_output(sim: Sim) -> None:
    # Given a key that uploads a 4-request file (at least the batch minimum of 3) and creates a batch
    api = sim.api(KEY_A)
    batch = create_batch(api, batch_lines(4))
    # When the state machine has run it
    done = finish(sim, api, batch)
    # Then the batch completed through one Bedrock batch job on the Bedrock model id
    assert done["status"] == "completed", done
    assert done["request_counts"] == {"total": 4, "completed": 4, "failed": 0}
    assert done["model"] == MODEL and done["completed_at"] and done["in_progress_at"]
    [job] = sim.emulator.jobs.list()
    assert job.request["modelId"] == MODEL
    # And the output file holds OpenAI lines with the chat route's chat.completion, reasoning split out
    output, errors = accounted(api, done, 4)
    assert errors == [] and done["error_file_id"] is None
    response = output[0]["response"]
    assert response["status_code"] == 200 and output[0]["error"] is None
    message = response["body"]["choices"][0]["message"]
    assert message["reasoning_content"] and "<reasoning>" not in message["content"]
    assert done["usage"]["input_tokens"] > 0


def test_another_key_gets_404_for_everything_and_never_sees_it_listed(sim: Sim) -> None:
    # Given key A's finished batch, its input file and its output file
    owner, other = sim.api(KEY_A), sim.api(KEY_B)
    batch = finish(sim, owner, create_batch(owner, batch_lines(3)))
    ids = {"batch": batch["id"], "input": batch["input_file_id"], "output": batch["output_file_id"]}
    # When key B asks for each of them by id (it knows them: it guessed right)
    answers = [
        other.get(f"/v1/batches/{ids['batch']}"),
        other.post(f"/v1/batches/{ids['batch']}/cancel"),
        other.get(f"/v1/files/{ids['input']}"),
        other.get(f"/v1/files/{ids['output']}/content"),
        other.delete(f"/v1/files/{ids['output']}"),
        other.post(
            "/v1/batches",
            json={"input_file_id": ids["input"], "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        ),
    ]
    # Then every answer is a 404, and neither list shows them
    assert [answer.status_code for answer in answers] == [404] * 6
    assert other.get("/v1/batches").json()["data"] == []
    assert other.get("/v1/files").json()["data"] == []
    # And A still has everything, stored under its own prefix only
    assert owner.get(f"/v1/files/{ids['output']}/content").status_code == 200
    assert {item["id"] for item in owner.get("/v1/files").json()["data"]} == {ids["input"], ids["output"]}
    keys = sim.objects("api/")
    assert keys and all(key.startswith(f"api/{KEY_A}/") for key in keys)


def test_an_invalid_file_fails_with_every_problem_by_line_and_starts_no_job(sim: Sim) -> None:
    # Given a file with a broken line and a body the request contract refuses
    lines = batch_lines(3).decode().splitlines()
    lines[1] = "{not json"
    lines[2] = lines[2].replace('"max_completion_tokens": 64', '"max_completion_tokens": -1')
    api = sim.api(KEY_A)
    # When it is run
    done = finish(sim, api, create_batch(api, ("\n".join(lines) + "\n").encode()))
    # Then the batch failed with OpenAI errors naming line and param, and nothing was paid for
    assert done["status"] == "failed" and done["failed_at"]
    errors = {(error["line"], error["param"]) for error in done["errors"]["data"]}
    assert (2, None) in errors and (3, "body.max_completion_tokens") in errors
    assert sim.emulator.jobs.list() == []


@pytest.mark.parametrize(
    ("directive", "status", "succeeded"),
    [("[job:Failed]", "failed", 0), ("[job:PartiallyCompleted:0.5]", "completed", 2), ("[job:Expired]", "expired", 0)],
)
def test_every_terminal_job_state_accounts_for_each_custom_id(
    sim: Sim, directive: str, status: str, succeeded: int
) -> None:
    # Given a batch whose Bedrock job will end that way
    api = sim.api(KEY_A)
    # When it runs
    done = finish(sim, api, create_batch(api, batch_lines(4, first_text=f"{directive} hello")))
    # Then its OpenAI status says so, and each custom_id is in the output or the error file, once
    assert done["status"] == status, done
    output, errors = accounted(api, done, 4)
    assert len(output) == succeeded == done["request_counts"]["completed"]
    assert len(errors) == 4 - succeeded == done["request_counts"]["failed"]
    assert all(line["error"]["code"] for line in errors)


def test_cancelling_a_running_batch_stops_its_job_and_ends_cancelled(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a batch whose Bedrock job keeps running
    monkeypatch.setattr(sim.emulator.jobs, "polls_per_state", 10**9)
    api = sim.api(KEY_A)
    batch = create_batch(api, batch_lines(3))
    sim.status_when(batch["id"], ("submitted", "in_progress"))
    # When the owner cancels it
    cancelling = api.post(f"/v1/batches/{batch['id']}/cancel")
    # Then it is cancelling at once, its job is stopped, and it ends cancelled with every request accounted for
    assert cancelling.status_code == 200 and cancelling.json()["status"] == "cancelling"
    done = finish(sim, api, batch)
    assert done["status"] == "cancelled" and done["cancelled_at"] and done["cancelling_at"]
    [job] = sim.emulator.jobs.list()
    assert job.status == "Stopped"
    accounted(api, done, 3)
    # And cancelling again answers the same batch; a finished batch cannot be cancelled
    assert api.post(f"/v1/batches/{batch['id']}/cancel").json()["status"] == "cancelled"


def test_a_file_below_the_batch_minimum_runs_on_demand_with_throttles_retried(sim: Sim) -> None:
    # Given a 2-request batch (the minimum is 3) and Bedrock throttling the first two calls
    sim.fault("InvokeModel", "ThrottlingException", count=2)
    api = sim.api(KEY_A)
    # When it runs
    done = finish(sim, api, create_batch(api, batch_lines(2)))
    # Then it completed through InvokeModel, with no batch job, and the same OpenAI output
    assert done["status"] == "completed", done
    assert sim.emulator.jobs.list() == []
    output, errors = accounted(api, done, 2)
    assert errors == [] and all(line["response"]["status_code"] == 200 for line in output)
    assert "batch_on_demand" in sim.lambdas.invocations


def test_a_request_that_keeps_failing_on_demand_lands_in_the_error_file(sim: Sim) -> None:
    # Given a 2-request batch whose second request the model refuses
    body = batch_lines(2).decode().splitlines()
    body[1] = body[1].replace("Question 1", "Question 1 [fault:ValidationException]")
    api = sim.api(KEY_A)
    # When it runs
    done = finish(sim, api, create_batch(api, ("\n".join(body) + "\n").encode()))
    # Then the batch completed, that request is in the error file with Bedrock's status, the other in the output
    assert done["status"] == "completed"
    output, errors = accounted(api, done, 2)
    assert [line["custom_id"] for line in output] == ['task #0 "ä"']
    assert [line["custom_id"] for line in errors] == ['task #1 "ä"']
    assert errors[0]["response"]["status_code"] == 400 and errors[0]["error"]["code"] == "ValidationException"
