"""boto3 clients for function code: created once per process, tagged with the calling function's name."""

from __future__ import annotations

import os
import threading

import boto3
from botocore.client import BaseClient
from botocore.config import Config

_LOCK = threading.Lock()
_CLIENTS: dict[tuple[object, ...], BaseClient] = {}


def new_client(
    service: str,
    *,
    function: str,
    read_timeout: float = 60,
    connect_timeout: float = 5,
    max_attempts: int = 3,
    endpoint_url: str | None = None,
) -> BaseClient:
    """A fresh client (prefer `client`).

    `max_attempts` counts every attempt (standard retry mode); the user agent carries `gptoss-fn/<function>`.
    """
    config = Config(
        user_agent_extra=f"gptoss-fn/{function}",
        read_timeout=read_timeout,
        connect_timeout=connect_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        tcp_keepalive=True,
        max_pool_connections=32,
    )
    return boto3.session.Session().client(service, endpoint_url=endpoint_url, config=config)


def client(
    service: str,
    *,
    function: str,
    read_timeout: float = 60,
    connect_timeout: float = 5,
    max_attempts: int = 3,
    endpoint_url: str | None = None,
) -> BaseClient:
    """The process-wide client for these arguments (and the endpoint/region environment), created on first use."""
    env_key = tuple(
        os.environ.get(name)
        for name in (
            "AWS_ENDPOINT_URL",
            f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        )
    )
    key = (service, function, read_timeout, connect_timeout, max_attempts, endpoint_url, env_key)
    cached = _CLIENTS.get(key)
    if cached is not None:
        return cached
    with _LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = new_client(
                service,
                function=function,
                read_timeout=read_timeout,
                connect_timeout=connect_timeout,
                max_attempts=max_attempts,
                endpoint_url=endpoint_url,
            )
        return _CLIENTS[key]
