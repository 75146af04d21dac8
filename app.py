"""CDK entry point: read the ``gptoss`` context from cdk.json, validate it, build the stack, run cdk-nag."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import CONTEXT_KEY, ConfigError, load_config, stack_name
from infra.stack import GptOssGatewayStack


def build_app(app: cdk.App) -> GptOssGatewayStack:
    """Build the stack into ``app``; raises ``ConfigError`` naming the bad cdk.json key."""
    config = load_config(app.node.try_get_context(CONTEXT_KEY))
    stack = GptOssGatewayStack(
        app,
        stack_name(app.node.try_get_context),
        config=config,
        description="OpenAI-compatible gateway for gpt-oss on Amazon Bedrock",
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> int:
    app = cdk.App()
    try:
        build_app(app)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
