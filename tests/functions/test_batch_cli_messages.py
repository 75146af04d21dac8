"""`gptoss batch validate` output a person can read: a repeated problem folds into one line with a hint, while the
pipeline's error report (errors/<name>.json) still lists every problem; a directory is called a directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import batch_validate
import boto3
import pytest
from moto import mock_aws

from local import cli

BUCKET = "cli-messages-bucket"


def records(count: int, *, model: str | None = "gpt-oss-20b") -> list[str]:
    model_field = {} if model is None else {"model": model}
    return [
        json.dumps({"recordId": f"r{i}", "modelInput": {**model_field, "messages": [{"role": "user", "content": "q"}]}})
        for i in range(count)
    ]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_120_records_naming_another_model_fold_into_three_examples_a_summary_and_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 120 records that all say "model": "gpt-oss-20b"
    path = write(tmp_path / "b.jsonl", records(120))
    # When the file is validated without --model (the batch model defaults to 120b)
    code = cli.main(["batch", "validate", str(path)])
    # Then the user sees three example lines, one summary of the other 117, a --model hint and the verdict
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": ", 1)[0] for line in err[:3]] == [f"{path}:1", f"{path}:2", f"{path}:3"]
    assert all(line.endswith("[model_mismatch]") for line in err[:3])
    assert err[3] == f"{path}: ... and 117 more line(s) with the same problem [model_mismatch]: lines 4-120"
    assert err[4] == (
        "hint: the batch model is openai.gpt-oss-120b-1:0 but the records name gpt-oss-20b: pass --model gpt-oss-20b"
    )
    assert err[5] == f"{path}: 120 record(s), model openai.gpt-oss-120b-1:0: 120 problem(s)"
    assert len(err) == 6
    # And following the hint makes the file valid
    assert cli.main(["batch", "validate", str(path), "--model", "gpt-oss-20b"]) == 0


def test_different_problems_each_keep_their_examples_and_scattered_lines_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given broken JSON on lines 2, 4, 6, 8 and 10, and a duplicate id on line 12, in a 120b file
    lines = records(110, model=None)
    for number in (2, 4, 6, 8, 10):
        lines[number - 1] = '{"recordId": '
    lines[11] = lines[0]
    path = write(tmp_path / "mixed.jsonl", lines)
    # When validated
    assert cli.main(["batch", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    # Then three JSON examples are shown, the other two are listed, and the lone duplicate is shown in full
    assert [f"{path}:{n}: invalid JSON" in err for n in (2, 4, 6, 8, 10)] == [True, True, True, False, False]
    assert "... and 2 more line(s) with the same problem [invalid_json]: lines 8, 10" in err
    assert f"{path}:12: recordId 'r0' already used on line 1 [duplicate_record_id]" in err
    # And there is no --model hint, since no record names another model
    assert "--model" not in err


def test_a_directory_is_reported_as_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a path that is a directory, and one that does not exist
    missing = tmp_path / "nope.jsonl"
    # When each is validated
    directory_code = cli.main(["batch", "validate", str(tmp_path)])
    directory_err = capsys.readouterr().err
    missing_code = cli.main(["batch", "validate", str(missing)])
    missing_err = capsys.readouterr().err
    # Then each error says what is actually wrong, with exit status 2
    assert (directory_code, directory_err) == (2, f"error: {tmp_path}: is a directory\n")
    assert (missing_code, missing_err) == (2, f"error: {missing}: no such file\n")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    env = {
        "BUCKET_NAME": BUCKET,
        "BATCH_ROLE_ARN": "arn:aws:iam::123456789012:role/bedrock-batch",
        "ENABLED_MODELS": "openai.gpt-oss-20b-1:0,openai.gpt-oss-120b-1:0",
        "DEFAULT_MODEL": "openai.gpt-oss-120b-1:0",
        "BATCH_MIN_RECORDS": "2",
        "BATCH_MAX_RECORDS": "10",
        "BATCH_MAX_FILE_BYTES": "100000",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-west-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        yield client


def test_the_pipelines_error_report_still_lists_every_problem_with_its_line(s3: Any) -> None:
    # Given an uploaded file whose 8 records all name the 20b model, in the default (120b) folder
    body = ("\n".join(records(8)) + "\n").encode()
    put = s3.put_object(Bucket=BUCKET, Key="input/mixed.jsonl", Body=body)
    detail = {"bucket": {"name": BUCKET}, "object": {"key": "input/mixed.jsonl", "size": len(body)}}
    detail["object"]["etag"] = put["ETag"].strip('"')
    event = {"event": {"detail-type": "Object Created", "source": "aws.s3", "detail": detail}, "execution": "e-1"}
    # When the validate step runs
    run = batch_validate.handler(event)
    # Then errors/<name>.json names all 8 problems, each with its line number (nothing folded)
    assert run["valid"] is False
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="errors/mixed.json")["Body"].read())
    assert [(problem["line"], problem["code"]) for problem in report["problems"]] == [
        (line, "model_mismatch") for line in range(1, 9)
    ]
