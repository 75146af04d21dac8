"""The deploy-time configuration: one frozen, typed object read from cdk.json context key ``gptoss``.

Every section is a frozen dataclass; each leaf field declares its bounds or allowed values in ``metadata``, and
``load_config`` validates the raw context against them. A bad value raises ``ConfigError`` naming the exact key,
e.g. ``cdk.json context "gptoss.models.enabled"[1]: unknown model "x"; allowed: ...``.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CONTEXT_KEY = "gptoss"
STACK_NAME = "GptOssGateway"
STACK_NAME_CONTEXT = "gptoss:stackName"

GPT_OSS_20B = "openai.gpt-oss-20b-1:0"
GPT_OSS_120B = "openai.gpt-oss-120b-1:0"
KNOWN_MODELS = (GPT_OSS_20B, GPT_OSS_120B)

# Commercial Regions offering gpt-oss in-Region (AWS model card, facts sheet section 7).
GPT_OSS_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "eu-west-1",
    "eu-west-2",
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "sa-east-1",
)

CONTENT_FILTER_TYPES = ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK")
FILTER_STRENGTHS = ("NONE", "LOW", "MEDIUM", "HIGH")
PII_ACTIONS = ("BLOCK", "ANONYMIZE", "NONE")
PII_ENTITY_TYPES = (
    "ADDRESS",
    "AGE",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "CA_HEALTH_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY",
    "CREDIT_DEBIT_CARD_NUMBER",
    "DRIVER_ID",
    "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "IP_ADDRESS",
    "LICENSE_PLATE",
    "MAC_ADDRESS",
    "NAME",
    "PASSWORD",
    "PHONE",
    "PIN",
    "SWIFT_CODE",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    "URL",
    "USERNAME",
    "US_BANK_ACCOUNT_NUMBER",
    "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "US_PASSPORT_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER",
)
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# One address, no display name or list (what an SNS email subscription accepts).
EMAIL_PATTERN = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"

WEB_ADAPTER_ARN = "arn:aws:lambda:{region}:753240598075:layer:LambdaAdapterLayerArm64:{version}"
POWERTOOLS_ARN = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:{version}"


class ConfigError(ValueError):
    """A cdk.json context value is missing, mistyped or out of range; the message names the key."""


def _bounds(low: int, high: int) -> dict[str, Any]:
    return {"min": low, "max": high}


def _choices(*allowed: object) -> dict[str, Any]:
    return {"choices": allowed}


def _text(max_len: int, pattern: str | None = None) -> dict[str, Any]:
    return {"min_len": 1, "max_len": max_len, "pattern": pattern}


@dataclass(frozen=True)
class ModelsConfig:
    enabled: tuple[str, ...] = field(default=KNOWN_MODELS, metadata={"choices": KNOWN_MODELS, "unique": True})
    default: str = field(default=GPT_OSS_120B, metadata=_choices(*KNOWN_MODELS))


@dataclass(frozen=True)
class ContentFilter:
    type: str = field(metadata=_choices(*CONTENT_FILTER_TYPES))
    input_strength: str = field(default="HIGH", metadata=_choices(*FILTER_STRENGTHS))
    output_strength: str = field(default="HIGH", metadata=_choices(*FILTER_STRENGTHS))


@dataclass(frozen=True)
class DeniedTopic:
    name: str = field(metadata=_text(100, r"^[0-9a-zA-Z\-_ !?.]+$"))
    definition: str = field(metadata=_text(200))
    examples: tuple[str, ...] = field(default=(), metadata={"max_items": 5, "max_len": 100})


@dataclass(frozen=True)
class PiiEntity:
    type: str = field(metadata=_choices(*PII_ENTITY_TYPES))
    action: str = field(default="ANONYMIZE", metadata=_choices(*PII_ACTIONS))


def _default_filters() -> tuple[ContentFilter, ...]:
    filters = [ContentFilter(kind) for kind in CONTENT_FILTER_TYPES if kind != "PROMPT_ATTACK"]
    # Prompt-attack filtering applies to input only; Bedrock requires its output strength to be NONE.
    return (*filters, ContentFilter("PROMPT_ATTACK", "HIGH", "NONE"))


@dataclass(frozen=True)
class GuardrailConfig:
    enabled: bool = True
    description: str = field(default="gpt-oss gateway guardrail", metadata=_text(200))
    blocked_input_message: str = field(
        default="Sorry, this request was blocked by the gateway's content policy.", metadata=_text(500)
    )
    blocked_output_message: str = field(
        default="Sorry, the answer was blocked by the gateway's content policy.", metadata=_text(500)
    )
    content_filters: tuple[ContentFilter, ...] = field(default_factory=_default_filters, metadata={"max_items": 6})
    denied_topics: tuple[DeniedTopic, ...] = field(default=(), metadata={"max_items": 30})
    pii_entities: tuple[PiiEntity, ...] = field(
        default=(
            PiiEntity("AWS_ACCESS_KEY", "BLOCK"),
            PiiEntity("AWS_SECRET_KEY", "BLOCK"),
            PiiEntity("PASSWORD", "BLOCK"),
            PiiEntity("CREDIT_DEBIT_CARD_NUMBER", "ANONYMIZE"),
            PiiEntity("US_SOCIAL_SECURITY_NUMBER", "ANONYMIZE"),
        ),
        metadata={"max_items": len(PII_ENTITY_TYPES)},
    )
    profanity_filter: bool = False
    trace: bool = True


@dataclass(frozen=True)
class ApiConfig:
    stage_name: str = field(default="api", metadata=_text(64, r"^[a-zA-Z0-9_]+$"))
    throttle_rate_limit: int = field(default=20, metadata=_bounds(1, 10_000))
    throttle_burst_limit: int = field(default=40, metadata=_bounds(1, 5_000))
    daily_quota: int = field(default=10_000, metadata=_bounds(1, 100_000_000))
    # Streamed integrations may run up to 15 minutes.
    integration_timeout_seconds: int = field(default=900, metadata=_bounds(30, 900))
    authorizer_cache_seconds: int = field(default=300, metadata=_bounds(0, 3600))
    max_request_bytes: int = field(default=1_048_576, metadata=_bounds(1024, 10_485_760))
    # Native Converse members that change what the account is billed: refused unless allowed here.
    allow_service_tier: bool = False
    allow_performance_config: bool = False
    # API Gateway drops a streamed response silent for 5 minutes (Regional); lower it for a stricter proxy in front.
    idle_limit_seconds: int = field(default=300, metadata=_bounds(10, 300))
    # Create the account-wide API Gateway CloudWatch Logs role (false: the account already has one, managed centrally).
    cloudwatch_role: bool = True


@dataclass(frozen=True)
class FunctionConfig:
    # 384 MB: chosen by `make bench` (bench/bench_memory.py, table in README.md): the largest size whose compute stays
    # within 10% of gpt-oss-120b's token cost per streamed answer.
    memory_mb: int = field(default=384, metadata=_bounds(128, 10_240))
    timeout_seconds: int = field(default=900, metadata=_bounds(3, 900))


@dataclass(frozen=True)
class FunctionsConfig:
    chat: FunctionConfig = FunctionConfig()
    converse: FunctionConfig = FunctionConfig()
    authorizer: FunctionConfig = FunctionConfig(memory_mb=256, timeout_seconds=5)
    bedrock_connect_timeout_seconds: int = field(default=5, metadata=_bounds(1, 60))
    bedrock_max_attempts: int = field(default=2, metadata=_bounds(1, 10))


@dataclass(frozen=True)
class LayersConfig:
    """Public layers: ``{region}`` and ``{version}`` are substituted (region = the deploy Region)."""

    web_adapter_arn: str = field(default=WEB_ADAPTER_ARN, metadata=_text(256, r"^arn:aws[a-z-]*:lambda:\{region\}:"))
    web_adapter_version: int = field(default=30, metadata=_bounds(1, 10_000))
    powertools_arn: str = field(default=POWERTOOLS_ARN, metadata=_text(256, r"^arn:aws[a-z-]*:lambda:\{region\}:"))
    powertools_version: int = field(default=27, metadata=_bounds(1, 10_000))


@dataclass(frozen=True)
class ObservabilityConfig:
    log_prompts: bool = False
    log_level: str = field(default="INFO", metadata=_choices("DEBUG", "INFO", "WARNING", "ERROR"))
    log_retention_days: int = field(default=30, metadata=_choices(*LOG_RETENTION_DAYS))
    metrics_namespace: str = field(default="GptOssGateway", metadata=_text(255, r"^[A-Za-z0-9_.\-/#:]+$"))
    alarm_5xx_percent: int = field(default=5, metadata=_bounds(1, 100))
    alarm_throttles_per_5_minutes: int = field(default=10, metadata=_bounds(1, 1_000_000))
    # Subscribed to the alarm topic (SNS sends a confirmation mail first); null: subscribe yourself.
    alarm_email: str | None = field(default=None, metadata=_text(254, EMAIL_PATTERN))


@dataclass(frozen=True)
class BatchConfig:
    """Batch lifecycle settings (consumed by infra/batch.py). Quotas default to Bedrock's."""

    # False: no batch lifecycle at all (Bedrock batch jobs take no guardrail; for teams that require one on every call).
    enabled: bool = True
    min_records: int = field(default=100, metadata=_bounds(1, 50_000))
    max_records: int = field(default=50_000, metadata=_bounds(1, 1_000_000))
    max_file_bytes: int = field(default=1_000_000_000, metadata=_bounds(1, 1_000_000_000))
    job_timeout_hours: int = field(default=24, metadata=_bounds(24, 168))
    poll_interval_seconds: int = field(default=60, metadata=_bounds(1, 3600))
    max_poll_interval_seconds: int = field(default=900, metadata=_bounds(1, 3600))
    # Files under min_records run on demand (InvokeModel) with this many requests in flight.
    on_demand_concurrency: int = field(default=4, metadata=_bounds(1, 64))
    # Attempts per on-demand request when Bedrock throttles (exponential backoff with jitter between them).
    on_demand_max_attempts: int = field(default=6, metadata=_bounds(1, 20))
    # POST /v1/files: Lambda's 6 MB invocation payload carries the multipart body base64-encoded (API Gateway's own
    # cap is 10 MB), so about 4 MB of file fits; larger inputs go to the bucket (see README).
    max_upload_bytes: int = field(default=4_000_000, metadata=_bounds(1, 4_400_000))


@dataclass(frozen=True)
class ResponsesConfig:
    """Stored Responses (the Responses API's `store`): kept this long after they were created."""

    ttl_days: int = field(default=30, metadata=_bounds(1, 3650))


@dataclass(frozen=True)
class GatewayConfig:
    models: ModelsConfig = ModelsConfig()
    guardrail: GuardrailConfig = GuardrailConfig()
    api: ApiConfig = ApiConfig()
    functions: FunctionsConfig = FunctionsConfig()
    layers: LayersConfig = LayersConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    batch: BatchConfig = BatchConfig()
    responses: ResponsesConfig = ResponsesConfig()
    regions: tuple[str, ...] = field(default=GPT_OSS_REGIONS, metadata={"pattern": r"^[a-z]{2}(-[a-z]+)+-\d$"})
    removal_policy: str = field(default="retain", metadata=_choices("retain", "destroy"))


def stack_name(context: typing.Callable[[str], object]) -> str:
    """The stack's name: context key ``gptoss:stackName`` (looked up with ``context``), else ``GptOssGateway``."""
    return str(context(STACK_NAME_CONTEXT) or STACK_NAME)


def load_config(context: object) -> GatewayConfig:
    """Build and validate the config from the raw ``gptoss`` context value (``None`` means all defaults)."""
    config = _build(GatewayConfig, {} if context is None else context, f'"{CONTEXT_KEY}"')
    models_raw = context.get("models", {}) if isinstance(context, Mapping) else {}
    if "default" not in models_raw and config.models.default not in config.models.enabled and config.models.enabled:
        # Only the enabled subset was configured: the default follows it instead of failing.
        config = dataclasses.replace(
            config, models=dataclasses.replace(config.models, default=config.models.enabled[0])
        )
    _check_cross_fields(config)
    return config


def _check_cross_fields(config: GatewayConfig) -> None:
    models = config.models
    if not models.enabled:
        raise ConfigError(f'cdk.json context "{CONTEXT_KEY}.models.enabled": enable at least one model')
    if models.default not in models.enabled:
        raise ConfigError(
            f'cdk.json context "{CONTEXT_KEY}.models.default": "{models.default}" is not enabled; '
            f"enabled: {', '.join(models.enabled)}"
        )
    if config.api.throttle_burst_limit < config.api.throttle_rate_limit:
        raise ConfigError(f'cdk.json context "{CONTEXT_KEY}.api.throttle_burst_limit": must be >= throttle_rate_limit')
    batch = config.batch
    if batch.max_records < batch.min_records:
        raise ConfigError(f'cdk.json context "{CONTEXT_KEY}.batch.max_records": must be >= min_records')
    if batch.max_poll_interval_seconds < batch.poll_interval_seconds:
        raise ConfigError(
            f'cdk.json context "{CONTEXT_KEY}.batch.max_poll_interval_seconds": must be >= poll_interval_seconds'
        )
    if not config.regions:
        raise ConfigError(f'cdk.json context "{CONTEXT_KEY}.regions": list at least one Region')
    _check_guardrail(config.guardrail)


def _check_guardrail(guardrail: GuardrailConfig) -> None:
    path = f'"{CONTEXT_KEY}.guardrail.content_filters"'
    seen: set[str] = set()
    for index, content_filter in enumerate(guardrail.content_filters):
        if content_filter.type in seen:
            _fail(f"{path}[{index}].type", f'duplicate filter type "{content_filter.type}"')
        seen.add(content_filter.type)
        if content_filter.type == "PROMPT_ATTACK" and content_filter.output_strength != "NONE":
            _fail(f"{path}[{index}].output_strength", 'must be "NONE" for PROMPT_ATTACK (it filters input only)')
    pii_types = [entity.type for entity in guardrail.pii_entities]
    for index, kind in enumerate(pii_types):
        if kind in pii_types[:index]:
            _fail(f'"{CONTEXT_KEY}.guardrail.pii_entities"[{index}].type', f'duplicate entity type "{kind}"')


def _fail(path: str, message: str) -> typing.NoReturn:
    raise ConfigError(f"cdk.json context {path}: {message}")


def _child(path: str, name: str) -> str:
    """``"gptoss.api"`` + ``stage_name`` -> ``"gptoss.api.stage_name"``; list items get ``[0].name``."""
    return f'{path[:-1]}.{name}"' if path.endswith('"') else f"{path}.{name}"


def _build(cls: type, raw: object, path: str) -> Any:
    """Instantiate dataclass ``cls`` from a JSON mapping, validating every field against its metadata."""
    if not isinstance(raw, Mapping):
        _fail(path, f"expected an object, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        _fail(_child(path, unknown[0]), f"unknown key; allowed: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, spec in fields.items():
        key_path = _child(path, name)
        if name in raw:
            values[name] = _convert(hints[name], raw[name], key_path, spec.metadata)
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            _fail(key_path, "required")
    return cls(**values)


def _convert(hint: Any, value: object, path: str, meta: Mapping[str, Any]) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return _convert_tuple(typing.get_args(hint)[0], value, path, meta)
    if origin in (typing.Union, types.UnionType):
        return None if value is None else _convert(typing.get_args(hint)[0], value, path, meta)
    if hint is bool:
        if not isinstance(value, bool):
            _fail(path, f"expected true or false, got {value!r}")
        return value
    if hint is int:
        return _check_int(value, path, meta)
    if hint is str:
        return _check_str(value, path, meta)
    raise TypeError(f"unsupported config field type {hint!r} at {path}")


def _convert_tuple(item_hint: Any, value: object, path: str, meta: Mapping[str, Any]) -> tuple[Any, ...]:
    if not isinstance(value, list):
        _fail(path, f"expected a list, got {type(value).__name__}")
    if "max_items" in meta and len(value) > meta["max_items"]:
        _fail(path, f"at most {meta['max_items']} entries allowed, got {len(value)}")
    item_meta = {k: v for k, v in meta.items() if k not in ("max_items", "unique")}
    items = tuple(_convert(item_hint, item, f"{path}[{index}]", item_meta) for index, item in enumerate(value))
    if meta.get("unique"):
        for index, item in enumerate(items):
            if item in items[:index]:
                _fail(f"{path}[{index}]", f"duplicate value {item!r}")
    return items


def _check_int(value: object, path: str, meta: Mapping[str, Any]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(path, f"expected an integer, got {value!r}")
    if "choices" in meta and value not in meta["choices"]:
        _fail(path, f"{value} is not allowed; allowed: {', '.join(map(str, meta['choices']))}")
    if "min" in meta and not meta["min"] <= value <= meta["max"]:
        _fail(path, f"{value} is out of range; allowed: {meta['min']}..{meta['max']}")
    return value


def _check_str(value: object, path: str, meta: Mapping[str, Any]) -> str:
    if not isinstance(value, str):
        _fail(path, f"expected a string, got {value!r}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        noun = "model" if choices == KNOWN_MODELS else "value"
        _fail(path, f'unknown {noun} "{value}"; allowed: {", ".join(choices)}')
    if not meta.get("min_len", 0) <= len(value) <= meta.get("max_len", len(value)):
        _fail(path, f"length must be {meta.get('min_len', 0)}..{meta['max_len']} characters, got {len(value)}")
    if meta.get("pattern") and not re.search(meta["pattern"], value):
        _fail(path, f"{value!r} does not match {meta['pattern']}")
    return value
