"""The batch lifecycle's resources in the synthesized template: trigger, state machine, roles, status routes."""

from __future__ import annotations

import json
from typing import Any

import batch_common
from moto.events.models import EventPattern

from infra.batch import API_ROUTES
from tests.infra.synthesis import Synth, shipped_context, synthesize
from tests.infra.template_helpers import as_list, functions_by_name, role_of, role_statements, routes

STEP_FUNCTIONS = ("batch-validate", "batch-submit", "batch-check", "batch-collect", "batch-report", "batch-on-demand")
BATCH_FUNCTIONS = (*STEP_FUNCTIONS, "batch-api")


def definition(synth: Synth) -> dict[str, Any]:
    """The state machine's ASL with the CloudFormation tokens replaced by placeholders."""
    [machine] = synth.of_type("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))


def test_uploads_of_jsonl_under_input_start_the_state_machine(synth: Synth) -> None:
    # Given the rule that reacts to S3 uploads
    rules = [r["Properties"] for r in synth.of_type("AWS::Events::Rule").values()]
    [upload_rule] = [r for r in rules if r["EventPattern"].get("source") == ["aws.s3"]]
    pattern = upload_rule["EventPattern"]
    # Then it targets the batch state machine, for Object Created events in the data bucket
    [target] = upload_rule["Targets"]
    [machine_id] = synth.of_type("AWS::StepFunctions::StateMachine")
    assert target["Arn"] == {"Ref": machine_id}
    assert pattern["detail-type"] == ["Object Created"]
    [bucket_id] = [k for k in synth.of_type("AWS::S3::Bucket") if "Data" in k]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": bucket_id}]
    # And EventBridge's matching (moto's implementation) picks exactly the .jsonl objects under input/
    concrete = json.loads(json.dumps(pattern).replace(json.dumps({"Ref": bucket_id}), '"data-bucket"'))
    matcher = EventPattern.load(json.dumps(concrete))

    def matches(key: str) -> bool:
        detail = {"bucket": {"name": "data-bucket"}, "object": {"key": key}}
        return matcher.matches_event({"source": "aws.s3", "detail-type": "Object Created", "detail": detail})

    assert matches("input/prompts.jsonl")
    assert matches("input/gpt-oss-20b/prompts.jsonl")
    assert not matches("results/prompts/succeeded.jsonl")
    assert not matches("input/prompts.csv")


def test_every_step_retries_throttles_and_falls_back_to_the_error_report(synth: Synth) -> None:
    # Given the state machine definition
    states = definition(synth)["States"]
    # Then each Lambda step retries transient errors with backoff and catches everything else into ReportError
    for name in ("Validate", "Submit", "CheckJob", "Collect"):
        state = states[name]
        [retry] = state["Retry"]
        assert "TransientError" in retry["ErrorEquals"]
        assert retry["BackoffRate"] == 2
        assert retry["MaxAttempts"] >= 3
        assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ReportError"}]
    # And every way to the end publishes an event first
    assert states["Collect"]["Next"] == states["ReportError"]["Next"] == states["InvalidInput"]["Next"] == "Notify"
    assert states["Notify"]["Resource"].endswith(":states:::events:putEvents")
    assert states["Notify"]["Parameters"]["Entries"][0]["Source"] == "gptoss.batch"


def test_the_poll_wait_comes_from_the_state_not_the_definition(synth: Synth) -> None:
    # Given the wait between two polls of the Bedrock job
    wait = definition(synth)["States"]["WaitForJob"]
    # Then its length is read from the step's output (configured per function, backing off), never hard-coded
    assert wait["SecondsPath"] == "$.job.wait_seconds"
    assert "Seconds" not in wait


def test_the_state_machine_is_standard_traced_logged_and_has_a_timeout(synth: Synth) -> None:
    # Given the state machine
    [machine] = synth.of_type("AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    # Then it is a Standard workflow, traced, logging without execution data, with an overall timeout
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    timeout = definition(synth)["TimeoutSeconds"]
    assert timeout == (synth.config.batch.job_timeout_hours + 36) * 3600
    # And an execution that timed out, was aborted or failed unreported is routed to the error report
    rules = [r["Properties"] for r in synth.of_type("AWS::Events::Rule").values()]
    watching = [r for r in rules if r["EventPattern"].get("source") == ["aws.states"]]
    statuses = sorted(status for rule in watching for status in rule["EventPattern"]["detail"]["status"])
    assert statuses == ["ABORTED", "FAILED", "TIMED_OUT"]
    report_id, _ = functions_by_name(synth.resources)["batch-report"]
    assert all(rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [report_id, "Arn"]} for rule in watching)


def test_bedrock_batch_role_is_trusted_only_for_this_accounts_jobs_and_reads_staged_input_writes_output(
    synth: Synth,
) -> None:
    # Given the role Bedrock assumes for a job
    [(role_id, role)] = [
        (key, value)
        for key, value in synth.of_type("AWS::IAM::Role").items()
        if value["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service")
        == "bedrock.amazonaws.com"
    ]
    # Then the trust policy pins the source account and the source ARN to model-invocation jobs
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = json.dumps(trust["Condition"]["ArnLike"]["aws:SourceArn"])
    assert ":model-invocation-job/*" in source_arn
    # And it may read the staged copies (never input/, which users can overwrite), write batch-output/*, list the
    # bucket (as in Bedrock's documented service-role policy), all in this account only, and nothing else
    statements = role_statements(synth.resources, role_id)
    grants = {(tuple(as_list(s["Action"])), json.dumps(s["Resource"])) for s in statements}
    assert len(grants) == 3
    reads = next(s for s in statements if s["Action"] == "s3:GetObject")
    writes = next(s for s in statements if s["Action"] == "s3:PutObject")
    assert json.dumps(reads["Resource"]).endswith('"/batch-input/*"]]}')
    assert json.dumps(writes["Resource"]).endswith('"/batch-output/*"]]}')
    listing = next(s for s in statements if s["Action"] == "s3:ListBucket")
    [bucket_id] = [k for k in synth.of_type("AWS::S3::Bucket") if "Data" in k]
    assert listing["Resource"] == {"Fn::GetAtt": [bucket_id, "Arn"]}
    in_account = {"StringEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}}
    assert listing["Condition"] == reads["Condition"] == writes["Condition"] == in_account


def test_only_the_validate_step_stages_records_and_the_submit_step_reads_no_upload(synth: Synth) -> None:
    # Given each batch function's role, as the object prefixes it may read and write
    functions = functions_by_name(synth.resources)

    def prefixes(name: str, action: str) -> set[str]:
        statements = role_statements(synth.resources, role_of(functions[name][1]))
        resources = [
            json.dumps(r) for s in statements if action in as_list(s["Action"]) for r in as_list(s["Resource"])
        ]
        return {resource.rsplit('"/', 1)[-1].split("*")[0] for resource in resources if "/*" in resource}

    # Then only the validate step writes batch-input/ (the records Bedrock reads), after reading the upload itself
    writers = {name for name in functions if "batch-input/" in prefixes(name, "s3:PutObject")}
    assert writers == {"batch-validate"}
    assert "input/" in prefixes("batch-validate", "s3:GetObjectVersion")
    # And the submit step neither reads an upload nor writes anything but its run records
    assert prefixes("batch-submit", "s3:GetObject") == prefixes("batch-submit", "s3:PutObject") == {"status/"}
    assert prefixes("batch-submit", "s3:GetObjectVersion") == set()


def test_staged_batch_input_expires_once_no_execution_can_still_use_it(synth: Synth) -> None:
    # Given the data bucket's lifecycle rules
    [bucket] = [v for k, v in synth.of_type("AWS::S3::Bucket").items() if "Data" in k]
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    [rule] = [r for r in rules if r.get("Prefix") == "batch-input/"]
    # Then the staged copies (and their old versions) are deleted, but only after an execution's longest life
    longest_days = (synth.config.batch.job_timeout_hours + batch_common.EXECUTION_GRACE_HOURS) / 24
    assert rule["Status"] == "Enabled"
    assert longest_days < rule["ExpirationInDays"] <= longest_days + 2
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1


def test_batch_functions_have_no_wildcard_s3_or_bedrock_grants_and_pass_the_role_only_to_bedrock(
    synth: Synth,
) -> None:
    # Given the batch functions and their roles
    functions = functions_by_name(synth.resources)
    assert set(BATCH_FUNCTIONS) <= set(functions)
    for name in BATCH_FUNCTIONS:
        statements = role_statements(synth.resources, role_of(functions[name][1]))
        for statement in statements:
            actions = as_list(statement["Action"])
            if not any(action.startswith(("s3:", "bedrock:", "iam:")) for action in actions):
                continue
            # Then no S3/Bedrock/IAM action is a wildcard or applies to every resource
            assert not any(action.endswith("*") for action in actions), (name, actions)
            assert statement["Resource"] != "*", (name, actions)
            assert "*" not in as_list(statement["Resource"]), (name, actions)
    # And only the submit step may pass the batch role, and only to Bedrock
    passers = [
        (name, s)
        for name in BATCH_FUNCTIONS
        for s in role_statements(synth.resources, role_of(functions[name][1]))
        if "iam:PassRole" in as_list(s["Action"])
    ]
    [(name, pass_role)] = passers
    assert name == "batch-submit"
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}


def test_batch_functions_get_the_contract_environment_from_config(synth: Synth) -> None:
    # Given the batch functions
    functions = functions_by_name(synth.resources)
    batch = synth.config.batch
    for name in STEP_FUNCTIONS:
        variables = functions[name][1]["Environment"]["Variables"]
        # Then each carries the bucket, the role, the models and the quotas from cdk.json
        assert variables["GPTOSS_FUNCTION"] == name
        assert variables["BATCH_MIN_RECORDS"] == str(batch.min_records)
        assert variables["BATCH_MAX_RECORDS"] == str(batch.max_records)
        assert variables["BATCH_MAX_FILE_BYTES"] == str(batch.max_file_bytes)
        assert variables["BATCH_POLL_SECONDS"] == str(batch.poll_interval_seconds)
        assert variables["BATCH_ON_DEMAND_CONCURRENCY"] == str(batch.on_demand_concurrency)
        assert variables["DEFAULT_MODEL"] == synth.config.models.default
        assert set(variables["ENABLED_MODELS"].split(",")) == set(synth.config.models.enabled)
        assert {"BUCKET_NAME", "BATCH_ROLE_ARN", "BATCH_TIMEOUT_HOURS"} <= set(variables)


def test_files_and_batches_routes_need_the_authorizer_and_an_api_key_and_reach_only_the_batch_api(
    synth: Synth,
) -> None:
    # Given the API's routes
    found = routes(synth.resources)
    api_id, props = functions_by_name(synth.resources)["batch-api"]
    for route in API_ROUTES:
        method = found[route]
        # Then each is a streamed Lambda proxy to the batch API function behind the authorizer and an API key
        assert method["AuthorizationType"] == "CUSTOM"
        assert method["ApiKeyRequired"] is True
        assert api_id in json.dumps(method["Integration"]["Uri"])
    # And the function identifies owners by the usage-plan key id, never by a bearer value
    assert props["Environment"]["Variables"]["OWNER_SOURCE"] == "api_key_id"


def test_only_the_batch_api_may_start_runs_and_model_functions_hold_no_batch_rights(synth: Synth) -> None:
    # Given every function's role
    functions = functions_by_name(synth.resources)
    starters, chat_rights = [], {}
    for name, (_, props) in functions.items():
        actions = {a for s in role_statements(synth.resources, role_of(props)) for a in as_list(s["Action"])}
        if "states:StartExecution" in actions:
            starters.append(name)
        if name in ("chat", "converse"):
            chat_rights[name] = {a for a in actions if a.startswith(("s3:", "states:"))}
    # Then only the batch API starts executions, and the model functions cannot touch the bucket or Step Functions
    assert starters == ["batch-api"]
    assert chat_rights == {"chat": set(), "converse": set()}


def test_only_the_poll_and_report_steps_may_stop_jobs_and_only_this_accounts_jobs(synth: Synth) -> None:
    # Given the batch functions' roles
    functions = functions_by_name(synth.resources)
    stoppers = {
        name: statement["Resource"]
        for name in BATCH_FUNCTIONS
        for statement in role_statements(synth.resources, role_of(functions[name][1]))
        if "bedrock:StopModelInvocationJob" in as_list(statement["Action"])
    }
    # Then the poll step (timeout safety net), the error report (timed-out/aborted/failed run) and the batch API
    # (POST /v1/batches/{id}/cancel) may stop a job
    assert set(stoppers) == {"batch-check", "batch-report", "batch-api"}
    # And only this account's model-invocation jobs
    for resource in stoppers.values():
        assert json.dumps(resource).endswith(':model-invocation-job/*"]]}')


def test_a_run_record_stops_holding_its_name_when_no_execution_can_still_be_running(synth: Synth) -> None:
    # Given the state machine's timeout
    timeout_hours = definition(synth)["TimeoutSeconds"] / 3600
    # Then the functions treat a run record older than that as abandoned, and never a younger one
    assert timeout_hours == synth.config.batch.job_timeout_hours + batch_common.EXECUTION_GRACE_HOURS


def test_switching_batch_off_removes_the_whole_lifecycle_and_keeps_the_api(tmp_path: Any) -> None:
    # Given a team that needs a guardrail on every model call (Bedrock batch jobs take none) turns batch off
    gptoss = dict(shipped_context()["gptoss"])
    gptoss["batch"] = {**gptoss["batch"], "enabled": False}
    # When the app synthesizes (cdk-nag included: synth fails on an unacknowledged finding)
    off = synthesize(tmp_path, gptoss=gptoss)
    # Then no bucket, state machine, batch function, rule, batch role or /v1/batches route exists
    for kind in ("AWS::S3::Bucket", "AWS::StepFunctions::StateMachine", "AWS::Events::Rule"):
        assert off.of_type(kind) == {}, kind
    assert set(functions_by_name(off.resources)) == {"authorizer", "chat", "converse"}
    assert not [path for path, _ in routes(off.resources) if path.startswith("/v1/batches")]
    granted = json.dumps(off.of_type("AWS::IAM::Policy")) + json.dumps(off.of_type("AWS::IAM::Role"))
    assert "CreateModelInvocationJob" not in granted
    assert "BucketName" not in off.outputs
    # And the chat API is all there
    assert {("/v1/chat/completions", "POST"), ("/converse/v1/chat/completions", "POST")} <= set(routes(off.resources))
    # And the shipped config keeps batch on, saying so
    assert shipped_context()["gptoss"]["batch"]["enabled"] is True
