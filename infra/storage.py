"""The data bucket (batch input, results, errors) and the bucket receiving its server access logs."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import GatewayConfig
from infra.nag import acknowledge
from infra.policies import removal_policy


class Storage(Construct):
    """Private, TLS-only, encrypted, versioned, EventBridge-notifying; kept on stack deletion by default."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GatewayConfig) -> None:
        super().__init__(scope, construct_id)
        self._removal_policy = removal_policy(config)
        self.access_logs = self._private_bucket(
            "AccessLogs", lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))]
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This bucket is the server-access-log destination; logging it into itself would loop.",
        )
        self.bucket = self._private_bucket("Data", versioned=True, event_bridge_enabled=True)
        self._deliver_access_logs(prefix="data/")
        self._acknowledge_notifications_handler()

    def _private_bucket(
        self,
        construct_id: str,
        *,
        versioned: bool = False,
        event_bridge_enabled: bool = False,
        lifecycle_rules: Sequence[s3.LifecycleRule] = (),
    ) -> s3.Bucket:
        """Both buckets: no public access, SSE-S3, TLS only, no ACLs, the configured removal policy."""
        return s3.Bucket(
            self,
            construct_id,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=self._removal_policy,
            versioned=versioned,
            event_bridge_enabled=event_bridge_enabled,
            lifecycle_rules=list(lifecycle_rules),
        )

    def _deliver_access_logs(self, *, prefix: str) -> None:
        """Server access logs via a bucket policy for the S3 logging service (no ACLs), whatever the app's flags."""
        data = self.bucket.node.default_child
        assert isinstance(data, s3.CfnBucket)
        data.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=self.access_logs.bucket_name, log_file_prefix=prefix
        )
        self.access_logs.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.access_logs.arn_for_objects(f"{prefix}*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID},
                },
            )
        )

    def _acknowledge_notifications_handler(self) -> None:
        """EventBridge notifications are switched on by CDK's stack-wide singleton handler function."""
        stack = cdk.Stack.of(self)
        for child in stack.node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge(
                    child,
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "CDK's built-in handler that turns on the bucket's EventBridge notifications at deploy time; "
                    "its role and managed logging policy are fixed by aws-cdk-lib.",
                )
