"""CDK constructs for the gpt-oss gateway. ``from infra import GptOssGateway, load_config`` to embed it."""

from infra.config import BatchConfig, ConfigError, GatewayConfig, load_config
from infra.stack import GptOssGateway, GptOssGatewayStack

__all__ = ["BatchConfig", "ConfigError", "GatewayConfig", "GptOssGateway", "GptOssGatewayStack", "load_config"]
