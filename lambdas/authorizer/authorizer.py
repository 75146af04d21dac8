"""API Gateway REQUEST authorizer: turns the OpenAI SDK's ``Authorization: Bearer <key>`` into a usage-plan key.

The authorizer does not judge the key itself. It hands the bearer token to API Gateway as ``usageIdentifierKey``
(the API's ``apiKeySource`` is ``AUTHORIZER``); API Gateway then checks it against the usage plan's API keys and
applies throttling and the daily quota. A missing or malformed header is rejected here (401); a well-formed token
that is no enabled key of the usage plan is refused by API Gateway itself (its INVALID_API_KEY response, which
infra/api.py turns into OpenAI's 401 invalid_api_key instead of API Gateway's default 403).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

# API Gateway API keys are 20..128 printable characters without whitespace.
_BEARER = re.compile(r"^\s*bearer\s+(?P<key>[!-~]{20,128})\s*$", re.IGNORECASE)
# arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<method>/<path...>
_METHOD_ARN = re.compile(r"^(?P<api>arn:aws[a-z-]*:execute-api:[^:]+:[^:]+:[^/]+)/(?P<stage>[^/]+)/")


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Allow the whole API stage for a well-formed bearer token; raise ``Unauthorized`` (API Gateway: 401) otherwise."""
    key = bearer_key(event.get("headers"))
    if key is None:
        raise Exception("Unauthorized")  # API Gateway answers 401 for exactly this message
    return {
        # Never the key itself: principalId ends up in access logs.
        "principalId": "key-" + hashlib.sha256(key.encode()).hexdigest()[:16],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": _stage_wildcard(event)}],
        },
        "usageIdentifierKey": key,
    }


def bearer_key(headers: object) -> str | None:
    """The token from an ``Authorization: Bearer <token>`` header (header name case-insensitive), else ``None``."""
    if not isinstance(headers, Mapping):
        return None
    values = [value for name, value in headers.items() if isinstance(name, str) and name.lower() == "authorization"]
    if len(values) != 1 or not isinstance(values[0], str):
        return None
    match = _BEARER.match(values[0])
    return match.group("key") if match else None


def _stage_wildcard(event: Mapping[str, Any]) -> str:
    """Every method of the stage, so a cached decision (cache key: the header) holds for all routes."""
    method_arn = str(event.get("methodArn", ""))
    match = _METHOD_ARN.match(method_arn)
    if match is None:
        raise Exception("Unauthorized")  # API Gateway answers 401 for exactly this message
    return f"{match.group('api')}/{match.group('stage')}/*/*"
