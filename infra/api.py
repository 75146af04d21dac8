"""The REST API: authorizer + usage-plan API keys, streamed Lambda integrations, OpenAI-shaped gateway errors."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import GatewayConfig
from infra.nag import acknowledge
from infra.policies import log_group


@dataclass(frozen=True)
class GatewayErrorResponse:
    """How API Gateway answers an error it raises itself: an OpenAI error object with the status the SDK maps.

    ``status`` None keeps API Gateway's own status (the DEFAULT_4XX/5XX fallbacks: setting one would change every
    response type that falls back to it); ``message`` None passes API Gateway's own message through.
    """

    response_type: apigw.ResponseType
    status: str | None
    type: str
    code: str | None
    message: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


_WRONG_KEY = (
    "Incorrect API key provided: it is not a key of this gateway, or it is disabled. "
    "Send 'Authorization: Bearer <key>' with a key from the stack's usage plan."
)
_GATEWAY_FAULT = "The gateway could not handle the request; retry."

# Every response type a client can meet (AWS: "Gateway response types for API Gateway"); the rest fall back to the
# DEFAULT_4XX/5XX entries, which are OpenAI error objects too.
GATEWAY_ERRORS: tuple[GatewayErrorResponse, ...] = (
    # The authorizer was not called (no Authorization header) or raised "Unauthorized" (not a bearer token).
    GatewayErrorResponse(
        apigw.ResponseType.UNAUTHORIZED,
        "401",
        "invalid_request_error",
        "invalid_api_key",
        "Missing or malformed API key: send the header 'Authorization: Bearer <key>'.",
    ),
    # The bearer token handed over as usageIdentifierKey is no enabled key of the usage plan. API Gateway's default
    # is 403 (the OpenAI SDK would raise PermissionDeniedError); OpenAI answers a wrong key with 401.
    GatewayErrorResponse(
        apigw.ResponseType.INVALID_API_KEY, "401", "invalid_request_error", "invalid_api_key", _WRONG_KEY
    ),
    # The authorizer's policy denies the route (it never does today): a permission error, as OpenAI's 403.
    GatewayErrorResponse(apigw.ResponseType.ACCESS_DENIED, "403", "permission_error", "access_denied"),
    # The authorizer failed or timed out: transient, so a 5xx the SDK retries.
    GatewayErrorResponse(
        apigw.ResponseType.AUTHORIZER_FAILURE, "500", "api_error", "authorizer_failure", _GATEWAY_FAULT
    ),
    GatewayErrorResponse(
        apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR, "500", "api_error", "authorizer_failure", _GATEWAY_FAULT
    ),
    GatewayErrorResponse(
        apigw.ResponseType.API_CONFIGURATION_ERROR, "500", "api_error", "gateway_error", _GATEWAY_FAULT
    ),
    # API Gateway answers an unknown path or method with MISSING_AUTHENTICATION_TOKEN (403 by default).
    GatewayErrorResponse(
        apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        "404",
        "invalid_request_error",
        "unknown_url",
        "Unknown request URL. Use base_url <api url>/v1 or <api url>/converse/v1.",
    ),
    GatewayErrorResponse(apigw.ResponseType.RESOURCE_NOT_FOUND, "404", "invalid_request_error", "unknown_url"),
    GatewayErrorResponse(
        apigw.ResponseType.THROTTLED,
        "429",
        "rate_limit_error",
        "rate_limit_exceeded",
        "Rate limit reached for this API key; retry.",
        (("Retry-After", "1"),),
    ),
    # A spent daily quota does not come back within the SDK's retries: tell it not to retry (x-should-retry).
    GatewayErrorResponse(
        apigw.ResponseType.QUOTA_EXCEEDED,
        "429",
        "insufficient_quota",
        "insufficient_quota",
        "Daily request quota for this API key exceeded.",
        (("x-should-retry", "false"),),
    ),
    GatewayErrorResponse(apigw.ResponseType.REQUEST_TOO_LARGE, "413", "invalid_request_error", "request_too_large"),
    GatewayErrorResponse(
        apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, "415", "invalid_request_error", "unsupported_media_type"
    ),
    GatewayErrorResponse(apigw.ResponseType.WAF_FILTERED, "403", "permission_error", "request_blocked"),
    GatewayErrorResponse(
        apigw.ResponseType.INTEGRATION_TIMEOUT, "504", "api_error", "timeout", "The model did not answer in time."
    ),
    GatewayErrorResponse(apigw.ResponseType.INTEGRATION_FAILURE, "504", "api_error", "gateway_error", _GATEWAY_FAULT),
    GatewayErrorResponse(apigw.ResponseType.DEFAULT_4_XX, None, "invalid_request_error", None),
    GatewayErrorResponse(apigw.ResponseType.DEFAULT_5_XX, None, "api_error", None),
)

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "apiKeyId": "$context.identity.apiKeyId",
    "principalId": "$context.authorizer.principalId",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "error": "$context.error.message",
    "authorizerError": "$context.authorizer.error",
    "xrayTraceId": "$context.xrayTraceId",
}


class GatewayApi(Construct):
    """Regional REST API. Every method needs the bearer-token authorizer and a usage-plan API key."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: GatewayConfig, authorizer_function: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        settings = config.api
        self.access_logs = log_group(self, "AccessLogs", config)
        self.rest_api = apigw.RestApi(
            self,
            "Api",
            description="gpt-oss gateway: OpenAI-compatible API for gpt-oss on Amazon Bedrock",
            # Regional: 5-minute idle timeout on streamed responses (edge-optimized: 30 s).
            endpoint_types=[apigw.EndpointType.REGIONAL],
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            # Account-wide (per Region) setting: the role API Gateway writes every API's logs with.
            cloud_watch_role=settings.cloudwatch_role,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN if settings.cloudwatch_role else None,
            deploy_options=apigw.StageOptions(
                stage_name=settings.stage_name,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Request/response bodies are prompts and completions: never in execution logs.
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
        )
        # The stack outputs the OpenAI base_url (<stage url>/v1) instead of the bare stage URL.
        self.rest_api.node.try_remove_child("Endpoint")
        self.authorizer = apigw.RequestAuthorizer(
            self,
            "Authorizer",
            handler=authorizer_function,
            identity_sources=[apigw.IdentitySource.header("Authorization")],
            results_cache_ttl=cdk.Duration.seconds(settings.authorizer_cache_seconds),
        )
        self._add_usage_plan()
        self._add_gateway_responses()
        self._suppress_nag_findings()

    @property
    def url(self) -> str:
        """The stage URL, ending with a slash: ``https://<id>.execute-api.<region>.amazonaws.com/<stage>/``."""
        return self.rest_api.url

    def add_route(self, path: str, http_method: str, handler: lambda_.IFunction, *, stream: bool) -> apigw.Method:
        """An authorized, API-key-protected Lambda proxy route; ``stream`` selects ``ResponseTransferMode.STREAM``."""
        if stream:
            integration = apigw.LambdaIntegration(
                handler,
                response_transfer_mode=apigw.ResponseTransferMode.STREAM,
                timeout=cdk.Duration.seconds(self._config.api.integration_timeout_seconds),
            )
        else:
            integration = apigw.LambdaIntegration(handler)
        return self.rest_api.root.resource_for_path(path).add_method(
            http_method,
            integration,
            authorizer=self.authorizer,
            authorization_type=apigw.AuthorizationType.CUSTOM,
            api_key_required=True,
        )

    def _add_usage_plan(self) -> None:
        settings = self._config.api
        self.usage_plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            description="gpt-oss gateway default plan",
            throttle=apigw.ThrottleSettings(
                rate_limit=settings.throttle_rate_limit, burst_limit=settings.throttle_burst_limit
            ),
            quota=apigw.QuotaSettings(limit=settings.daily_quota, period=apigw.Period.DAY),
        )
        self.usage_plan.add_api_stage(stage=self.rest_api.deployment_stage)
        self.api_key = apigw.ApiKey(self, "DefaultKey", description="gpt-oss gateway key (generated)", enabled=True)
        self.usage_plan.add_api_key(self.api_key)

    def _add_gateway_responses(self) -> None:
        for error in GATEWAY_ERRORS:
            message = json.dumps(error.message) if error.message else "$context.error.messageString"
            body = {"message": "@MESSAGE@", "type": error.type, "param": None, "code": error.code}
            template = json.dumps({"error": body}, separators=(",", ":")).replace('"@MESSAGE@"', message)
            headers = {"Content-Type": "'application/json'", **{name: f"'{value}'" for name, value in error.headers}}
            self.rest_api.add_gateway_response(
                f"Error{error.response_type.response_type}",
                type=error.response_type,
                status_code=error.status,
                response_headers=headers,
                templates={"application/json": template},
            )

    def _suppress_nag_findings(self) -> None:
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG2",
            "Bodies are validated by the functions, which answer OpenAI-shaped 400s naming the offending "
            "parameter; an API Gateway request model would answer in a shape the OpenAI SDK cannot parse.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG3",
            "Per-key throttling and daily quotas come from the usage plan; a WAF web ACL is an account-level "
            "choice left to the deployer (associate one with the stage when needed).",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Callers are services using the OpenAI SDK with bearer API keys, authorised by the REQUEST "
            "authorizer plus usage-plan keys; there is no Cognito user pool by design.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level CloudWatch role must carry the AWS-managed "
            "AmazonAPIGatewayPushToCloudWatchLogs policy to write execution and access logs.",
        )
