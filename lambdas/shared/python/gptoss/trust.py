"""The trust boundary: what a caller may not set, because the deployment decides it.

`amazon-bedrock-*` members are Bedrock's own controls inside a model body: InvokeModel reads
`amazon-bedrock-guardrailConfig` from it, where `tagSuffix` makes the guardrail check only tagged text and
`streamProcessingMode: ASYNCHRONOUS` lets a stream run ahead of the guardrail. A caller may send none, neither at the
top of an OpenAI chat body nor in a native Converse body's `additionalModelRequestFields`.

A native Converse body (`POST /model/{modelId}/converse`) is checked member by member against
`NATIVE_CONVERSE_MEMBERS`, which decides every member of botocore's ConverseRequest (a unit test keeps the two equal):

| member | treatment |
|---|---|
| `modelId` | set by the gateway from the path (a body value naming another model is refused) |
| `messages`, `system` | passed, but `guardContent` blocks are refused: they limit the guardrail to the wrapped text |
| `inferenceConfig`, `toolConfig`, `outputConfig`, `additionalModelResponseFieldPaths` | passed |
| `additionalModelRequestFields` | passed, `amazon-bedrock-*` keys refused |
| `requestMetadata` | passed: it labels invocation-log entries, changing neither billing nor guardrail |
| `guardrailConfig` | refused: the configured guardrail is always applied, as configured |
| `projectIdentifier` | refused: the Bedrock project (cost and governance boundary) is the deployment's |
| `promptVariables` | refused: only for Prompt management resources, never the model here |
| `serviceTier`, `performanceConfig` | refused unless the deployment allows them (`OPT_IN_MEMBERS`): billing |

Any other member is refused (fail closed), so a member a later botocore adds is never passed on undecided.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from gptoss.errors import GatewayError, invalid_request
from gptoss.guardrail import GuardrailConfig
from gptoss.models import resolve_model

RESERVED_PREFIX = "amazon-bedrock-"

PASS = "pass"
GATEWAY = "gateway"
REFUSE = "refuse"
OPT_IN = "opt-in"

# member → (treatment, why), for refusals the reason given to the caller.
NATIVE_CONVERSE_MEMBERS: dict[str, tuple[str, str]] = {
    "modelId": (GATEWAY, "the path names the model"),
    "messages": (PASS, "guardContent blocks refused"),
    "system": (PASS, "guardContent blocks refused"),
    "inferenceConfig": (PASS, ""),
    "toolConfig": (PASS, ""),
    "outputConfig": (PASS, ""),
    "additionalModelRequestFields": (PASS, f"{RESERVED_PREFIX}* keys refused"),
    "additionalModelResponseFieldPaths": (PASS, ""),
    "requestMetadata": (PASS, ""),
    "guardrailConfig": (REFUSE, "this gateway applies its configured guardrail to every call"),
    "projectIdentifier": (REFUSE, "the Bedrock project a call runs in is chosen by the deployment"),
    "promptVariables": (
        REFUSE,
        "it applies only to Prompt management resources, and this route serves gpt-oss models",
    ),
    "serviceTier": (OPT_IN, "it changes what the account is billed"),
    "performanceConfig": (OPT_IN, "it changes what the account is billed"),
}
OPT_IN_MEMBERS: tuple[str, ...] = tuple(name for name, (kind, _) in NATIVE_CONVERSE_MEMBERS.items() if kind == OPT_IN)
_ACCEPTED = ", ".join(name for name, (kind, _) in NATIVE_CONVERSE_MEMBERS.items() if kind in (PASS, OPT_IN))


def refuse_reserved_keys(body: object, where: str = "") -> None:
    """400 naming the first `amazon-bedrock-*` member of `body` (an object; other values are left alone).

    `where` prefixes the param (`additionalModelRequestFields`); the prefix matches case-insensitively.
    """
    if not isinstance(body, Mapping):
        return
    for key in body:
        if isinstance(key, str) and key.lower().startswith(RESERVED_PREFIX):
            param = f"{where}.{key}" if where else key
            raise invalid_request(
                f"'{param}' is not accepted: '{RESERVED_PREFIX}*' members are Bedrock controls that only this "
                "gateway sets (its configured guardrail applies to every call).",
                param=param,
            )


def native_converse_request(
    body: Mapping[str, Any],
    *,
    model_id: str,
    guardrail: GuardrailConfig | None,
    opt_ins: Collection[str] = (),
) -> dict[str, Any]:
    """The Converse keyword arguments for a caller's native body, or a 400 naming the first member refused.

    `model_id` is the enabled model the path resolved to; `opt_ins` the `OPT_IN_MEMBERS` the deployment allows.
    """
    refuse_reserved_keys(body)
    for name, value in body.items():
        kind, reason = NATIVE_CONVERSE_MEMBERS.get(name, (None, ""))
        if kind is None:
            raise invalid_request(f"Unknown parameter {name}; expected one of: {_ACCEPTED}.", param=name)
        if kind == REFUSE or (kind == OPT_IN and name not in opt_ins):
            raise _refused(name, reason, opt_in=kind == OPT_IN)
        if kind == GATEWAY and not _names_model(value, model_id):
            raise invalid_request(
                f"modelId {value!r} in the body differs from the model in the path ({model_id}); "
                "the path names the model.",
                param=name,
            )
    _refuse_guard_content(body.get("messages"), "messages", nested=True)
    _refuse_guard_content(body.get("system"), "system", nested=False)
    refuse_reserved_keys(body.get("additionalModelRequestFields"), "additionalModelRequestFields")
    kwargs = dict(body)
    kwargs["modelId"] = model_id
    if guardrail is not None:
        kwargs["guardrailConfig"] = guardrail.converse_config()
    return kwargs


def _names_model(value: object, model_id: str) -> bool:
    try:
        return isinstance(value, str) and resolve_model(value, (model_id,)) == model_id
    except GatewayError:
        return False


def _refused(name: str, reason: str, *, opt_in: bool) -> GatewayError:
    if opt_in:
        return invalid_request(
            f"{name} is not enabled on this gateway: {reason}. A platform team can allow it in the deployment's "
            "configuration.",
            param=name,
        )
    return invalid_request(f"{name} cannot be set by the caller: {reason}.", param=name)


def _refuse_guard_content(value: object, where: str, *, nested: bool) -> None:
    """400 for a `guardContent` block in `system` (blocks) or `messages` (messages holding `content` blocks).

    Ill-shaped values are left for botocore's parameter validation to describe.
    """
    if not isinstance(value, list):
        return
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            continue
        if nested:
            _refuse_guard_content(item.get("content"), f"{where}[{index}].content", nested=False)
        elif "guardContent" in item:
            raise invalid_request(
                f"{where}[{index}].guardContent is not accepted: a guardContent block would limit the guardrail "
                "to the wrapped text. Send the text as a plain text block; the configured guardrail checks all of it.",
                param=f"{where}[{index}].guardContent",
            )
