"""gpt-oss gateway translation layer: OpenAI Chat Completions ⇄ Bedrock (InvokeModel and Converse).

Pure and stdlib-only (no I/O, no AWS SDK), shared by the API functions, the batch functions and `local/`.

- `chat_request`: validate an OpenAI chat body (400s naming the offending `param`)
- `converse`: OpenAI ⇄ Converse / ConverseStream
- `invoke`: OpenAI ⇄ InvokeModel / InvokeModelWithResponseStream
- `reasoning`: splitting gpt-oss's `<reasoning>...</reasoning>` prefix, whole or streamed
- `errors`: OpenAI error objects and the Bedrock exception mapping
- `models`: model ids, aliases, /v1/models objects
- `guardrail`, `completion`, `sse`, `ids`: small shared pieces
"""

from gptoss.chat_request import parse_chat_request
from gptoss.converse import ConverseStreamTranslator, from_converse_response, to_converse_request
from gptoss.errors import GatewayError, from_bedrock_error, invalid_request
from gptoss.guardrail import GuardrailConfig
from gptoss.invoke import InvokeStreamTranslator, from_invoke_response, to_invoke_body
from gptoss.models import GPT_OSS_20B, GPT_OSS_120B, KNOWN_MODELS, list_models, resolve_model, retrieve_model
from gptoss.sse import DONE, sse_data, sse_error

__all__ = [
    "DONE",
    "GPT_OSS_20B",
    "GPT_OSS_120B",
    "KNOWN_MODELS",
    "ConverseStreamTranslator",
    "GatewayError",
    "GuardrailConfig",
    "InvokeStreamTranslator",
    "from_bedrock_error",
    "from_converse_response",
    "from_invoke_response",
    "invalid_request",
    "list_models",
    "parse_chat_request",
    "resolve_model",
    "retrieve_model",
    "sse_data",
    "sse_error",
    "to_converse_request",
    "to_invoke_body",
]
