"""The Bedrock guardrail applied to every model call: content filters, denied topics and PII handling from config."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from constructs import Construct

from infra.config import GuardrailConfig


class Guardrail(Construct):
    """``AWS::Bedrock::Guardrail`` plus a published ``GuardrailVersion`` the functions pin to.

    A version is immutable, so its description carries a digest of the policy: changing the policy in cdk.json
    replaces the version resource, which publishes a new version and repoints the functions at it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailConfig) -> None:
        super().__init__(scope, construct_id)
        self.guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=cdk.Names.unique_resource_name(self, max_length=50, separator="-", allowed_special_characters="-_"),
            description=config.description,
            blocked_input_messaging=config.blocked_input_message,
            blocked_outputs_messaging=config.blocked_output_message,
            content_policy_config=_content_policy(config),
            topic_policy_config=_topic_policy(config),
            sensitive_information_policy_config=_pii_policy(config),
            word_policy_config=(
                bedrock.CfnGuardrail.WordPolicyConfigProperty(
                    managed_word_lists_config=[bedrock.CfnGuardrail.ManagedWordsConfigProperty(type="PROFANITY")]
                )
                if config.profanity_filter
                else None
            ),
        )
        digest = hashlib.sha256(json.dumps(dataclasses.asdict(config), sort_keys=True).encode()).hexdigest()[:16]
        self.version = bedrock.CfnGuardrailVersion(
            self,
            "Version",
            guardrail_identifier=self.guardrail.attr_guardrail_id,
            description=f"gpt-oss gateway policy {digest}",
        )
        self.guardrail_id = self.guardrail.attr_guardrail_id
        self.guardrail_arn = self.guardrail.attr_guardrail_arn
        self.version_number = self.version.attr_version


def _content_policy(config: GuardrailConfig) -> bedrock.CfnGuardrail.ContentPolicyConfigProperty | None:
    if not config.content_filters:
        return None
    return bedrock.CfnGuardrail.ContentPolicyConfigProperty(
        filters_config=[
            bedrock.CfnGuardrail.ContentFilterConfigProperty(
                type=item.type, input_strength=item.input_strength, output_strength=item.output_strength
            )
            for item in config.content_filters
        ]
    )


def _topic_policy(config: GuardrailConfig) -> bedrock.CfnGuardrail.TopicPolicyConfigProperty | None:
    if not config.denied_topics:
        return None
    return bedrock.CfnGuardrail.TopicPolicyConfigProperty(
        topics_config=[
            bedrock.CfnGuardrail.TopicConfigProperty(
                name=topic.name, definition=topic.definition, examples=list(topic.examples) or None, type="DENY"
            )
            for topic in config.denied_topics
        ]
    )


def _pii_policy(config: GuardrailConfig) -> bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty | None:
    if not config.pii_entities:
        return None
    return bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
        pii_entities_config=[
            bedrock.CfnGuardrail.PiiEntityConfigProperty(type=entity.type, action=entity.action)
            for entity in config.pii_entities
        ]
    )
