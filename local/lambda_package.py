"""An API function exactly as `cdk synth` packages it, run on this machine the way Lambda and its Web Adapter do.

Built from a synthesized cloud assembly: the function's code asset becomes the task root (`/var/task`), its layers
are unpacked into one `/opt` in the template's order, the project's dependency layer is pip-installed from the same
requirements for this machine's interpreter and architecture (Lambda's is arm64 CPython 3.13), and the public
Powertools layer is its pinned PyPI release. Started like the adapter starts it: the template's handler script
(`run.sh`) executed from the task root, with the template's environment (`/opt` paths mapped), `PORT`, and readiness
on the adapter's check path. The interpreter is a bare virtualenv: nothing but the packaged files is importable.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".build" / "lambda-package"
POWERTOOLS_LAYER = ":layer:AWSLambdaPowertoolsPythonV3"
WEB_ADAPTER_LAYER = ":layer:LambdaAdapterLayer"


@dataclass(frozen=True)
class PackagedFunction:
    name: str
    task_root: Path
    opt: Path
    handler: str
    environment: dict[str, str]

    @contextmanager
    def running(
        self, port: int, extra_env: Mapping[str, str], *, deadline: float = 30.0, cgroup: Path | None = None
    ) -> Iterator[LambdaProcess]:
        """Start the handler like the Lambda Web Adapter and wait for readiness; stopped on exit. With `cgroup` (a
        cgroup v1 directory), the process runs inside it from its first instruction (e.g. under a CPU quota)."""
        environment = {
            "PATH": f"{bare_interpreter().parent}:/usr/bin:/bin",
            "LAMBDA_TASK_ROOT": str(self.task_root),
            # Lambda's /var/task and /opt are read-only: no bytecode is cached there between cold starts.
            "PYTHONDONTWRITEBYTECODE": "1",
            **self.environment,
            **extra_env,
            "PORT": str(port),
            "AWS_LWA_PORT": str(port),
        }
        command = [str(self.task_root / self.handler)]
        # The function's output (a log line and metrics per request) goes to a file: a pipe nobody reads would fill.
        with tempfile.TemporaryFile() as output:
            started = time.perf_counter()
            process = subprocess.Popen(
                command,
                cwd=self.task_root,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=None if cgroup is None else lambda: (cgroup / "cgroup.procs").write_text(str(os.getpid())),
            )
            readiness = environment.get("AWS_LWA_READINESS_CHECK_PATH", "/")
            running = LambdaProcess(process, port, readiness, started, output)
            try:
                running.wait_ready(deadline)
                yield running
            finally:
                running.stop()


@dataclass
class LambdaProcess:
    process: subprocess.Popen[bytes]
    port: int
    readiness_path: str
    started: float
    log: IO[bytes]
    ready_after: float | None = None

    def wait_ready(self, deadline: float) -> None:
        """Poll the readiness path as the adapter does; raise with the process output if it exits or never answers."""
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"the function exited during start-up:\n{self.output()}")
            if time.perf_counter() - self.started > deadline:
                self.stop()
                raise RuntimeError(f"the function was not ready after {deadline} s:\n{self.output()}")
            time.sleep(0.005)
        self.ready_after = time.perf_counter() - self.started

    def _ready(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            connection.request("GET", self.readiness_path)
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        """The last of what the function wrote (stdout and stderr)."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]


def package_function(
    assembly: Path,
    function_id: str,
    *,
    dependency_layer_id: str,
    requirements: Path,
    powertools_requirement: str,
    workdir: Path,
    resolve: Mapping[str, str] | None = None,
) -> PackagedFunction:
    """Assemble function `function_id` of the assembly's stack under `workdir` (task root and /opt).

    `resolve` gives concrete values to environment variables the template sets from other resources (tokens).
    """
    template, assets = _read_assembly(assembly)
    props = template["Resources"][function_id]["Properties"]
    task_root = workdir / "task"
    shutil.copytree(_asset_path(assembly, assets, props["Code"]), task_root, symlinks=True)
    opt = workdir / "opt"
    opt.mkdir()
    for layer in props.get("Layers", []):
        if "Ref" in layer and layer["Ref"] == dependency_layer_id:
            source = dependencies_layer(requirements)
        elif "Ref" in layer:
            content = template["Resources"][layer["Ref"]]["Properties"]["Content"]
            source = _asset_path(assembly, assets, content)
        elif POWERTOOLS_LAYER in json.dumps(layer):
            source = _pip_layer("powertools", [powertools_requirement])
        elif WEB_ADAPTER_LAYER in json.dumps(layer):
            continue  # the adapter is what runs the package: `PackagedFunction.running` plays its part
        else:
            raise ValueError(f"unknown layer {layer!r} of {function_id}")
        shutil.copytree(source, opt, dirs_exist_ok=True, symlinks=True)
    environment = {}
    for name, value in props.get("Environment", {}).get("Variables", {}).items():
        if not isinstance(value, str):
            value = (resolve or {}).get(name)
            if value is None:
                raise ValueError(f"{function_id}: environment variable {name} is a token; give its value in resolve")
        environment[name] = value.replace("/opt", str(opt)) if value.startswith("/opt") else value
    name = environment.get("GPTOSS_FUNCTION", function_id)
    return PackagedFunction(name, task_root, opt, props["Handler"], environment)


def package_api_function(stack: Any, assembly: Path, name: str, workdir: Path) -> PackagedFunction:
    """API function `name` ("chat", "converse") of a synthesized GptOssGatewayStack, packaged under `workdir`: the
    dependency layer from lambdas/requirements.txt, Powertools as pinned in requirements-dev.txt, and placeholder
    values for the guardrail a deploy would create."""
    function = stack.gateway.functions[name].function.node.default_child
    dependencies = stack.gateway.layers.dependencies.node.default_child
    [powertools] = [
        line.strip()
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("aws-lambda-powertools")
    ]
    return package_function(
        assembly,
        stack.resolve(function.logical_id),
        dependency_layer_id=stack.resolve(dependencies.logical_id),
        requirements=ROOT / "lambdas" / "requirements.txt",
        powertools_requirement=powertools,
        workdir=workdir,
        resolve={
            "GUARDRAIL_ID": "gr-packaged",
            "GUARDRAIL_VERSION": "1",
            "RESPONSES_TABLE": "gptoss-responses-packaged",
        },
    )


def lambda_environment(bedrock_endpoint: str) -> dict[str, str]:
    """What Lambda adds to a function's own environment (Region, credentials), with Bedrock at `bedrock_endpoint`."""
    return {
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": "packaged",
        "AWS_SECRET_ACCESS_KEY": "packaged",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def dependencies_layer(requirements: Path) -> Path:
    """The project's dependency layer built for this interpreter and machine (cached by requirements and platform)."""
    from infra.functions import PipArm64Bundling  # CDK is imported only to build, never to run the package

    return _cached(
        f"dependencies-bytecode-{_digest(requirements.read_bytes())}",
        lambda out: PipArm64Bundling(requirements, platform=()).try_bundle(str(out), None),
    )


def _pip_layer(label: str, requirements: list[str]) -> Path:
    def build(out: Path) -> None:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        subprocess.run([*command, "--target", str(out / "python"), *requirements], check=True)

    return _cached(f"{label}-{_digest(' '.join(requirements).encode())}", build)


def bare_interpreter() -> Path:
    """A virtualenv of this interpreter without pip or any package: `<venv>/bin/python`."""
    venv = CACHE / f"bare-python-{_platform_tag()}"
    python = venv / "bin" / "python"
    if not python.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=CACHE))
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(staging / "venv")], check=True)
        shutil.rmtree(venv, ignore_errors=True)
        (staging / "venv").rename(venv)
        shutil.rmtree(staging)
    return python


def _cached(key: str, build: Any) -> Path:
    target = CACHE / f"{key}-{_platform_tag()}"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=CACHE))
        build(staging)
        try:
            staging.rename(target)
        except OSError:  # built meanwhile by another process
            shutil.rmtree(staging)
    return target


def _platform_tag() -> str:
    return f"cp{sys.version_info.major}{sys.version_info.minor}-{platform.machine()}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _read_assembly(assembly: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    [template_path] = assembly.glob("*.template.json")
    assets_path = template_path.with_name(template_path.name.replace(".template.json", ".assets.json"))
    return json.loads(template_path.read_text()), json.loads(assets_path.read_text())


def _asset_path(assembly: Path, assets: dict[str, Any], code: Mapping[str, Any]) -> Path:
    """The staged directory of a zip asset, from the S3 key the template points at."""
    asset_hash = str(code["S3Key"]).removesuffix(".zip")
    source = assets["files"][asset_hash]["source"]
    if source.get("packaging") != "zip":
        raise ValueError(f"asset {asset_hash} is not a zipped directory")
    return assembly / source["path"]
