"""Who is calling: the API key that API Gateway checked, as the Lambda Web Adapter hands it to the app.

The adapter puts API Gateway's request context, JSON-encoded, in the `x-amzn-request-context` header, replacing any
header of that name the client sent. For a REST API whose methods require an API key, `identity.apiKeyId` is the
id of the usage-plan key the caller's bearer token matched. `make local` sets the same header (see local/server.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from gptoss.errors import GatewayError

REQUEST_CONTEXT_HEADER = "x-amzn-request-context"


def api_key_id(headers: Mapping[str, str]) -> str | None:
    """The caller's API key id from the request context header, or None when there is none."""
    raw = headers.get(REQUEST_CONTEXT_HEADER)
    if not raw:
        return None
    try:
        identity = json.loads(raw).get("identity") or {}
    except (ValueError, AttributeError):
        return None
    key_id = identity.get("apiKeyId") if isinstance(identity, dict) else None
    return key_id if isinstance(key_id, str) and key_id else None


def require_api_key_id(headers: Mapping[str, str]) -> str:
    """The caller's API key id; a 401 when the request carries none (stored objects always belong to a key)."""
    key_id = api_key_id(headers)
    if key_id is None:
        raise GatewayError(
            401,
            "Stored responses need an API key: send 'Authorization: Bearer <key>'.",
            type="invalid_request_error",
            code="invalid_api_key",
        )
    return key_id
