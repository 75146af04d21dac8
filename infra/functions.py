"""Lambda layers and functions: the shared translation layer, arm64 dependencies (bundled without Docker), the
public Powertools and Lambda Web Adapter layers, and a function construct that owns its role and log group."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import GatewayConfig
from infra.nag import acknowledge
from infra.policies import log_group

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS = ROOT / "lambdas"
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_TARGET = ("--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.13")
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache"]


def runtime_python() -> str | None:
    """A CPython 3.13 interpreter on this machine (Lambda's runtime version), found by ``.ci/python313``, if any."""
    found = subprocess.run([str(ROOT / ".ci" / "python313")], capture_output=True, text=True, check=False)
    return found.stdout.strip() or None


@jsii.implements(cdk.ILocalBundling)
class PipArm64Bundling:
    """CDK local bundling: pip-installs ``requirements`` as arm64/CPython 3.13 wheels into ``<output>/python``.

    Only binary wheels are accepted, so nothing is compiled for the build machine; no Docker involved. The layer
    ships bytecode compiled by ``compiler`` (a CPython 3.13; none: no bytecode), as unchecked-hash .pyc files: Lambda's
    /opt is read-only, so without them every cold start compiles the dependencies again (about half its import time).
    ``platform`` ``()`` builds the same layer for the running interpreter and machine instead (the packaged-artifact
    test, compiled by this interpreter).
    """

    def __init__(self, requirements: Path, platform: Sequence[str] = PIP_TARGET, compiler: str | None = None) -> None:
        self._requirements = requirements
        self._platform = tuple(platform)
        self._compiler = compiler if platform else sys.executable

    def try_bundle(self, output_dir: str, options: cdk.BundlingOptions | None) -> bool:
        target = Path(output_dir) / "python"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        command += [*self._platform, "--only-binary=:all:", "--target", str(target), "-r", str(self._requirements)]
        subprocess.run(command, check=True)
        for cache in target.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        if self._compiler:
            # A file a package ships but cannot compile (e.g. a template) is left as source, as pip would.
            compile_all = [self._compiler, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
            subprocess.run([*compile_all, str(target)], check=False, stdout=subprocess.DEVNULL)
        else:
            print(
                "warning: no Python 3.13 on this machine: the dependency layer ships without bytecode, so each cold "
                "start compiles it (install python3.13 or a pyenv 3.13 and synthesize again)",
                file=sys.stderr,
            )
        return True


class GatewayLayers(Construct):
    """The four layers every API function uses."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GatewayConfig) -> None:
        super().__init__(scope, construct_id)
        self.shared = lambda_.LayerVersion(
            self,
            "Shared",
            code=lambda_.Code.from_asset(str(LAMBDAS / "shared"), exclude=CODE_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="gpt-oss gateway: translation layer (gptoss) and runtime glue (gateway)",
        )
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=self._dependencies_code(LAMBDAS / "requirements.txt"),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="gpt-oss gateway: third-party runtime dependencies (arm64, CPython 3.13)",
        )
        layers = config.layers
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", layers.powertools_arn.format(region=cdk.Aws.REGION, version=layers.powertools_version)
        )
        self.web_adapter = lambda_.LayerVersion.from_layer_version_arn(
            self, "WebAdapter", layers.web_adapter_arn.format(region=cdk.Aws.REGION, version=layers.web_adapter_version)
        )

    def in_order(self, *, web_adapter: bool) -> list[lambda_.ILayerVersion]:
        """The layers for a function, in the order that decides which copy of a file wins.

        Lambda extracts layers into /opt in list order, a later layer's file replacing an earlier one's. The public
        Powertools layer bundles its own copies of some packages (typing_extensions, jmespath, ...): the pinned
        dependencies layer comes after it, so functions import the versions the tests ran; the gateway's own code
        comes last. The Web Adapter (an extension under /opt/extensions) shares no paths with them.
        """
        first = [self.web_adapter] if web_adapter else []
        return [*first, self.powertools, self.dependencies, self.shared]

    @staticmethod
    def _dependencies_code(requirements: Path) -> lambda_.Code:
        # The asset changes only when the pinned requirements, the target platform or the bytecode choice change.
        compiler = runtime_python()
        bytecode = b"cp313-bytecode" if compiler else b""
        digest = hashlib.sha256(requirements.read_bytes() + " ".join(PIP_TARGET).encode() + bytecode).hexdigest()
        return lambda_.Code.from_asset(
            str(requirements.parent),
            asset_hash_type=cdk.AssetHashType.CUSTOM,
            asset_hash=digest,
            bundling=cdk.BundlingOptions(
                # Never used: local bundling always succeeds or raises. CDK requires an image to be named.
                image=cdk.DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
                local=PipArm64Bundling(requirements, compiler=compiler),
            ),
        )


class GatewayFunction(Construct):
    """A Python 3.13 arm64 function with its own role (no managed policies) and log group; owns its cdk-nag findings."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        code_dir: Path,
        handler: str,
        memory_mb: int,
        timeout_seconds: int,
        environment: Mapping[str, str],
        layers: Sequence[lambda_.ILayerVersion] = (),
        config: GatewayConfig,
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        observability = config.observability
        self.log_group = log_group(self, "Logs", config)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"gpt-oss gateway {name} function",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn]
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=lambda_.Code.from_asset(str(code_dir), exclude=CODE_EXCLUDES),
            handler=handler,
            memory_size=memory_mb,
            timeout=cdk.Duration.seconds(timeout_seconds),
            layers=list(layers),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "GPTOSS_FUNCTION": name,
                "POWERTOOLS_SERVICE_NAME": f"gptoss-{name}",
                "POWERTOOLS_METRICS_NAMESPACE": observability.metrics_namespace,
                "LOG_LEVEL": observability.log_level,
                **environment,
            },
        )
        if layers:
            self._keep_layer_order(layers)
        self._acknowledge_findings()

    def _keep_layer_order(self, layers: Sequence[lambda_.ILayerVersion]) -> None:
        """Write the layers in the order given (see ``GatewayLayers.in_order``). With the feature flag
        ``@aws-cdk/aws-lambda:recognizeLayerVersion`` on (cdk.json, and the default of new CDK apps) CDK sorts a
        function's layers by construct path, which would let the public Powertools layer overwrite the pinned
        dependencies; the order Lambda merges them in is a decision, not a side effect of construct names."""
        resource = self.function.node.default_child
        assert isinstance(resource, lambda_.CfnFunction)
        resource.add_property_override("Layers", [layer.layer_version_arn for layer in layers])

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no "
            "resource-level permissions, so that statement must use '*'.",
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Pinned to python3.13 on purpose: the dependencies layer is built from cp313 wheels and the public "
            "Powertools layer is its python313 build; bump the runtime and the layers together.",
        )


def web_adapter_environment() -> dict[str, str]:
    """Environment for an ASGI app run by the Lambda Web Adapter (handler ``run.sh``), streaming responses."""
    return {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
        "AWS_LWA_INVOKE_MODE": "response_stream",
        "AWS_LWA_READINESS_CHECK_PATH": "/healthz",
        # The adapter reads AWS_LWA_PORT (its bare PORT fallback is deprecated); run.sh binds uvicorn to PORT.
        "AWS_LWA_PORT": "8080",
        "PORT": "8080",
        # run.sh starts a fresh interpreter: make the layers' /opt/python importable there.
        "PYTHONPATH": "/opt/python",
    }


def model_arns(models: Sequence[str]) -> list[str]:
    """Foundation-model ARNs (no account) in the deploy Region."""
    stack_arn = "arn:{partition}:bedrock:{region}::foundation-model/{model}"
    return [stack_arn.format(partition=cdk.Aws.PARTITION, region=cdk.Aws.REGION, model=model) for model in models]


def default_project_arn() -> str:
    """The account's default Bedrock project (id ``default``) in the deploy Region: runtime calls without
    ``projectIdentifier`` run in it, and Bedrock checks the invoke permission on it as well as on the model."""
    return f"arn:{cdk.Aws.PARTITION}:bedrock:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:project/default"
