"""`gptoss batch submit --local --wait` against `make local` over real HTTP: the file lands in the local store, the
upload watcher starts the lifecycle's own steps (as the deployed EventBridge rule does), and the command follows the
run and downloads `results/<name>/`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import cli

HISTORY = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!", "reasoning_content": "The user greets me."},
    {"role": "user", "content": "Say hello again"},
]


def bedrock_file(path: Path, count: int) -> Path:
    """Records as data teams write them: one names the model by alias, one replays `reasoning_content`, one sends
    fields the request contract accepts but InvokeModel refuses (`logit_bias`) or is not sent (`n`, `store`)."""
    bodies = [
        {"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "Say hello"}]},
        {"messages": HISTORY, "max_completion_tokens": 64},
        {"messages": [{"role": "user", "content": "Hi"}], "n": 1, "store": False, "logit_bias": {}},
    ]
    bodies += [{"messages": [{"role": "user", "content": f"Question {i}"}]} for i in range(len(bodies), count)]
    lines = (json.dumps({"recordId": f"r{i}", "modelInput": body}) for i, body in enumerate(bodies[:count]))
    path.write_text("".join(line + "\n" for line in lines))
    return path


def submit(gateway: str, path: Path, output: Path) -> int:
    return cli.main(
        [
            "batch",
            "submit",
            str(path),
            "--model",
            "gpt-oss-20b",
            "--local",
            "--local-url",
            gateway,
            "--wait",
            "--poll-seconds",
            "0.05",
            "--output",
            str(output),
        ]
    )


def saved(output: Path) -> tuple[list[dict], list[dict], dict]:
    def lines(name: str) -> list[dict]:
        return [json.loads(line) for line in (output / name).read_text().splitlines()]

    return lines("succeeded.jsonl"), lines("failed.jsonl"), json.loads((output / "summary.json").read_text())


def test_submit_wait_runs_a_batch_job_on_make_local_and_every_record_succeeds(
    local_batch_gateway: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file of 4 records (make local's batch minimum here is 3) that Bedrock would refuse record by record as
    # written: a model alias, replayed reasoning_content, logit_bias
    path = bedrock_file(tmp_path / "prompts.jsonl", 4)
    # When it is submitted to make local, waiting for the run
    code = submit(local_batch_gateway, path, tmp_path / "out")
    # Then the run completed as one (emulated) Bedrock batch job on the staged records, every record answered
    out = capsys.readouterr().out
    assert code == 0, out
    assert "prompts: completed (4 succeeded, 0 failed)" in out
    succeeded, failed, summary = saved(tmp_path / "out")
    assert sorted(line["recordId"] for line in succeeded) == ["r0", "r1", "r2", "r3"]
    assert failed == []
    assert summary["job_status"] == "Completed" and summary["job_arn"]
    assert summary["model"] == "openai.gpt-oss-20b-1:0"


def test_submit_wait_runs_a_file_under_the_minimum_on_demand(
    local_batch_gateway: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file of 2 records, under make local's batch minimum of 3
    path = bedrock_file(tmp_path / "small.jsonl", 2)
    # When it is submitted to make local, waiting for the run
    code = submit(local_batch_gateway, path, tmp_path / "out")
    # Then the user was told it runs on demand, and it completed through InvokeModel with every record answered
    out = capsys.readouterr().out
    assert code == 0, out
    assert "under the batch minimum of 3: it will run on demand" in out
    succeeded, failed, summary = saved(tmp_path / "out")
    assert sorted(line["recordId"] for line in succeeded) == ["r0", "r1"]
    assert failed == []
    assert (summary["job_status"], summary["job_arn"]) == ("Completed", None)


def test_submit_local_without_a_local_server_says_how_to_start_one(tmp_path: Path) -> None:
    # Given no server listening where --local-url points
    path = bedrock_file(tmp_path / "prompts.jsonl", 4)
    # When the file is submitted there
    with pytest.raises(SystemExit) as refused:
        cli.main(
            ["batch", "submit", str(path), "--model", "gpt-oss-20b", "--local", "--local-url", "http://127.0.0.1:9"]
        )
    # Then the command stops with a message naming the URL and `make local`
    assert "http://127.0.0.1:9" in str(refused.value) and "make local" in str(refused.value)
