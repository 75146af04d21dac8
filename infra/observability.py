"""CloudWatch dashboard and alarms for the gateway (API Gateway metrics, Lambda metrics, the functions' EMF metrics)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import GatewayConfig

FIVE_MINUTES = cdk.Duration.minutes(5)


class Observability(Construct):
    """Requests, errors by status class, p50/p99 latency, tokens by model, guardrail interventions, throttles."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GatewayConfig,
        api: apigw.RestApi,
        functions: Sequence[lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.observability
        self._namespace = settings.metrics_namespace
        requests = api.metric_count(period=FIVE_MINUTES, label="Requests")
        server_errors = api.metric_server_error(period=FIVE_MINUTES, label="5xx")
        client_errors = api.metric_client_error(period=FIVE_MINUTES, label="4xx (includes 401/403/429)")
        error_rate = cw.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": server_errors},
            label="5xx rate (%)",
            period=FIVE_MINUTES,
        )
        lambda_throttles = cw.MathExpression(
            expression=" + ".join(f"FILL(t{index}, 0)" for index in range(len(functions))) or "0",
            using_metrics={
                f"t{index}": fn.metric_throttles(period=FIVE_MINUTES, statistic="Sum")
                for index, fn in enumerate(functions)
            },
            label="Lambda throttles",
            period=FIVE_MINUTES,
        )
        bedrock_throttles = cw.MathExpression(
            expression=f'SELECT SUM(Throttles) FROM "{self._namespace}"',
            label="Bedrock throttles",
            period=FIVE_MINUTES,
        )

        self.error_rate_alarm = cw.Alarm(
            self,
            "ServerErrorRate",
            alarm_description=f"More than {settings.alarm_5xx_percent}% of requests answered 5xx over 5 minutes.",
            metric=error_rate,
            threshold=settings.alarm_5xx_percent,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        self.throttle_alarm = cw.Alarm(
            self,
            "BedrockThrottling",
            alarm_description="Bedrock throttled the gateway (429 to clients): raise the Bedrock quota or lower "
            "the usage-plan limits.",
            metric=bedrock_throttles,
            threshold=settings.alarm_throttles_per_5_minutes,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        self.lambda_throttle_alarm = cw.Alarm(
            self,
            "LambdaThrottling",
            alarm_description="Lambda throttled gateway functions (concurrency limit reached).",
            metric=lambda_throttles,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=cdk.Duration.hours(3))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Requests", left=[requests], width=8),
            cw.GraphWidget(title="Errors by status", left=[client_errors, server_errors], right=[error_rate], width=8),
            cw.GraphWidget(
                title="Latency (API Gateway)",
                left=[
                    api.metric_latency(period=FIVE_MINUTES, statistic="p50", label="p50"),
                    api.metric_latency(period=FIVE_MINUTES, statistic="p99", label="p99"),
                ],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Input tokens by model", left=[self._search("InputTokens", "Sum")], width=8),
            cw.GraphWidget(title="Output tokens by model", left=[self._search("OutputTokens", "Sum")], width=8),
            cw.GraphWidget(
                title="Latency by model (gateway)",
                left=[self._search("Latency", "p50"), self._search("Latency", "p99")],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Guardrail interventions", left=[self._search("GuardrailInterventions", "Sum")], width=8
            ),
            cw.GraphWidget(title="Throttles", left=[bedrock_throttles, lambda_throttles], width=8),
            cw.AlarmStatusWidget(
                title="Alarms",
                alarms=[self.error_rate_alarm, self.throttle_alarm, self.lambda_throttle_alarm],
                width=8,
            ),
        )

    @property
    def dashboard_url(self) -> str:
        return (
            f"https://{cdk.Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={cdk.Aws.REGION}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )

    def _search(self, metric_name: str, statistic: str) -> cw.MathExpression:
        """Every series of an EMF metric (one per model/route), whatever dimensions the functions add."""
        return cw.MathExpression(
            expression=(f"SEARCH('Namespace=\"{self._namespace}\" MetricName=\"{metric_name}\"', '{statistic}', 300)"),
            label=f"{metric_name} {statistic}",
            period=FIVE_MINUTES,
        )
