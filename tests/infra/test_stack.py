"""What `cdk deploy` provisions, asserted on the synthesized template's properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.config import GPT_OSS_20B, GPT_OSS_120B
from tests.infra.synthesis import Synth, synthesize
from tests.infra.template_helpers import as_list, functions_by_name, role_of, role_statements, routes

MODEL_ROUTES = {
    ("/v1/chat/completions", "POST"): "chat",
    ("/v1/models", "GET"): "chat",
    ("/v1/models/{model+}", "GET"): "chat",
    ("/converse/v1/chat/completions", "POST"): "converse",
    ("/converse/v1/models", "GET"): "converse",
    ("/converse/v1/models/{model+}", "GET"): "converse",
    ("/model/{modelId}/converse", "POST"): "converse",
    **{
        route: function
        for prefix, function in (("/v1", "chat"), ("/converse/v1", "converse"))
        for route in (
            (f"{prefix}/responses", "POST"),
            (f"{prefix}/responses/{{response_id}}", "GET"),
            (f"{prefix}/responses/{{response_id}}", "DELETE"),
            (f"{prefix}/responses/{{response_id}}/input_items", "GET"),
        )
    },
}


DEFAULT_PROJECT_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":bedrock:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":project/default",
        ],
    ]
}


def model_arn(model: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:", {"Ref": "AWS::Region"}, f"::foundation-model/{model}"],
        ]
    }


def the_one(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def test_every_model_route_streams_with_a_fifteen_minute_timeout(synth: Synth) -> None:
    # Given the synthesized API
    found = routes(synth.resources)
    functions = functions_by_name(synth.resources)
    # Then each model route is a Lambda proxy integration in STREAM mode, invoking its function's streaming endpoint
    for route, function_name in MODEL_ROUTES.items():
        integration = found[route]["Integration"]
        assert integration["Type"] == "AWS_PROXY", route
        assert integration["ResponseTransferMode"] == "STREAM", route
        assert integration["TimeoutInMillis"] == 900_000, route
        uri = integration["Uri"]["Fn::Join"][1]
        assert {"Fn::GetAtt": [functions[function_name][0], "Arn"]} in uri, route
        assert uri[-1] == "/response-streaming-invocations", route


def test_functions_answering_in_response_stream_mode_are_only_invoked_through_streaming_routes(synth: Synth) -> None:
    # Given the functions whose web adapter answers in response_stream mode (a stream prelude, not a proxy JSON)
    streaming = {
        logical_id
        for logical_id, props in functions_by_name(synth.resources).values()
        if props["Environment"]["Variables"].get("AWS_LWA_INVOKE_MODE") == "response_stream"
    }
    assert streaming
    # Then every route reaching one of them uses STREAM and the InvokeWithResponseStream URI, and no other route does
    for route, method in routes(synth.resources).items():
        integration = method["Integration"]
        uri = integration["Uri"]["Fn::Join"][1]
        targets = {part["Fn::GetAtt"][0] for part in uri if isinstance(part, dict) and "Fn::GetAtt" in part}
        stream = integration.get("ResponseTransferMode") == "STREAM"
        assert stream == bool(targets & streaming), route
        assert (uri[-1] == "/response-streaming-invocations") == stream, route


def test_no_route_is_reachable_without_the_authorizer_and_an_api_key(synth: Synth) -> None:
    # Given the API's single REQUEST authorizer reading the Authorization header
    authorizer_id, authorizer = the_one(synth.of_type("AWS::ApiGateway::Authorizer"))
    assert authorizer["Properties"]["Type"] == "REQUEST"
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    # Then every method of the API (model routes included) needs it and a usage-plan key
    found = routes(synth.resources)
    assert set(MODEL_ROUTES) <= set(found)
    for route, method in found.items():
        assert method["AuthorizationType"] == "CUSTOM", route
        assert method["AuthorizerId"] == {"Ref": authorizer_id}, route
        assert method["ApiKeyRequired"] is True, route
    # And the key is the bearer token the authorizer hands over
    _, api = the_one(synth.of_type("AWS::ApiGateway::RestApi"))
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


@pytest.mark.parametrize(("base_path", "function_name"), [("/v1", "chat"), ("/converse/v1", "converse")])
def test_openai_sdk_models_list_and_retrieve_reach_the_app_behind_each_base_url_with_a_key_only(
    synth: Synth, base_path: str, function_name: str
) -> None:
    # Given an OpenAI SDK client with base_url <stage url> + base_path, calling models.list() and models.retrieve()
    found = routes(synth.resources)
    authorizer_id, _ = the_one(synth.of_type("AWS::ApiGateway::Authorizer"))
    function_id, _ = functions_by_name(synth.resources)[function_name]
    # (retrieve's path is greedy: a model alias such as "openai/gpt-oss-20b" spans two path segments)
    for path in (f"{base_path}/models", f"{base_path}/models/{{model+}}"):
        method = found[(path, "GET")]
        # Then the request reaches the function serving that base_url
        assert {"Fn::GetAtt": [function_id, "Arn"]} in method["Integration"]["Uri"]["Fn::Join"][1], path
        # And only with a valid key: the bearer-token authorizer and a usage-plan API key are both required
        assert method["AuthorizationType"] == "CUSTOM", path
        assert method["AuthorizerId"] == {"Ref": authorizer_id}, path
        assert method["ApiKeyRequired"] is True, path


def test_usage_plan_applies_configured_throttle_and_daily_quota_to_the_generated_key(synth: Synth) -> None:
    # Given the shipped config
    settings = synth.config.api
    # Then the usage plan throttles and caps every key per day, and the generated key belongs to it
    synth.template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": settings.throttle_rate_limit, "BurstLimit": settings.throttle_burst_limit},
            "Quota": {"Limit": settings.daily_quota, "Period": "DAY"},
            "ApiStages": [Match.object_like({"Stage": Match.any_value()})],
        },
    )
    key_id, _ = the_one(synth.of_type("AWS::ApiGateway::ApiKey"))
    synth.template.has_resource_properties("AWS::ApiGateway::UsagePlanKey", {"KeyId": {"Ref": key_id}})


def test_stage_traces_and_writes_json_access_logs_without_bodies(synth: Synth) -> None:
    # Given the one stage
    _, stage = the_one(synth.of_type("AWS::ApiGateway::Stage"))
    props = stage["Properties"]
    # Then it is named after config, traced, and its access log format is JSON with the key id but no body
    assert props["StageName"] == synth.config.api.stage_name
    assert props["TracingEnabled"] is True
    access_format = json.loads(props["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "apiKeyId", "responseLatency"} <= set(access_format)
    assert props["MethodSettings"][0]["DataTraceEnabled"] is False


def test_model_functions_run_python313_arm64_under_the_web_adapter_with_the_contract_environment(
    synth: Synth,
) -> None:
    # Given the chat and converse functions
    functions = functions_by_name(synth.resources)
    for name in ("chat", "converse"):
        _, props = functions[name]
        variables = props["Environment"]["Variables"]
        # Then they start run.sh through the adapter, streaming, with the settings the apps validate at cold start
        assert (props["Runtime"], props["Architectures"], props["Handler"]) == ("python3.13", ["arm64"], "run.sh")
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
        assert variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
        assert variables["AWS_LWA_READINESS_CHECK_PATH"] == "/healthz"
        assert variables["AWS_LWA_PORT"] == variables["PORT"] == "8080"
        assert variables["ENABLED_MODELS"] == f"{GPT_OSS_20B},{GPT_OSS_120B}"
        assert variables["DEFAULT_MODEL"] == GPT_OSS_120B
        assert variables["LOG_PROMPTS"] == "false"
        assert variables["ALLOW_SERVICE_TIER"] == variables["ALLOW_PERFORMANCE_CONFIG"] == "false"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "GptOssGateway"
        layer_arns = json.dumps(props["Layers"])
        assert ":753240598075:layer:LambdaAdapterLayerArm64:" in layer_arns
        assert ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:" in layer_arns
        assert len(props["Layers"]) == 4


def test_model_functions_may_invoke_exactly_the_enabled_models_and_the_guardrail(synth: Synth) -> None:
    # Given each model function's role
    functions = functions_by_name(synth.resources)
    guardrail_id, _ = the_one(synth.of_type("AWS::Bedrock::Guardrail"))
    for name in ("chat", "converse"):
        statements = role_statements(synth.resources, role_of(functions[name][1]))
        bedrock = [s for s in statements if any(a.startswith("bedrock:") for a in as_list(s["Action"]))]
        # Then model invocation is granted on the two foundation-model ARNs only
        invoke = next(s for s in bedrock if s.get("Sid") == "InvokeEnabledModels")
        assert sorted(as_list(invoke["Action"])) == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
        assert sorted(map(json.dumps, as_list(invoke["Resource"]))) == sorted(
            map(json.dumps, [model_arn(GPT_OSS_20B), model_arn(GPT_OSS_120B)])
        )
        # And, because Bedrock also checks the project a call runs in, on this account's default project only
        project = next(s for s in bedrock if s.get("Sid") == "InvokeInDefaultProject")
        assert sorted(as_list(project["Action"])) == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
        assert project["Resource"] == DEFAULT_PROJECT_ARN
        # And ApplyGuardrail on this stack's guardrail only
        guard = next(s for s in bedrock if "bedrock:ApplyGuardrail" in as_list(s["Action"]))
        assert as_list(guard["Action"]) == ["bedrock:ApplyGuardrail"]
        assert guard["Resource"] == {"Fn::GetAtt": [guardrail_id, "GuardrailArn"]}
        assert len(bedrock) == 3


def test_no_bedrock_action_anywhere_has_a_wildcard_resource(synth: Synth) -> None:
    # Given every IAM statement in the template (the batch roles included)
    statements = []
    for resource in synth.resources.values():
        if resource["Type"] == "AWS::IAM::Policy":
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                statements += policy["PolicyDocument"]["Statement"]
    # Then no bedrock action is granted on "*", and models and guardrails are never wildcarded
    # (only batch job ids, which Bedrock generates, may be: ...:model-invocation-job/*)
    bedrock_statements = [s for s in statements if any(a.startswith("bedrock:") for a in as_list(s["Action"]))]
    assert bedrock_statements
    for statement in bedrock_statements:
        assert "bedrock:*" not in as_list(statement["Action"]), statement
        for resource in as_list(statement["Resource"]):
            assert resource != "*", statement
            rendered = json.dumps(resource)
            if "*" in rendered:
                assert rendered.endswith(':model-invocation-job/*"]]}'), statement


def test_authorizer_function_has_no_aws_permissions_beyond_logs_and_tracing(synth: Synth) -> None:
    # Given the authorizer's role
    _, props = functions_by_name(synth.resources)["authorizer"]
    actions = {a for s in role_statements(synth.resources, role_of(props)) for a in as_list(s["Action"])}
    # Then it can only write its own logs and traces
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}
    assert props["Handler"] == "authorizer.handler"


def test_guardrail_follows_config_and_its_published_version_is_wired_to_the_functions(synth: Synth) -> None:
    # Given the guardrail from the shipped config
    guardrail = synth.config.guardrail
    guardrail_id, resource = the_one(synth.of_type("AWS::Bedrock::Guardrail"))
    version_id, version = the_one(synth.of_type("AWS::Bedrock::GuardrailVersion"))
    props = resource["Properties"]
    # Then its policies are the configured ones
    filters = {
        f["Type"]: (f["InputStrength"], f["OutputStrength"]) for f in props["ContentPolicyConfig"]["FiltersConfig"]
    }
    assert filters == {f.type: (f.input_strength, f.output_strength) for f in guardrail.content_filters}
    pii = {e["Type"]: e["Action"] for e in props["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]}
    assert pii == {e.type: e.action for e in guardrail.pii_entities}
    assert props["BlockedInputMessaging"] == guardrail.blocked_input_message
    assert props["BlockedOutputsMessaging"] == guardrail.blocked_output_message
    assert len(props["Name"]) <= 50
    assert version["Properties"]["GuardrailIdentifier"] == {"Fn::GetAtt": [guardrail_id, "GuardrailId"]}
    # And both API functions call models through that id and published version, with the trace on
    for name in ("chat", "converse"):
        variables = functions_by_name(synth.resources)[name][1]["Environment"]["Variables"]
        assert variables["GUARDRAIL_ID"] == {"Fn::GetAtt": [guardrail_id, "GuardrailId"]}
        assert variables["GUARDRAIL_VERSION"] == {"Fn::GetAtt": [version_id, "Version"]}
        assert variables["GUARDRAIL_TRACE"] == "enabled"


def test_data_bucket_is_private_tls_only_encrypted_versioned_notifying_logged_and_retained(synth: Synth) -> None:
    # Given the data bucket (the one sending access logs elsewhere)
    buckets = synth.of_type("AWS::S3::Bucket")
    bucket_id, bucket = next((k, v) for k, v in buckets.items() if "LoggingConfiguration" in v["Properties"])
    props = bucket["Properties"]
    # Then nothing about it is public, it is encrypted and versioned, and stack deletion keeps it
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"
    # And it notifies EventBridge (batch trigger) and refuses plain HTTP
    synth.template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {"BucketName": {"Ref": bucket_id}, "NotificationConfiguration": {"EventBridgeConfiguration": {}}},
    )
    synth.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            },
        },
    )


def test_every_log_group_has_a_retention_and_survives_stack_deletion(synth: Synth) -> None:
    # Given all log groups (functions, access logs)
    groups = synth.of_type("AWS::Logs::LogGroup")
    assert len(groups) >= 4
    # Then each expires its events after the configured period and is retained
    for logical_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == synth.config.observability.log_retention_days, logical_id
        assert group["DeletionPolicy"] == "Retain", logical_id
    # And every project function logs to one of them
    for name, (_, props) in functions_by_name(synth.resources).items():
        assert props["LoggingConfig"]["LogGroup"]["Ref"] in groups, name


def test_outputs_give_base_url_key_id_and_read_command_bucket_guardrail_and_dashboard(synth: Synth) -> None:
    # Given the stack outputs
    outputs = synth.outputs
    # Then a platform engineer gets everything needed after deploy
    assert {
        "ApiBaseUrl",
        "ConverseBaseUrl",
        "ApiKeyId",
        "UsagePlanId",
        "ApiKeyValueCommand",
        "BucketName",
        "GuardrailId",
        "GuardrailVersion",
        "DashboardUrl",
    } <= set(outputs)
    stage_id, _ = the_one(synth.of_type("AWS::ApiGateway::Stage"))
    assert outputs["ApiBaseUrl"]["Value"]["Fn::Join"][1][-2:] == [{"Ref": stage_id}, "/v1"]
    assert outputs["ConverseBaseUrl"]["Value"]["Fn::Join"][1][-2:] == [{"Ref": stage_id}, "/converse/v1"]
    command = outputs["ApiKeyValueCommand"]["Value"]["Fn::Join"][1]
    key_id, _ = the_one(synth.of_type("AWS::ApiGateway::ApiKey"))
    assert command[0] == "aws apigateway get-api-key --api-key "
    assert command[1] == {"Ref": key_id}
    assert command[2].startswith(" --include-value --query value --output text")


def test_dashboard_and_alarms_cover_errors_latency_tokens_guardrail_and_throttles(synth: Synth) -> None:
    # Given the dashboard body and the alarms
    _, dashboard = the_one(synth.of_type("AWS::CloudWatch::Dashboard"))
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    # Then the dashboard charts what the issue asks for
    for needle in ("5XXError", "4XXError", "p50", "p99", "InputTokens", "OutputTokens", "GuardrailInterventions"):
        assert needle in body, needle
    assert "Throttles" in body
    # And a widget charts input and output tokens by the API key id the functions record them under, apart from the
    # by-model series (which read only the by-model dimension set, so no token is counted twice)
    source = "".join(
        part if isinstance(part, str) else "TOKEN" for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    )
    widgets = {w["properties"].get("title"): w["properties"] for w in json.loads(source)["widgets"]}
    by_key = [m[0]["expression"] for m in widgets["Tokens by API key id (who spent what)"]["metrics"]]
    assert by_key == [
        "SEARCH('{\"GptOssGateway\",api_key_id,service} MetricName=\"InputTokens\"', 'Sum', 300)",
        "SEARCH('{\"GptOssGateway\",api_key_id,service} MetricName=\"OutputTokens\"', 'Sum', 300)",
    ]
    [by_model] = widgets["Input tokens by model"]["metrics"]
    assert by_model[0]["expression"].startswith('SEARCH(\'{"GptOssGateway",model,route,service} ')
    # And alarms watch the 5xx rate and throttling
    alarms = json.dumps(synth.of_type("AWS::CloudWatch::Alarm"))
    assert "5XXError" in alarms
    assert "SUM(Throttles)" in alarms
    assert '"MetricName": "Throttles"' in alarms


def test_lambda_throttle_alarm_watches_every_gateway_function(synth: Synth) -> None:
    # Given the alarm summing Lambda throttles
    alarms = [resource["Properties"] for resource in synth.of_type("AWS::CloudWatch::Alarm").values()]
    [queries] = [
        alarm["Metrics"]
        for alarm in alarms
        if any(
            query.get("MetricStat", {}).get("Metric", {}).get("Namespace") == "AWS/Lambda"
            for query in alarm.get("Metrics", [])
        )
    ]
    watched = {
        query["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for query in queries if "MetricStat" in query
    }
    [expression] = [query["Expression"] for query in queries if "Expression" in query]
    # Then a throttled API, authorizer or batch function trips it: each one's throttles are in the sum
    assert watched == {logical_id for logical_id, _ in functions_by_name(synth.resources).values()}
    assert expression.count("FILL(") == len(watched)


def test_deploying_outside_a_gpt_oss_region_is_refused_by_a_template_rule(synth: Synth) -> None:
    # Given the template's rules
    rules = synth.template.to_json()["Rules"]
    assertion = next(iter(rules.values()))["Assertions"][0]["Assert"]["Fn::Contains"]
    # Then CloudFormation checks the deploy Region against the configured list
    assert assertion == [list(synth.config.regions), {"Ref": "AWS::Region"}]


def test_disabling_the_guardrail_removes_it_its_permission_and_its_environment(tmp_path: Any) -> None:
    # Given a config with the guardrail off and only the 20b model enabled
    alternative = synthesize(tmp_path, {"guardrail": {"enabled": False}, "models": {"enabled": [GPT_OSS_20B]}})
    # Then no guardrail exists and the functions neither reference one nor may apply one
    assert not alternative.of_type("AWS::Bedrock::Guardrail")
    assert "GuardrailId" not in alternative.outputs
    for name in ("chat", "converse"):
        _, props = functions_by_name(alternative.resources)[name]
        variables = props["Environment"]["Variables"]
        assert "GUARDRAIL_ID" not in variables
        assert variables["DEFAULT_MODEL"] == GPT_OSS_20B
        statements = role_statements(alternative.resources, role_of(props))
        granted = json.dumps(statements)
        assert "bedrock:ApplyGuardrail" not in granted
        assert GPT_OSS_120B not in granted
        assert model_arn(GPT_OSS_20B) in [r for s in statements for r in as_list(s["Resource"])]


def test_billing_options_a_platform_team_allows_reach_the_functions(tmp_path: Any) -> None:
    # Given a config that lets callers pick a service tier (but not a latency profile)
    alternative = synthesize(tmp_path, {"api": {"allow_service_tier": True}})
    # Then the model functions are told so at cold start
    for name in ("chat", "converse"):
        variables = functions_by_name(alternative.resources)[name][1]["Environment"]["Variables"]
        assert (variables["ALLOW_SERVICE_TIER"], variables["ALLOW_PERFORMANCE_CONFIG"]) == ("true", "false")


def test_the_gateway_is_a_construct_another_cdk_app_can_embed() -> None:
    # Given another team's app and stack
    import aws_cdk as cdk

    from infra import GptOssGateway, load_config

    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "PlatformStack")
    # When it adds the gateway with its own props
    gateway = GptOssGateway(stack, "Llm", config=load_config({"api": {"daily_quota": 500}}))
    template = cdk.assertions.Template.from_stack(stack)
    # Then the whole gateway lands in that stack, configured by those props, and exposes what it built
    template.has_resource_properties("AWS::ApiGateway::UsagePlan", {"Quota": {"Limit": 500, "Period": "DAY"}})
    template.resource_count_is("AWS::Bedrock::Guardrail", 1)
    assert set(gateway.functions) == {"chat", "converse"}
    assert gateway.base_url.endswith("v1")
