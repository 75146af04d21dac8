"""Per-process state of one API app: its settings, its Bedrock runtime client and its response store, loaded once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from botocore.client import BaseClient

from gateway import aws
from gateway.response_store import ResponseStore
from gateway.settings import Settings

DAY_SECONDS = 86_400


class Runtime:
    """Settings, Bedrock client and response store for the app named `function`; read from the environment unless
    given (`endpoint_url` for Bedrock and `store_endpoint_url` for DynamoDB point them elsewhere, e.g. `make local`)."""

    def __init__(
        self,
        function: str,
        *,
        settings: Settings | None = None,
        bedrock: BaseClient | None = None,
        endpoint_url: str | None = None,
        store_endpoint_url: str | None = None,
    ) -> None:
        self.function = function
        self._settings = settings
        self._bedrock = bedrock
        self._endpoint_url = endpoint_url
        self._store_endpoint_url = store_endpoint_url
        self._response_store: ResponseStore | None = None

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

    @property
    def response_store(self) -> ResponseStore | None:
        """The DynamoDB store of Responses, or None when no table is configured."""
        settings = self.settings
        if self._response_store is None and settings.responses_table is not None:
            client = aws.client(
                "dynamodb", function=self.function, read_timeout=10, endpoint_url=self._store_endpoint_url
            )
            ttl_seconds = settings.responses_ttl_days * DAY_SECONDS
            self._response_store = ResponseStore(client, settings.responses_table, ttl_seconds)
        return self._response_store

    def load(self) -> None:
        """Validate settings and create the clients now (cold start), so bad configuration fails fast."""
        _ = self.bedrock
        _ = self.response_store

    @asynccontextmanager
    async def lifespan(self, app: object) -> AsyncIterator[None]:
        self.load()
        yield
