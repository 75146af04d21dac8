"""The bucket keys a data team uploads to and reads from are the ones the README documents."""

import pytest
from gptoss.batch_layout import (
    batch_request_key,
    batches_prefix,
    errors_key,
    file_keys,
    files_prefix,
    input_key,
    results_keys,
    s3_uri,
    status_key,
)


@pytest.mark.parametrize(
    ("model_id", "key"),
    [
        ("openai.gpt-oss-120b-1:0", "input/gpt-oss-120b/prompts.jsonl"),
        ("openai.gpt-oss-20b-1:0", "input/gpt-oss-20b/prompts.jsonl"),
    ],
)
def test_an_upload_goes_under_the_models_short_alias(model_id, key):
    # Given a run called "prompts" on a Bedrock model id
    # When the CLI works out where to upload it
    # Then it is input/<alias>/<name>.jsonl, the folder the README tells data teams to use
    assert input_key(model_id, "prompts") == key


def test_a_runs_results_errors_and_status_are_where_the_readme_says():
    # Given a run called "prompts"
    # Then its results, error report and status live at the documented keys
    assert results_keys("prompts") == {
        "summary": "results/prompts/summary.json",
        "succeeded": "results/prompts/succeeded.jsonl",
        "failed": "results/prompts/failed.jsonl",
    }
    assert errors_key("prompts") == "errors/prompts.json"
    assert status_key("prompts") == "status/prompts.json"


def test_objects_are_named_by_s3_uris():
    # Given a bucket and a key
    # Then the URI shown to users and given to Bedrock is s3://bucket/key
    assert s3_uri("my-bucket", "results/prompts/summary.json") == "s3://my-bucket/results/prompts/summary.json"


def test_an_api_keys_files_and_batches_live_under_its_own_prefix():
    # Given an API key (the owner) with a file and a batch created through the Files and Batches API
    # Then their objects live at the documented keys, under api/<owner>/
    assert file_keys("key1", "file-abc") == ("api/key1/files/file-abc.jsonl", "api/key1/files/file-abc.json")
    assert batch_request_key("key1", "batch_abc") == "api/key1/batches/batch_abc.json"
    assert (files_prefix("key1"), batches_prefix("key1")) == ("api/key1/files/", "api/key1/batches/")
    # And one owner's listing prefix never covers another owner whose id merely starts the same way
    assert not file_keys("key10", "file-abc")[0].startswith(files_prefix("key1"))
    assert not batch_request_key("key10", "batch_abc").startswith(batches_prefix("key1"))
