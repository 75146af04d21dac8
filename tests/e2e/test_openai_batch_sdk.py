"""The OpenAI Batch API under `make local` (`python -m local`'s app over real HTTP), driven by the official SDK:
files and batches in the local store, batch jobs on the emulator's control plane, small files on demand."""

from __future__ import annotations

import json
import time

import openai
import pytest


@pytest.fixture(scope="module")
def base_url(local_batch_gateway: str) -> str:
    return f"{local_batch_gateway}/v1"


def sdk(base_url: str, key: str = "key-of-team-a") -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)


def batch_file(count: int, first_text: str = "Say hello") -> bytes:
    lines = [
        {
            "custom_id": f"request-{index}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "gpt-oss-20b",
                "messages": [{"role": "user", "content": first_text if index == 0 else f"Question {index}"}],
            },
        }
        for index in range(count)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def run_batch(client: openai.OpenAI, content: bytes, timeout: float = 30) -> openai.types.Batch:
    uploaded = client.files.create(file=("requests.jsonl", content), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h", metadata={"team": "a"}
    )
    deadline = time.monotonic() + timeout
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        assert time.monotonic() < deadline, f"batch still {batch.status}"
        time.sleep(0.05)
        batch = client.batches.retrieve(batch.id)
    return batch


def jsonl(client: openai.OpenAI, file_id: str | None) -> list[dict]:
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()] if file_id else []


def test_the_sdk_runs_a_batch_end_to_end_and_downloads_its_output(base_url: str) -> None:
    # Given the SDK pointed at make local's base_url
    client = sdk(base_url)
    # When it uploads a 4-request file, creates a batch and polls it
    batch = run_batch(client, batch_file(4))
    # Then the batch completed and the output file answers every request as the chat route would
    assert batch.status == "completed", batch
    assert batch.request_counts.total == batch.request_counts.completed == 4
    assert batch.metadata == {"team": "a"} and batch.model == "openai.gpt-oss-20b-1:0"
    output = jsonl(client, batch.output_file_id)
    assert sorted(line["custom_id"] for line in output) == [f"request-{i}" for i in range(4)]
    completion = openai.types.chat.ChatCompletion.model_validate(output[0]["response"]["body"])
    assert "[emulated]" in completion.choices[0].message.content
    assert batch.error_file_id is None


def test_a_failed_job_puts_every_request_in_the_error_file(base_url: str) -> None:
    # Given a file whose emulated Bedrock job fails
    client = sdk(base_url)
    batch = run_batch(client, batch_file(3, first_text="[job:Failed] hi"))
    # Then the batch failed and its error file holds every custom_id
    assert batch.status == "failed"
    errors = jsonl(client, batch.error_file_id)
    assert sorted(line["custom_id"] for line in errors) == ["request-0", "request-1", "request-2"]
    assert batch.errors.data[0].message


def test_a_small_file_runs_on_demand_in_seconds(base_url: str) -> None:
    # Given one request (below the batch minimum)
    client = sdk(base_url)
    batch = run_batch(client, batch_file(1))
    # Then it completed on demand
    assert batch.status == "completed"
    assert [line["custom_id"] for line in jsonl(client, batch.output_file_id)] == ["request-0"]


def test_cancel_list_paging_and_another_keys_404(base_url: str) -> None:
    # Given team A's batches, one of them cancelled while its emulated job runs
    client, other = sdk(base_url), sdk(base_url, "key-of-team-b")
    uploaded = client.files.create(file=("slow.jsonl", batch_file(3)), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled")
    deadline = time.monotonic() + 30
    while client.batches.retrieve(batch.id).status == "cancelling":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.batches.retrieve(batch.id).status in ("cancelled", "completed")
    # When A lists one batch per page and B looks for A's batch and file
    listed = [item.id for item in client.batches.list(limit=1)]
    # Then paging walks every batch of A once, and B gets 404s and empty lists
    assert batch.id in listed and len(listed) == len(set(listed)) >= 4
    with pytest.raises(openai.NotFoundError):
        other.batches.retrieve(batch.id)
    with pytest.raises(openai.NotFoundError):
        other.files.content(uploaded.id)
    assert list(other.batches.list()) == [] and list(other.files.list()) == []
    # And A can delete its file
    assert client.files.delete(uploaded.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_a_file_that_is_not_for_batches_is_a_400(base_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(base_url).files.create(file=("x.jsonl", b"{}\n"), purpose="fine-tune")
    assert caught.value.body["param"] == "purpose"
