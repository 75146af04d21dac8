"""The `gptoss batch` command: offline validation, and submit --wait against a bucket (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import cli

BUCKET = "cli-bucket"


@pytest.fixture
def s3() -> Iterator[Any]:
    """A moto S3 client with the bucket the CLI uploads to."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-west-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        yield client


def write_file(path: Path, count: int, *, broken_line: int | None = None) -> Path:
    lines = [
        json.dumps({"recordId": f"r{i}", "modelInput": {"messages": [{"role": "user", "content": f"q{i}"}]}})
        for i in range(count)
    ]
    if broken_line is not None:
        lines[broken_line - 1] = '{"recordId": "x",'
    path.write_text("\n".join(lines) + "\n")
    return path


def test_validate_exits_0_for_a_valid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a valid file of 100 records (Bedrock's minimum)
    path = write_file(tmp_path / "ok.jsonl", 100)
    # When it is validated offline
    code = cli.main(["batch", "validate", str(path), "--model", "gpt-oss-20b"])
    # Then the exit status is 0 and the summary names the model
    assert code == 0
    assert "100 record(s), model openai.gpt-oss-20b-1:0: valid" in capsys.readouterr().out


def test_validate_exits_1_with_line_numbered_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a file with a broken line 3
    path = write_file(tmp_path / "bad.jsonl", 5, broken_line=3)
    # When it is validated offline
    code = cli.main(["batch", "validate", str(path)])
    # Then the exit status is 1, and each problem is printed as FILE:LINE
    assert code == 1
    err = capsys.readouterr().err
    assert f"{path}:3: invalid JSON" in err
    assert f"{path}: 5 record(s), model openai.gpt-oss-120b-1:0: 1 problem(s)" in err


def test_a_file_under_the_batch_minimum_is_valid_and_said_to_run_on_demand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a valid file of 5 records, under Bedrock's batch minimum of 100
    path = write_file(tmp_path / "small.jsonl", 5)
    # When it is validated offline
    code = cli.main(["batch", "validate", str(path)])
    # Then it is valid, and the user is told it runs on demand, at on-demand prices
    assert code == 0
    out = capsys.readouterr().out
    assert f"{path}: 5 record(s), model openai.gpt-oss-120b-1:0: valid" in out
    assert "under the batch minimum of 100: it will run on demand (InvokeModel), at on-demand prices" in out


def test_validate_rejects_an_unknown_model_and_a_missing_file(tmp_path: Path) -> None:
    # Given a model name the gateway does not know, and a path with no file
    # When the model is unknown, or the file does not exist
    with pytest.raises(SystemExit) as usage:
        cli.main(["batch", "validate", str(tmp_path / "x.jsonl"), "--model", "gpt-4"])
    missing = cli.main(["batch", "validate", str(tmp_path / "nope.jsonl")])
    # Then both are usage errors (exit 2)
    assert usage.value.code == 2
    assert missing == 2


def test_submit_wait_uploads_follows_progress_and_downloads_results(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a valid file and a bucket the pipeline works in
    path = write_file(tmp_path / "daily.jsonl", 4)
    polls: list[str] = []

    def pipeline(_seconds: float) -> None:
        """Stands in for the state machine between two polls: progress, then results."""
        etag = s3.head_object(Bucket=BUCKET, Key="input/gpt-oss-120b/daily.jsonl")["ETag"].strip('"')
        state = "in_progress" if not polls else "completed"
        polls.append(state)
        status: dict[str, Any] = {"id": "daily", "etag": etag, "state": state, "records": {"total": 4}}
        status["records"]["processed"] = 2 if state == "in_progress" else 4
        if state == "completed":
            for part in ("summary.json", "succeeded.jsonl", "failed.jsonl"):
                s3.put_object(Bucket=BUCKET, Key=f"results/daily/{part}", Body=b"{}\n")
            status["results"] = {
                part: f"s3://{BUCKET}/results/daily/{part}"
                for part in ("summary.json", "succeeded.jsonl", "failed.jsonl")
            }
            status["records"] |= {"succeeded": 4, "failed": 0}
        s3.put_object(Bucket=BUCKET, Key="status/daily.json", Body=json.dumps(status).encode())

    args = cli.build_parser().parse_args(
        [
            "batch",
            "submit",
            str(path),
            "--bucket",
            BUCKET,
            "--wait",
            "--min-records",
            "1",
            "--output",
            str(tmp_path / "out"),
        ]
    )
    # When it is submitted with --wait
    code = cli.cmd_submit(args, session=boto3.session.Session(region_name="us-west-2"), sleep=pipeline)
    # Then the file landed under the model's folder, the run was followed to its end, and results were saved
    assert code == 0
    assert s3.head_object(Bucket=BUCKET, Key="input/gpt-oss-120b/daily.jsonl")["ContentLength"] > 0
    assert polls == ["in_progress", "completed"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["failed.jsonl", "succeeded.jsonl", "summary.json"]
    assert "daily: completed (4 succeeded, 0 failed)" in capsys.readouterr().out


def test_submit_refuses_an_invalid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an invalid file
    path = write_file(tmp_path / "bad.jsonl", 3, broken_line=1)
    # When it is submitted
    code = cli.main(["batch", "submit", str(path), "--bucket", BUCKET])
    # Then nothing is uploaded (no AWS call is even made) and the exit status is 1
    assert code == 1
    assert "not uploaded" in capsys.readouterr().err


def test_submit_wait_stops_with_the_report_when_the_name_is_held_by_a_running_run(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a bucket where a run named "daily" (another file) is in progress
    path = write_file(tmp_path / "daily.jsonl", 4)
    running = {"id": "daily", "etag": "other", "state": "in_progress", "file": "s3://b/input/daily.jsonl"}
    s3.put_object(Bucket=BUCKET, Key="status/daily.json", Body=json.dumps(running).encode())

    def pipeline(_seconds: float) -> None:
        """Stands in for the validate step refusing this upload."""
        etag = s3.head_object(Bucket=BUCKET, Key="input/gpt-oss-120b/daily.jsonl")["ETag"].strip('"')
        refusal = {"id": "daily", "etag": etag, "state": "conflict", "message": "not started: 'daily' is busy"}
        s3.put_object(Bucket=BUCKET, Key="errors/daily.json", Body=json.dumps(refusal).encode())

    output = ["--output", str(tmp_path / "out")]
    args = cli.build_parser().parse_args(
        ["batch", "submit", str(path), "--bucket", BUCKET, "--wait", "--min-records", "1", *output]
    )
    # When it is submitted with --wait
    code = cli.cmd_submit(args, session=boto3.session.Session(region_name="us-west-2"), sleep=pipeline)
    # Then the command ends (exit 1) with the refusal, saved next to where results would be
    assert code == 1
    out = capsys.readouterr().out
    assert "daily: conflict" in out
    assert "not started: 'daily' is busy" in out
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["daily.json"]


@pytest.mark.parametrize(("file_name", "extra"), [("my data.jsonl", []), ("ok.jsonl", ["--name", "données"])])
def test_submit_refuses_a_run_name_the_pipeline_would_rename(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file_name: str, extra: list[str]
) -> None:
    # Given a valid file whose name (or --name) has a space or non-ASCII letters
    path = write_file(tmp_path / file_name, 100)
    # When it is submitted
    code = cli.main(["batch", "submit", str(path), "--bucket", BUCKET, "--wait", *extra])
    # Then nothing is uploaded (--wait would otherwise wait forever for a run under that name) and exit status is 2
    assert code == 2
    assert "--name" in capsys.readouterr().err
