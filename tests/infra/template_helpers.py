"""Reading the synthesized template: routes by path, functions by GPTOSS_FUNCTION, the IAM statements of a role."""

from __future__ import annotations

from typing import Any

Resources = dict[str, dict[str, Any]]


def routes(resources: Resources) -> dict[tuple[str, str], dict[str, Any]]:
    """{(path, HTTP method): Method properties}, paths rebuilt from the API Gateway resource tree."""
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    found = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::ApiGateway::Method":
            continue
        props = resource["Properties"]
        path = path_of(props["ResourceId"]["Ref"]) if "Ref" in props["ResourceId"] else "/"
        found[(path, props["HttpMethod"])] = props
    return found


def functions_by_name(resources: Resources) -> dict[str, tuple[str, dict[str, Any]]]:
    """{GPTOSS_FUNCTION: (logical id, Function properties)} for the project's functions."""
    found = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        if "GPTOSS_FUNCTION" in variables:
            found[variables["GPTOSS_FUNCTION"]] = (logical_id, resource["Properties"])
    return found


def role_of(function_props: dict[str, Any]) -> str:
    return function_props["Role"]["Fn::GetAtt"][0]


def role_statements(resources: Resources, role_id: str) -> list[dict[str, Any]]:
    """Every Allow/Deny statement granted to ``role_id``: inline policies and attached AWS::IAM::Policy resources."""
    statements: list[dict[str, Any]] = []
    for policy in resources[role_id]["Properties"].get("Policies", []):
        statements += policy["PolicyDocument"]["Statement"]
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if {"Ref": role_id} in resource["Properties"].get("Roles", []):
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    if resources[role_id]["Properties"].get("ManagedPolicyArns"):
        raise AssertionError(f"{role_id} has managed policies; this helper only reads inline statements")
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {
        action for statement in statements if statement["Effect"] == "Allow" for action in as_list(statement["Action"])
    }
