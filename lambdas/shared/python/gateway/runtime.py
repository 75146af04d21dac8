"""Per-process state of one API app: its settings and its Bedrock runtime client, loaded once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from botocore.client import BaseClient

from gateway import aws
from gateway.settings import Settings


class Runtime:
    """Settings and Bedrock client for the app named `function`; read from the environment unless given."""

    def __init__(
        self,
        function: str,
        *,
        settings: Settings | None = None,
        bedrock: BaseClient | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.function = function
        self._settings = settings
        self._bedrock = bedrock
        self._endpoint_url = endpoint_url

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @property
    def bedrock(self) -> BaseClient:
        if self._bedrock is None:
            settings = self.settings
            self._bedrock = aws.client(
                "bedrock-runtime",
                function=self.function,
                read_timeout=settings.read_timeout,
                connect_timeout=settings.connect_timeout,
                max_attempts=settings.max_attempts,
                endpoint_url=self._endpoint_url,
            )
        return self._bedrock

    def load(self) -> None:
        """Validate settings and create the client now (cold start), so bad configuration fails fast."""
        _ = self.bedrock

    @asynccontextmanager
    async def lifespan(self, app: object) -> AsyncIterator[None]:
        self.load()
        yield
