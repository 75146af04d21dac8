"""`python -m local` (`make local`): every API route on http://127.0.0.1:8000, backed by Bedrock or the emulator.

Backend: AWS_ENDPOINT_URL_BEDROCK_RUNTIME when set; else real Bedrock when AWS credentials are configured; else the
built-in Bedrock emulator. HOST and PORT choose the address; LOCAL_API_KEY, when set, is the only accepted bearer key.
The Files and Batches routes keep their objects in a local store and run batch jobs on the emulator's batch control
plane (`local.batch`), whatever the chat backend. Stored Responses live in an in-process DynamoDB (moto) for as long
as the server runs.
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack

import boto3
from gateway.settings import Settings, SettingsError
from gptoss.models import KNOWN_MODELS

from local.batch import LocalBatch
from local.emulator.server import EmulatorServer
from local.response_table import DEFAULT_TABLE, LocalResponseTable
from local.server import LocalServer, create_app

EMULATOR_BANNER = """
==============================================================================
  No AWS credentials found: answering with the built-in Bedrock EMULATOR.
  Responses are canned and marked [emulated]; nothing reaches AWS.
  Configure AWS credentials (or AWS_ENDPOINT_URL_BEDROCK_RUNTIME) for real models.
==============================================================================
"""


def choose_backend() -> str:
    """'endpoint' (AWS_ENDPOINT_URL_BEDROCK_RUNTIME), 'bedrock' (credentials configured) or 'emulator'."""
    if os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
        return "endpoint"
    if boto3.session.Session().get_credentials() is not None:
        return "bedrock"
    return "emulator"


def main() -> int:
    os.environ.setdefault("ENABLED_MODELS", ",".join(KNOWN_MODELS))
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("RESPONSES_TABLE", DEFAULT_TABLE)
    try:
        settings = Settings.from_env()
        port = int(os.environ.get("PORT", "8000"))
    except (SettingsError, ValueError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    host = os.environ.get("HOST", "127.0.0.1")
    with ExitStack() as stack:
        backend = choose_backend()
        endpoint_url = None
        emulator = stack.enter_context(EmulatorServer(port=0))
        if backend == "emulator":
            endpoint_url = emulator.url
            # The batch steps' on-demand runs answer from the same backend as the chat routes.
            os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = emulator.url
            for name, value in (("AWS_ACCESS_KEY_ID", "emulator"), ("AWS_SECRET_ACCESS_KEY", "emulator")):
                os.environ[name] = value
            print(EMULATOR_BANNER, flush=True)
        if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
            os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        batch = stack.enter_context(LocalBatch(emulator.url))
        table = stack.enter_context(LocalResponseTable(settings.responses_table or DEFAULT_TABLE))
        app = create_app(
            settings=settings,
            endpoint_url=endpoint_url,
            api_key=os.environ.get("LOCAL_API_KEY") or None,
            batch=batch.app(),
            store_endpoint_url=table.url,
        )
        server = LocalServer(app, host=host, port=port)
        target = {
            "endpoint": f"Bedrock endpoint {os.environ.get('AWS_ENDPOINT_URL_BEDROCK_RUNTIME')}",
            "bedrock": "Amazon Bedrock with your AWS credentials",
            "emulator": f"the Bedrock emulator at {endpoint_url}",
        }[backend]
        key = "the LOCAL_API_KEY value" if os.environ.get("LOCAL_API_KEY") else "any value"
        print(
            f"gpt-oss gateway on {server.url} -> {target}\n"
            f"  InvokeModel path: OpenAI(base_url='{server.url}/v1', api_key=<{key}>)\n"
            f"  Converse path:    OpenAI(base_url='{server.url}/converse/v1', api_key=<{key}>)\n"
            f"  models: {', '.join(settings.enabled_models)}\n"
            f"  files and batches: local store {batch.store_url}, batch jobs on the emulator at {emulator.url}\n"
            f"  batch files: gptoss batch submit FILE --model M --local --local-url {server.url} --wait",
            flush=True,
        )
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
