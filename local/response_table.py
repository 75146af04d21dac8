"""`make local`'s response store: moto's DynamoDB served in a thread of this process, holding the Responses table.

The apps talk to it with the same boto3 code as to the deployed table (gateway.response_store), only through an
endpoint URL; the table has the key schema the stack deploys. Nothing is kept after the process exits.
"""

from __future__ import annotations

import logging

import boto3
from gateway.response_store import ATTRIBUTE_DEFINITIONS, KEY_SCHEMA, TTL_ATTRIBUTE
from moto.server import ThreadedMotoServer

DEFAULT_TABLE = "gptoss-responses"


class LocalResponseTable:
    """An in-process DynamoDB endpoint with the Responses table created; `url` once entered."""

    def __init__(self, table: str = DEFAULT_TABLE) -> None:
        self.table = table
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""

    def __enter__(self) -> LocalResponseTable:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server would log every request
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        session = boto3.session.Session()
        client = session.client(
            "dynamodb",
            endpoint_url=self.url,
            region_name=session.region_name or "us-east-1",  # moto keeps one table set per region: the apps'.
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        client.create_table(
            TableName=self.table,
            KeySchema=list(KEY_SCHEMA),
            AttributeDefinitions=list(ATTRIBUTE_DEFINITIONS),
            BillingMode="PAY_PER_REQUEST",
        )
        client.update_time_to_live(
            TableName=self.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
