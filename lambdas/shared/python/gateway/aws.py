"""boto3 clients for function code: created once per process, tagged with the calling function's name."""

from __future__ import annotations

import functools
import os

import boto3
from botocore.client import BaseClient
from botocore.config import Config


def client(
    service: str,
    *,
    function: str,
    read_timeout: float = 60,
    connect_timeout: float = 5,
    max_attempts: int = 3,
    endpoint_url: str | None = None,
) -> BaseClient:
    """The process-wide client for these arguments (and the endpoint/region environment), created on first use.

    `max_attempts` counts every attempt (standard retry mode); the user agent carries `gptoss-fn/<function>`.
    """
    environment = tuple(
        os.environ.get(name)
        for name in (
            "AWS_ENDPOINT_URL",
            f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        )
    )
    return _cached_client(service, function, read_timeout, connect_timeout, max_attempts, endpoint_url, environment)


@functools.cache
def _cached_client(
    service: str,
    function: str,
    read_timeout: float,
    connect_timeout: float,
    max_attempts: int,
    endpoint_url: str | None,
    environment: tuple[str | None, ...],  # only part of the cache key: boto3 reads the environment itself
) -> BaseClient:
    config = Config(
        user_agent_extra=f"gptoss-fn/{function}",
        read_timeout=read_timeout,
        connect_timeout=connect_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        tcp_keepalive=True,
        max_pool_connections=32,
    )
    return boto3.session.Session().client(service, endpoint_url=endpoint_url, config=config)
