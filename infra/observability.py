"""CloudWatch dashboard and alarms for the gateway (API Gateway metrics, Lambda metrics, the functions' EMF metrics),
and the SNS topic every alarm notifies when it fires and when it clears."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import GatewayConfig

FIVE_MINUTES = cdk.Duration.minutes(5)
# CloudWatch's hard limit on the metrics one metric-math alarm may reference (the Lambda throttle alarm: one each).
MAX_ALARM_METRICS = 10
# The dimension sets of the functions' EMF documents (lambdas/shared/python/gateway/observability.py).
BY_MODEL = ("model", "route", "service")
BY_API_KEY = ("api_key_id", "service")


class Observability(Construct):
    """Requests, errors by status class, p50/p99 latency, tokens by model, guardrail interventions, and throttles
    (Bedrock, and Lambda for every function given)."""

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
        self.alarm_topic = self._alarm_topic(settings.alarm_email)
        requests = api.metric_count(period=FIVE_MINUTES, label="Requests")
        server_errors = api.metric_server_error(period=FIVE_MINUTES, label="5xx")
        client_errors = api.metric_client_error(period=FIVE_MINUTES, label="4xx (includes 401/403/429)")
        error_rate = cw.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": server_errors},
            label="5xx rate (%)",
            period=FIVE_MINUTES,
        )
        if len(functions) > MAX_ALARM_METRICS:
            raise ValueError(f"a metric-math alarm reads at most {MAX_ALARM_METRICS} metrics, got {len(functions)}")
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

        self.error_rate_alarm = self._alarm(
            "ServerErrorRate",
            f"More than {settings.alarm_5xx_percent}% of requests answered 5xx over 5 minutes.",
            error_rate,
            threshold=settings.alarm_5xx_percent,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self.throttle_alarm = self._alarm(
            "BedrockThrottling",
            "Bedrock throttled the gateway (429 to clients): raise the Bedrock quota or lower the usage-plan limits.",
            bedrock_throttles,
            threshold=settings.alarm_throttles_per_5_minutes,
        )
        self.lambda_throttle_alarm = self._alarm(
            "LambdaThrottling",
            "Lambda throttled gateway functions (concurrency limit reached).",
            lambda_throttles,
            threshold=1,
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
            cw.GraphWidget(title="Input tokens by model", left=[self._search("InputTokens", "Sum", BY_MODEL)], width=8),
            cw.GraphWidget(
                title="Output tokens by model", left=[self._search("OutputTokens", "Sum", BY_MODEL)], width=8
            ),
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
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Tokens by API key id (who spent what)",
                left=[self._search("InputTokens", "Sum", BY_API_KEY)],
                right=[self._search("OutputTokens", "Sum", BY_API_KEY)],
                left_y_axis=cw.YAxisProps(label="input tokens", show_units=False),
                right_y_axis=cw.YAxisProps(label="output tokens", show_units=False),
                width=24,
            ),
        )

    def _alarm_topic(self, email: str | None) -> sns.Topic:
        """Encrypted, TLS-only topic. CloudWatch cannot publish to a topic under the AWS-managed SNS key, so the topic
        has its own key, usable by CloudWatch alarms of this account only."""
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="gpt-oss gateway: encrypts the alarm topic",
            enable_key_rotation=True,
        )
        stack = cdk.Stack.of(self)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
                    },
                },
            )
        )
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="gpt-oss gateway alarms",
            master_key=key,
            enforce_ssl=True,
        )
        if email:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    @property
    def dashboard_url(self) -> str:
        return (
            f"https://{cdk.Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={cdk.Aws.REGION}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )

    def _alarm(
        self,
        construct_id: str,
        description: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cw.Alarm:
        """An alarm on one 5-minute period; no data (no traffic) is not a breach. It notifies the alarm topic when it
        fires and when it clears."""
        alarm = cw.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        action = cw_actions.SnsAction(self.alarm_topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm

    def _search(self, metric_name: str, statistic: str, dimensions: tuple[str, ...] = ()) -> cw.MathExpression:
        """Every series of an EMF metric; with ``dimensions``, only the series of exactly that dimension set (the
        functions emit tokens twice: by route and model, and by API key id)."""
        scope = (
            "{" + ",".join((f'"{self._namespace}"', *dimensions)) + "}"
            if dimensions
            else f'Namespace="{self._namespace}"'
        )
        return cw.MathExpression(
            expression=f"SEARCH('{scope} MetricName=\"{metric_name}\"', '{statistic}', 300)",
            label=f"{metric_name} {statistic}",
            period=FIVE_MINUTES,
        )
