"""What is tested is what runs in Lambda: each API function exactly as `cdk synth` packages it (its code asset, the
shared layer, the dependency layer's requirements built for this machine, the Powertools release), started from a
clean directory the way the Lambda Web Adapter starts it (the template's handler, `PORT`, readiness on /healthz) with
nothing else importable, answers a chat call from the official OpenAI SDK against the Bedrock emulator.
"""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import openai
import pytest

from local.emulator.server import EmulatorServer
from local.lambda_package import PackagedFunction, package_function
from tests.infra.synthesis import ROOT, Synth, synthesize
from tests.infra.template_helpers import functions_by_name

ROUTES = {"chat": "/v1", "converse": "/converse/v1"}
# Environment variables the template sets from other resources: the values a deploy would resolve them to.
RESOLVED = {"GUARDRAIL_ID": "gr-artifact", "GUARDRAIL_VERSION": "1"}


def powertools_requirement() -> str:
    """Powertools as pinned for the tests (the public layer's release)."""
    [pin] = [
        line for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if "aws-lambda-powertools" in line
    ]
    return pin.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("artifact-cdk.out"))


def packaged(synth: Synth, name: str, workdir: Path) -> PackagedFunction:
    function_id, _ = functions_by_name(synth.resources)[name]
    dependencies = synth.stack.gateway.layers.dependencies.node.default_child
    return package_function(
        synth.outdir,
        function_id,
        dependency_layer_id=synth.stack.resolve(dependencies.logical_id),
        requirements=ROOT / "lambdas" / "requirements.txt",
        powertools_requirement=powertools_requirement(),
        workdir=workdir,
        resolve=RESOLVED,
    )


def lambda_environment(emulator: EmulatorServer) -> dict[str, str]:
    """What Lambda adds to the function's own environment (region, credentials), Bedrock pointed at the emulator."""
    return {
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": "artifact",
        "AWS_SECRET_ACCESS_KEY": "artifact",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_the_packaged_function_starts_like_lambda_and_answers_a_chat_call(
    synth: Synth, emulator: EmulatorServer, tmp_path: Path, name: str
) -> None:
    # Given the function's package as cdk synth built it, unpacked into a clean task root and /opt
    function = packaged(synth, name, tmp_path)
    assert function.handler == "run.sh"
    # When the adapter starts it (the handler script, PORT, readiness on /healthz)
    port = free_port()
    with function.running(port, lambda_environment(emulator)) as process:
        # Then it becomes ready and answers the OpenAI SDK through the emulated Bedrock
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}{ROUTES[name]}", api_key="k", max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-oss-120b", messages=[{"role": "user", "content": "Say hello"}]
        )
        assert process.ready_after is not None
    assert "[emulated]" in (reply.choices[0].message.content or "")
    assert reply.usage is not None and reply.usage.completion_tokens > 0


@pytest.mark.slow
def test_a_module_missing_from_the_package_keeps_the_function_from_starting(
    synth: Synth, emulator: EmulatorServer, tmp_path: Path
) -> None:
    # Given the chat package with one module of the shared layer missing (as if the asset had excluded it)
    function = packaged(synth, "chat", tmp_path)
    missing = function.opt / "python" / "gateway" / "http.py"
    missing.unlink()
    shutil.rmtree(function.opt / "python" / "gateway" / "__pycache__", ignore_errors=True)
    # When the adapter starts it
    with (
        pytest.raises(RuntimeError) as raised,
        function.running(free_port(), lambda_environment(emulator), deadline=20),
    ):
        pass
    # Then it never becomes ready: the module is not found anywhere else (the repository is not on sys.path)
    assert re.search(r"ModuleNotFoundError: No module named 'gateway\.http'", str(raised.value)), raised.value
