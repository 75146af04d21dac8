"""Bedrock job names and idempotency tokens: deterministic, unique per upload, within botocore's limits."""

from __future__ import annotations

import re

import botocore.session
import pytest
from batch_common import Source, job_name

INPUT = botocore.session.get_session().get_service_model("bedrock").operation_model("CreateModelInvocationJob")
MEMBERS = INPUT.input_shape.members


def fits(value: str, member: str) -> bool:
    meta = MEMBERS[member].metadata
    return meta["min"] <= len(value) <= meta["max"] and re.fullmatch(meta["pattern"], value) is not None


@pytest.mark.parametrize("name", ["a", "x" * 100, "v1.2_final--draft", "9.9.9", "a_b_c", "Z" + "." * 50 + "z"])
def test_job_names_and_tokens_fit_bedrocks_patterns_for_any_run_name(name: str) -> None:
    # Given a run name at the limits of what the pipeline accepts, and its upload
    source = Source("bucket", f"input/{name}.jsonl", "0123abcd-2", 10)
    # When its job name and client request token are derived
    # Then both fit CreateModelInvocationJob's pattern and length constraints
    assert fits(job_name(name, source), "jobName")
    assert fits(source.digest, "clientRequestToken")


def test_a_retry_gets_the_same_name_and_token_but_another_upload_does_not() -> None:
    # Given an upload, the same upload seen again, and uploads differing in bucket, key or ETag only
    source = Source("bucket", "input/daily.jsonl", "etag1", 10)
    again = Source("bucket", "input/daily.jsonl", "etag1", 10)
    others = [
        Source("other", "input/daily.jsonl", "etag1", 10),
        Source("bucket", "input/gpt-oss-20b/daily.jsonl", "etag1", 10),
        Source("bucket", "input/daily.jsonl", "etag2", 10),
    ]
    # When their job names and tokens are derived
    # Then a retry reuses both (Bedrock returns the job it already started), any other upload gets its own
    assert (job_name("daily", again), again.digest) == (job_name("daily", source), source.digest)
    assert len({job_name("daily", other) for other in [source, *others]}) == 4
    assert len({other.digest for other in [source, *others]}) == 4
