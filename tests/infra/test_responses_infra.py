"""The Responses API's stored state in the template: one table, protected and expiring, reachable only by the two
model functions, with the key schema the function code uses."""

from __future__ import annotations

from typing import Any

from gateway.response_store import ATTRIBUTE_DEFINITIONS, KEY_SCHEMA, TTL_ATTRIBUTE

from tests.infra.synthesis import Synth, synthesize
from tests.infra.template_helpers import as_list, functions_by_name, role_of, role_statements


def the_table(synth: Synth) -> tuple[str, dict[str, Any]]:
    tables = synth.of_type("AWS::DynamoDB::Table")
    assert len(tables) == 1, sorted(tables)
    return next(iter(tables.items()))


def test_the_table_is_on_demand_expiring_recoverable_encrypted_and_retained(synth: Synth) -> None:
    # Given the synthesized table
    _, table = the_table(synth)
    props = table["Properties"]
    # Then it bills per request, expires records by the TTL attribute, keeps point-in-time backups, uses KMS
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"


def test_the_table_has_the_key_schema_the_function_code_reads_and_writes(synth: Synth) -> None:
    _, table = the_table(synth)
    assert table["Properties"]["KeySchema"] == list(KEY_SCHEMA)
    assert sorted(table["Properties"]["AttributeDefinitions"], key=str) == sorted(ATTRIBUTE_DEFINITIONS, key=str)


def test_only_the_model_functions_may_use_the_table_and_only_its_item_calls(synth: Synth) -> None:
    # Given every IAM statement naming a DynamoDB action
    table_id, _ = the_table(synth)
    deployed = functions_by_name(synth.resources)
    granted: dict[str, list[dict[str, Any]]] = {}
    for name, (_, function) in deployed.items():
        for statement in role_statements(synth.resources, role_of(function)):
            if any(str(action).startswith("dynamodb:") for action in as_list(statement["Action"])):
                granted.setdefault(name, []).append(statement)
    # Then only chat and converse hold one, for item reads, writes and deletes on this table alone
    assert sorted(granted) == ["chat", "converse"]
    for statements in granted.values():
        assert len(statements) == 1
        assert sorted(as_list(statements[0]["Action"])) == ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"]
        assert as_list(statements[0]["Resource"]) == [{"Fn::GetAtt": [table_id, "Arn"]}]


def test_the_functions_learn_the_table_and_the_configured_ttl(tmp_path: Any) -> None:
    # Given a deployment that keeps stored responses for 7 days
    synth = synthesize(tmp_path, {"responses": {"ttl_days": 7}})
    table_id, _ = the_table(synth)
    for name in ("chat", "converse"):
        environment = functions_by_name(synth.resources)[name][1]["Environment"]["Variables"]
        # Then both model functions are told the table and the 7 days
        assert environment["RESPONSES_TABLE"] == {"Ref": table_id}
        assert environment["RESPONSES_TTL_DAYS"] == "7"
