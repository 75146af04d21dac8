"""The store of the Responses API: a DynamoDB table holding stored responses until their TTL, owned per API key."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import GatewayConfig
from infra.policies import removal_policy

# The key schema and TTL attribute the function code uses (lambdas/shared/python/gateway/response_store.py);
# tests/infra checks that both declare the same.
PARTITION_KEY = "id"
SORT_KEY = "part"
TTL_ATTRIBUTE = "expires_at"
# Exactly the calls gateway.response_store makes.
STORE_ACTIONS = ("dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteItem")


class ResponseStore(Construct):
    """On-demand, TTL-expiring, point-in-time-recoverable, KMS-encrypted table; kept on stack deletion by default."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GatewayConfig) -> None:
        super().__init__(scope, construct_id)
        self._ttl_days = config.responses.ttl_days
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.NUMBER),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=removal_policy(config),
        )

    def grant_store(self, role: iam.IRole) -> None:
        """Let `role` put, read and delete stored responses in this table (and nothing else in DynamoDB)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="ResponseStore", actions=list(STORE_ACTIONS), resources=[self.table.table_arn])
        )

    def environment(self) -> dict[str, str]:
        """The function environment naming the table and the time stored responses are kept."""
        return {"RESPONSES_TABLE": self.table.table_name, "RESPONSES_TTL_DAYS": str(self._ttl_days)}
