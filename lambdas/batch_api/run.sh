#!/bin/sh
# Lambda Web Adapter entry point: serve the batch API ASGI app on $PORT (the adapter's readiness check hits /healthz).
exec python -m uvicorn --host 0.0.0.0 --port "${PORT:-8080}" --no-access-log --log-level warning --loop uvloop --http httptools batch_api:app
