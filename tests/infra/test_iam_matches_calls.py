"""Least privilege, proven: each function's synthesized role grants exactly the AWS calls its code made in this run.

tests/conftest.py records every call made through a client tagged ``gptoss-fn/<name>`` (all clients in function
code are). pytest runs tests/infra last, so the record covers the unit, functions, e2e and sim suites. A function is
mapped to its role through its ``GPTOSS_FUNCTION`` environment variable in the template.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from tests.infra.synthesis import Synth
from tests.infra.template_helpers import allowed_actions, functions_by_name, role_of, role_statements

Calls = set[tuple[str, str]]

# Operations whose IAM action is not "<service>:<Operation>" (service authorization reference).
ACTIONS_FOR_OPERATION: dict[tuple[str, str], tuple[str, ...]] = {
    ("bedrock", "Converse"): ("bedrock:InvokeModel",),
    ("bedrock", "ConverseStream"): ("bedrock:InvokeModelWithResponseStream",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "GetObject[VersionId]"): ("s3:GetObjectVersion",),
    ("s3", "HeadObject[VersionId]"): ("s3:GetObjectVersion",),
    ("s3", "CopyObject[VersionId]"): ("s3:GetObjectVersion", "s3:PutObject"),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "CopyObject"): ("s3:GetObject", "s3:PutObject"),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "ListMultipartUploads"): ("s3:ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("s3:ListMultipartUploadParts",),
}

TESTS = Path(__file__).resolve().parents[1]
# The suites that run function code in-process, so its AWS calls are recorded (pytest runs tests/infra after them).
DRIVING_SUITES = ("unit", "functions", "e2e", "sim")
MODEL_CALLS = {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
OBJECT_READS = {"s3:GetObject", "s3:GetObjectVersion"}


def always(_needed: set[str], _calls: Calls) -> bool:
    return True


# Granted although the code never calls it, each for a documented reason:
# (action, reason, applies when (needed actions, recorded calls) -> bool).
NECESSITIES: tuple[tuple[str, str, Callable[[set[str], Calls], bool]], ...] = (
    ("logs:CreateLogStream", "the Lambda service writes the function's logs with its role", always),
    ("logs:PutLogEvents", "the Lambda service writes the function's logs with its role", always),
    ("xray:PutTraceSegments", "active X-Ray tracing sends segments with the function's role", always),
    ("xray:PutTelemetryRecords", "active X-Ray tracing sends telemetry with the function's role", always),
    (
        "bedrock:ApplyGuardrail",
        "InvokeModel/Converse with guardrailIdentifier require it (Bedrock guardrails-permissions)",
        lambda needed, _: bool(needed & MODEL_CALLS),
    ),
    (
        "iam:PassRole",
        "CreateModelInvocationJob hands the batch service role to Bedrock",
        lambda needed, _: "bedrock:CreateModelInvocationJob" in needed,
    ),
    (
        "s3:ListBucket",
        "without it S3 answers 403 instead of 404 for a missing key, so 'not found' cannot be told apart",
        lambda needed, _: bool(needed & OBJECT_READS),
    ),
    (
        "s3:AbortMultipartUpload",
        "boto3's managed upload switches to multipart above 8 MB (test files are smaller) and aborts a failed one",
        lambda needed, _: "s3:PutObject" in needed,
    ),
)


def needed_actions(calls: Calls) -> set[str]:
    actions: set[str] = set()
    for service, operation in calls:
        actions.update(ACTIONS_FOR_OPERATION.get((service, operation), (f"{service}:{operation}",)))
    return actions


def allows(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` and ``?`` wildcards."""
    return fnmatchcase(action.lower(), pattern.lower())


def is_granted(action: str, granted: set[str]) -> bool:
    return any(allows(pattern, action) for pattern in granted)


def exercised(recorder: dict[str, Calls], synth: Synth) -> dict[str, Calls]:
    deployed = functions_by_name(synth.resources)
    calls = {name: recorded for name, recorded in recorder.items() if name in deployed}
    if not calls:
        pytest.skip(
            "no AWS call from function code was recorded in this session: run the whole suite "
            "(`make test` or `pytest`) so the functions/e2e/sim tests exercise the functions before tests/infra"
        )
    return calls


def test_every_recorded_call_is_granted_by_the_functions_role(
    synth: Synth, aws_call_recorder: dict[str, Calls]
) -> None:
    # Given the AWS calls each function's code made during the suite, and each function's synthesized role
    deployed = functions_by_name(synth.resources)
    missing = {}
    for name, calls in exercised(aws_call_recorder, synth).items():
        granted = allowed_actions(role_statements(synth.resources, role_of(deployed[name][1])))
        # When every call is mapped to its IAM action / Then the role allows it (else: AccessDenied in production)
        not_granted = sorted(action for action in needed_actions(calls) if not is_granted(action, granted))
        if not_granted:
            missing[name] = not_granted
    assert missing == {}, f"calls made by function code but not granted by its role: {missing}"


def test_roles_grant_nothing_the_code_never_calls(synth: Synth, aws_call_recorder: dict[str, Calls]) -> None:
    # Given the same record and roles
    deployed = functions_by_name(synth.resources)
    unused = {}
    for name, calls in exercised(aws_call_recorder, synth).items():
        needed = needed_actions(calls)
        granted = allowed_actions(role_statements(synth.resources, role_of(deployed[name][1])))
        necessary = {pattern for pattern, _, applies in NECESSITIES if applies(needed, calls)}
        # When the documented necessities are set aside / Then every remaining grant was used by the code
        extra = sorted(
            pattern
            for pattern in granted
            if not any(allows(pattern, action) for action in needed) and pattern not in necessary
        )
        if extra:
            unused[name] = extra
    assert unused == {}, f"granted but never called by the function's code in this run: {unused}"


def whole_suite_collected(session: pytest.Session) -> bool:
    """True when every test module of the suites that drive function code is in this session (not a subset run)."""
    collected = {Path(item.path) for item in session.items}
    return all(path in collected for suite in DRIVING_SUITES for path in (TESTS / suite).rglob("test_*.py"))


def test_every_deployed_function_was_exercised(
    synth: Synth, aws_call_recorder: dict[str, Calls], request: pytest.FixtureRequest
) -> None:
    # Given the functions that make AWS calls (the authorizer and the model list make none)
    calls = exercised(aws_call_recorder, synth)
    deployed = functions_by_name(synth.resources)
    silent = sorted(
        name
        for name, (_, props) in deployed.items()
        if name not in calls
        and any(
            not action.startswith(("logs:", "xray:"))
            for action in allowed_actions(role_statements(synth.resources, role_of(props)))
        )
    )
    # Then each function allowed to call AWS had its calls recorded, so the two checks above covered it
    if silent and not whole_suite_collected(request.session):
        pytest.skip(f"not exercised in this session (run the full suite to cover them): {', '.join(silent)}")
    assert silent == [], "no test drives these functions' code through gateway.aws.client"
