"""Suite-wide safety: no test may reach AWS, so credentials are fake and the metadata service is off."""

import pytest

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_REGION": "us-west-2",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "GptOssGatewayTest",
    "POWERTOOLS_SERVICE_NAME": "gpt-oss-gateway-test",
}


@pytest.fixture(autouse=True)
def _fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


# --- IAM call recorder (infra): which AWS operations each deployed function's code performs during the suite ---
# Function code creates every boto3 client through gateway.aws.client(..., function=<name>), which puts
# "gptoss-fn/<name>" in the client's user agent. tests/infra/test_iam_matches_calls.py compares the record with
# each function's synthesized IAM policy, so pytest runs tests/infra last (see testpaths in pyproject.toml).
import re  # noqa: E402 - kept with the recorder it serves
from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import botocore.client  # noqa: E402

FUNCTION_MARKER = re.compile(r"gptoss-fn/(?P<name>[A-Za-z0-9_-]+)")
AWS_CALLS: dict[str, set[tuple[str, str]]] = {}


def _record_calls(original: Callable[..., Any]) -> Callable[..., Any]:
    def make_api_call(self: botocore.client.BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        match = FUNCTION_MARKER.search(self.meta.config.user_agent_extra or "")
        if match is not None:
            # IAM action prefix = the service's signing name (e.g. "bedrock" for bedrock-runtime).
            service = self.meta.service_model.signing_name or self.meta.service_model.endpoint_prefix
            # Reading a specific object version is a different IAM action (s3:GetObjectVersion).
            qualifier = "[VersionId]" if isinstance(api_params, dict) and api_params.get("VersionId") else ""
            AWS_CALLS.setdefault(match.group("name"), set()).add((service, operation_name + qualifier))
        return original(self, operation_name, api_params)

    return make_api_call


@pytest.fixture(scope="session", autouse=True)
def aws_call_recorder() -> Iterator[dict[str, set[tuple[str, str]]]]:
    """Session-wide record {function name: {(IAM service prefix, OperationName)}} of calls made by function code.

    An S3 call naming a VersionId is recorded as e.g. ``GetObject[VersionId]``.
    """
    original = botocore.client.BaseClient._make_api_call
    botocore.client.BaseClient._make_api_call = _record_calls(original)
    try:
        yield AWS_CALLS
    finally:
        botocore.client.BaseClient._make_api_call = original
