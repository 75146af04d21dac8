"""What the benchmarks share for serving an app: free loopback ports, readiness probes, and run.sh's server options."""

from __future__ import annotations

import http.client
import socket

# The server options of lambdas/*/run.sh, bound to loopback.
UVICORN = ["-m", "uvicorn", "--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]
UVICORN += ["--loop", "uvloop", "--http", "httptools"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int) -> bool:
    """True once GET /healthz on 127.0.0.1:port answers 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()
