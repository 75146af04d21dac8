"""Suite-wide safety: no test may reach AWS (fake credentials, metadata service off, loopback-only network), and
property-based tests are reproducible."""

import ipaddress
import os
import socket
from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings

# CI runs the suite once and it must pass: property-based tests draw the same examples on every run ("ci").
# HYPOTHESIS_PROFILE=explore searches with fresh random examples, to hunt for new failures locally.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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


# --- Loopback-only network: servers under test (emulator, gateway) listen on 127.0.0.1; nothing else may be reached.
BLOCKED_CONNECTIONS: list[str] = []


def _is_loopback(host: object) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified  # 0.0.0.0 binds (and connects) locally


def _refuse(target: str) -> OSError:
    BLOCKED_CONNECTIONS.append(target)
    return ConnectionRefusedError(f"tests may only use loopback; refused {target}")


@pytest.fixture(scope="session", autouse=True)
def _loopback_only_network() -> Iterator[None]:
    """Refuse (and record) any connection or name lookup that would leave the machine."""
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):  # type: ignore[index]
            raise _refuse(f"connect {address}")
        return original_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):  # type: ignore[index]
            raise _refuse(f"connect {address}")
        return original_connect_ex(self, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        if host is not None and not _is_loopback(host.decode() if isinstance(host, bytes) else host):
            raise _refuse(f"resolve {host!r}")
        return original_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = original_connect, original_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = original_getaddrinfo


@pytest.fixture(autouse=True)
def _no_connection_left_loopback(_loopback_only_network: None) -> Iterator[None]:
    """Fail the test that tried to leave loopback, even if the code under test swallowed the refusal."""
    BLOCKED_CONNECTIONS.clear()
    yield
    blocked, BLOCKED_CONNECTIONS[:] = list(BLOCKED_CONNECTIONS), []
    assert not blocked, f"the test tried to reach the network beyond loopback: {blocked}"


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
            # Reading a specific object version is a different IAM action (s3:GetObjectVersion); CopyObject names
            # the version it reads inside CopySource.
            params = api_params if isinstance(api_params, dict) else {}
            copy_source = params.get("CopySource")
            versioned = params.get("VersionId") or (isinstance(copy_source, dict) and copy_source.get("VersionId"))
            qualifier = "[VersionId]" if versioned else ""
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
