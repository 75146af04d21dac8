"""The gateway as one reusable construct (``GptOssGateway``) and the thin stack that deploys it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.api import GatewayApi
from infra.batch import BatchLifecycle
from infra.config import GatewayConfig
from infra.functions import (
    LAMBDAS,
    GatewayFunction,
    GatewayLayers,
    default_project_arn,
    model_arns,
    web_adapter_environment,
)
from infra.guardrail import Guardrail
from infra.observability import Observability
from infra.responses import ResponseStore
from infra.storage import Storage


def _responses_routes(prefix: str) -> tuple[tuple[str, str], ...]:
    """The Responses API under an OpenAI base_url: create, retrieve, delete, list input items."""
    one = f"{prefix}/responses/{{response_id}}"
    return ((f"{prefix}/responses", "POST"), (one, "GET"), (one, "DELETE"), (f"{one}/input_items", "GET"))


# (function name = its directory under lambdas/, routes as (path, method)). Each OpenAI base_url (<stage>/v1 and
# <stage>/converse/v1) serves chat completions, the Responses API and the models list. "{model+}" is greedy: model
# aliases such as "openai/gpt-oss-20b" contain a slash.
API_FUNCTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "chat",
        (
            ("/v1/chat/completions", "POST"),
            ("/v1/models", "GET"),
            ("/v1/models/{model+}", "GET"),
            *_responses_routes("/v1"),
        ),
    ),
    (
        "converse",
        (
            ("/converse/v1/chat/completions", "POST"),
            ("/converse/v1/models", "GET"),
            ("/converse/v1/models/{model+}", "GET"),
            *_responses_routes("/converse/v1"),
            ("/model/{modelId}/converse", "POST"),
        ),
    ),
)


class GptOssGateway(Construct):
    """OpenAI-compatible gateway for gpt-oss on Bedrock: API, functions, guardrail, bucket, batch, dashboard.

    Add it to any stack: ``GptOssGateway(stack, "Gateway", config=load_config(app.node.try_get_context("gptoss")))``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GatewayConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self._require_supported_region()
        # The bucket holds batch inputs and results only: no batch, no bucket.
        self.storage = Storage(self, "Storage", config=config) if config.batch.enabled else None
        self.responses = ResponseStore(self, "Responses", config=config)
        self.guardrail = Guardrail(self, "Guardrail", config=config.guardrail) if config.guardrail.enabled else None
        self.layers = GatewayLayers(self, "Layers", config=config)
        self.authorizer = GatewayFunction(
            self,
            "AuthorizerFunction",
            name="authorizer",
            code_dir=LAMBDAS / "authorizer",
            handler="authorizer.handler",
            memory_mb=config.functions.authorizer.memory_mb,
            timeout_seconds=config.functions.authorizer.timeout_seconds,
            environment={},
            config=config,
            description="gpt-oss gateway: bearer-token REQUEST authorizer",
        )
        self.api = GatewayApi(self, "Api", config=config, authorizer_function=self.authorizer.function)
        self.functions = {name: self._api_function(name, routes) for name, routes in API_FUNCTIONS}
        self.batch = (
            BatchLifecycle(self, "Batch", config=config, bucket=self.storage.bucket, layers=self.layers, api=self.api)
            if self.storage is not None
            else None
        )
        batch_functions = self.batch.functions.values() if self.batch is not None else ()
        self.observability = Observability(
            self,
            "Observability",
            config=config,
            api=self.api.rest_api,
            functions=[function.function for function in (self.authorizer, *self.functions.values(), *batch_functions)],
        )

    @property
    def base_url(self) -> str:
        """The OpenAI SDK's ``base_url`` for the InvokeModel-backed API: ``<stage url>/v1``."""
        return f"{self.api.url}v1"

    @property
    def converse_base_url(self) -> str:
        """The OpenAI SDK's ``base_url`` for the Converse-backed API: ``<stage url>/converse/v1``."""
        return f"{self.api.url}converse/v1"

    def _api_function(self, name: str, routes: tuple[tuple[str, str], ...]) -> GatewayFunction:
        settings = getattr(self.config.functions, name)
        function = GatewayFunction(
            self,
            f"{name.capitalize()}Function",
            name=name,
            code_dir=LAMBDAS / name,
            handler="run.sh",
            memory_mb=settings.memory_mb,
            timeout_seconds=settings.timeout_seconds,
            environment={
                **web_adapter_environment(),
                **self._api_environment(settings.timeout_seconds),
                **self.responses.environment(),
            },
            layers=self.layers.in_order(web_adapter=True),
            config=self.config,
            description=f"gpt-oss gateway: {name} API (ASGI app under the Lambda Web Adapter)",
        )
        # InvokeModel/Converse -> bedrock:InvokeModel; the streaming variants -> InvokeModelWithResponseStream.
        function.role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeEnabledModels",
                actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                resources=model_arns(self.config.models.enabled),
            )
        )
        # Bedrock also authorizes each runtime call against the project it runs in: the account's default project,
        # since the functions never send projectIdentifier.
        function.role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeInDefaultProject",
                actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                resources=[default_project_arn()],
            )
        )
        if self.guardrail is not None:
            # Required to call a model with guardrailIdentifier set (and for ApplyGuardrail itself).
            function.role.add_to_policy(
                iam.PolicyStatement(
                    sid="UseGatewayGuardrail",
                    actions=["bedrock:ApplyGuardrail"],
                    resources=[self.guardrail.guardrail_arn],
                )
            )
        self.responses.grant_store(function.role)
        for path, method in routes:
            self.api.add_route(path, method, function.function, stream=True)
        return function

    def _api_environment(self, timeout_seconds: int) -> dict[str, str]:
        config = self.config
        environment = {
            "ENABLED_MODELS": ",".join(config.models.enabled),
            "DEFAULT_MODEL": config.models.default,
            "LOG_PROMPTS": "true" if config.observability.log_prompts else "false",
            "BEDROCK_READ_TIMEOUT_SECONDS": str(timeout_seconds),
            "BEDROCK_CONNECT_TIMEOUT_SECONDS": str(config.functions.bedrock_connect_timeout_seconds),
            "BEDROCK_MAX_ATTEMPTS": str(config.functions.bedrock_max_attempts),
            "MAX_REQUEST_BYTES": str(config.api.max_request_bytes),
            "ALLOW_SERVICE_TIER": "true" if config.api.allow_service_tier else "false",
            "ALLOW_PERFORMANCE_CONFIG": "true" if config.api.allow_performance_config else "false",
            "IDLE_LIMIT_SECONDS": str(config.api.idle_limit_seconds),
        }
        if self.guardrail is not None:
            environment |= {
                "GUARDRAIL_ID": self.guardrail.guardrail_id,
                "GUARDRAIL_VERSION": self.guardrail.version_number,
                "GUARDRAIL_TRACE": "enabled" if config.guardrail.trace else "disabled",
            }
        return environment

    def _require_supported_region(self) -> None:
        regions = list(self.config.regions)
        cdk.CfnRule(
            self,
            "GptOssRegion",
            assertions=[
                cdk.CfnRuleAssertion(
                    assert_=cdk.Fn.condition_contains(regions, cdk.Aws.REGION),
                    assert_description=f"gpt-oss is served in-Region only in: {', '.join(regions)} "
                    '(cdk.json context "gptoss.regions").',
                )
            ],
        )


class GptOssGatewayStack(cdk.Stack):
    """Thin stack: one GptOssGateway, tagged, and the outputs a platform engineer needs after ``cdk deploy``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GatewayConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.gateway = GptOssGateway(self, "Gateway", config=config)
        cdk.Tags.of(self).add("project", "gpt-oss-gateway")
        self._outputs()

    def _outputs(self) -> None:
        key_id = self.gateway.api.api_key.key_id
        outputs = {
            "ApiBaseUrl": (
                self.gateway.base_url,
                "OpenAI SDK base_url (InvokeModel-backed): OpenAI(base_url=..., api_key=...)",
            ),
            "ConverseBaseUrl": (
                self.gateway.converse_base_url,
                "OpenAI SDK base_url for the Converse-backed API",
            ),
            "ApiKeyId": (key_id, "Id of the generated API key"),
            "UsagePlanId": (
                self.gateway.api.usage_plan.usage_plan_id,
                "Usage plan that throttles the keys: add rotated keys to it",
            ),
            "ApiKeyValueCommand": (
                cdk.Fn.join(
                    "",
                    [
                        "aws apigateway get-api-key --api-key ",
                        key_id,
                        " --include-value --query value --output text --region ",
                        cdk.Aws.REGION,
                    ],
                ),
                "Command printing the API key's value",
            ),
            "DashboardUrl": (self.gateway.observability.dashboard_url, "CloudWatch dashboard"),
            "AlarmTopicArn": (
                self.gateway.observability.alarm_topic.topic_arn,
                "SNS topic every alarm notifies (fired and cleared): subscribe your on-call channel to it",
            ),
        }
        if self.gateway.storage is not None:
            outputs["BucketName"] = (
                self.gateway.storage.bucket.bucket_name,
                "Batch bucket: upload input/<model>/<name>.jsonl",
            )
        if self.gateway.guardrail is not None:
            outputs["GuardrailId"] = (self.gateway.guardrail.guardrail_id, "Bedrock guardrail id")
            outputs["GuardrailVersion"] = (self.gateway.guardrail.version_number, "Bedrock guardrail version used")
        for output_id, (value, description) in outputs.items():
            cdk.CfnOutput(self, output_id, value=value, description=description)
