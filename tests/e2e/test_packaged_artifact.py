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
from local.lambda_package import PackagedFunction, lambda_environment, package_api_function
from tests.infra.synthesis import Synth, synthesize

ROUTES = {"chat": "/v1", "converse": "/converse/v1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("artifact-cdk.out"))


def packaged(synth: Synth, name: str, workdir: Path) -> PackagedFunction:
    return package_api_function(synth.stack, synth.outdir, name, workdir)


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
    with function.running(port, lambda_environment(emulator.url)) as process:
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
        function.running(free_port(), lambda_environment(emulator.url), deadline=20),
    ):
        pass
    # Then it never becomes ready: the module is not found anywhere else (the repository is not on sys.path)
    assert re.search(r"ModuleNotFoundError: No module named 'gateway\.http'", str(raised.value)), raised.value
