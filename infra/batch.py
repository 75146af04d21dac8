"""Batch inference from an S3 upload: EventBridge rule → Step Functions (validate → submit → poll → collect).

Every run that ends publishes a "GptOss Batch Run State Change" event (source ``gptoss.batch``) on the default
bus; a failed step (after retries) goes to the error-report function, never a silent stop. Safety nets: the poll
step stops a job still running long after its Bedrock timeout, the state machine has an overall timeout, and an
execution that ends outside its own states (timed out, aborted, or failed where no catch applies) is reported, its
Bedrock job stopped and its event published by the error-report function, through rules on Step Functions' own
status-change events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import GatewayConfig
from infra.functions import (
    LAMBDAS,
    GatewayFunction,
    GatewayLayers,
    default_project_arn,
    model_arns,
    web_adapter_environment,
)
from infra.nag import acknowledge
from infra.policies import log_group, vended_log_group_name

if TYPE_CHECKING:
    from infra.api import GatewayApi

EVENT_SOURCE = "gptoss.batch"
# Every owner's OpenAI files (content and file objects): api/<owner>/files/<file id>.
API_FILES = "api/*/files/"
EVENT_DETAIL_TYPE = "GptOss Batch Run State Change"
TRANSIENT_ERRORS = [
    "TransientError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# The poll step stops a job 12 h after its Bedrock timeout; the execution itself gives up 24 h after that.
# Same value as lambdas/batch/batch_common.py (a run record older than that no longer holds its name); tested.
EXECUTION_GRACE_HOURS = 36
# The state machine's failure state: reached only after the run was reported and its event published.
REPORTED_FAILURE = "BatchRunFailed"

# (name, handler module, memory MB, timeout s, description)
FUNCTIONS = (
    ("batch-validate", "batch_validate", 1769, 900, "claims an upload and validates it line by line, streamed"),
    ("batch-submit", "batch_submit", 256, 60, "starts the Bedrock batch job (idempotent per bucket/key/etag)"),
    ("batch-check", "batch_check", 256, 60, "polls the job and publishes progress"),
    ("batch-collect", "batch_collect", 1769, 900, "writes results/<name>/ and accounts for every record"),
    ("batch-report", "batch_report", 256, 60, "writes errors/<name>.json and stops the job when a run fails"),
    ("batch-on-demand", "batch_on_demand", 512, 900, "runs a file under the batch minimum through InvokeModel"),
)
# The OpenAI Files and Batches routes, served by the batch API function (an ASGI app under the Web Adapter).
API_ROUTES = (
    ("/v1/files", "POST"),
    ("/v1/files", "GET"),
    ("/v1/files/{file_id}", "GET"),
    ("/v1/files/{file_id}", "DELETE"),
    ("/v1/files/{file_id}/content", "GET"),
    ("/v1/batches", "POST"),
    ("/v1/batches", "GET"),
    ("/v1/batches/{batch_id}", "GET"),
    ("/v1/batches/{batch_id}/cancel", "POST"),
)


class BatchLifecycle(Construct):
    """Validated, idempotent, fully accounted Bedrock batch runs for files uploaded under ``input/``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GatewayConfig,
        bucket: s3.Bucket,
        layers: GatewayLayers,
        api: GatewayApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.bucket = bucket
        self._layers = layers.in_order(web_adapter=False)
        self.batch_role = self._build_batch_role()
        self.functions = {name: self._build_function(name, *spec) for name, *spec in FUNCTIONS}
        self._grant_function_permissions()
        self.state_machine = self._build_state_machine()
        self.functions["batch-api"] = self._build_api_function(layers)
        for path, method in API_ROUTES:
            api.add_route(path, method, self.functions["batch-api"].function, stream=True)
        self._build_rules()
        self._expire_staged_input()
        self._acknowledge_findings()

    # --- IAM -------------------------------------------------------------------------------------------------------

    def _objects(self, *prefixes: str) -> list[str]:
        return [self.bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes]

    def _jobs_arn(self) -> str:
        stack = cdk.Stack.of(self)
        return f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:model-invocation-job/*"

    def _build_batch_role(self) -> iam.Role:
        """The role Bedrock assumes to run a job: read ``batch-input/``, write ``batch-output/``, nothing else.

        It never reads ``input/``: the validate step stages the validated records under ``batch-input/``.
        """
        stack = cdk.Stack.of(self)
        principal = iam.ServicePrincipal("bedrock.amazonaws.com").with_conditions(
            {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": self._jobs_arn()},
            }
        )
        role = iam.Role(self, "BedrockBatchRole", assumed_by=principal, description="Bedrock batch jobs of gpt-oss")
        in_account = {"StringEquals": {"aws:ResourceAccount": stack.account}}
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadStagedInput",
                actions=["s3:GetObject"],
                resources=self._objects("batch-input/"),
                conditions=in_account,
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOutput",
                actions=["s3:PutObject"],
                resources=self._objects("batch-output/"),
                conditions=in_account,
            )
        )
        # As in Bedrock's documented batch service-role policy: ListBucket on the bucket, limited to this account.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListBucket", actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn], conditions=in_account
            )
        )
        return role

    def _build_api_function(self, layers: GatewayLayers) -> GatewayFunction:
        """The Files and Batches API: its role alone may start runs, and read and write every owner's files."""
        batch = self.config.batch
        function = GatewayFunction(
            self,
            "BatchApi",
            name="batch-api",
            code_dir=LAMBDAS / "batch_api",
            handler="run.sh",
            memory_mb=512,
            timeout_seconds=300,
            environment={
                **web_adapter_environment(),
                "BUCKET_NAME": self.bucket.bucket_name,
                "STATE_MACHINE_ARN": self.state_machine.state_machine_arn,
                "OWNER_SOURCE": "api_key_id",
                "MAX_UPLOAD_BYTES": str(batch.max_upload_bytes),
            },
            layers=[layers.web_adapter, *self._layers],
            config=self.config,
            description="gpt-oss gateway: OpenAI Files and Batches API (ASGI app under the Lambda Web Adapter)",
        )
        for statement in (
            _s3("OwnersFiles", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], self._objects("api/")),
            _s3("ReadRuns", ["s3:GetObject"], self._objects("status/", "errors/")),
            _s3("RequestCancel", ["s3:PutObject"], self._objects("status/cancel/")),
            _list("ListOwnersObjectsAndRuns", self.bucket, ["api/*", "status/*"]),
            iam.PolicyStatement(
                sid="StartRuns", actions=["states:StartExecution"], resources=[self.state_machine.state_machine_arn]
            ),
            iam.PolicyStatement(
                sid="CancelJobs", actions=["bedrock:StopModelInvocationJob"], resources=[self._jobs_arn()]
            ),
        ):
            function.role.add_to_policy(statement)
        return function

    def _grant_function_permissions(self) -> None:
        jobs = self._jobs_arn()
        stack = cdk.Stack.of(self)
        default_bus = f"arn:{stack.partition}:events:{stack.region}:{stack.account}:event-bus/default"
        grants: dict[str, list[iam.PolicyStatement]] = {
            "batch-validate": [
                # The upload (that version), or a batch created through the API: its OpenAI input file.
                _s3("ReadInput", ["s3:GetObject", "s3:GetObjectVersion"], self._objects("input/")),
                _s3("ReadApiInput", ["s3:GetObject"], self._objects(API_FILES)),
                # The Bedrock records staged from it, written in parts when large (an aborted upload is cleaned up).
                _s3("StageInput", ["s3:PutObject", "s3:AbortMultipartUpload"], self._objects("batch-input/")),
                _s3("ReadRunRecords", ["s3:GetObject"], self._objects("status/")),
                _s3("WriteRunRecords", ["s3:PutObject"], self._objects("status/", "errors/")),
                # A refused upload releases its claim; a new run removes the previous run's error report.
                _s3("ReleaseClaimsAndReports", ["s3:DeleteObject"], self._objects("status/claims/", "errors/")),
            ],
            "batch-submit": [
                _s3("ReadRunRecords", ["s3:GetObject"], self._objects("status/")),
                _s3("WriteRunRecords", ["s3:PutObject"], self._objects("status/")),
                iam.PolicyStatement(
                    sid="CreateJob",
                    actions=["bedrock:CreateModelInvocationJob"],
                    resources=[*model_arns(self.config.models.enabled), jobs],
                ),
                iam.PolicyStatement(
                    sid="PassBatchRole",
                    actions=["iam:PassRole"],
                    resources=[self.batch_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
                ),
            ],
            "batch-check": [
                _s3("ReadRunRecords", ["s3:GetObject"], self._objects("status/")),
                _s3("WriteRunRecords", ["s3:PutObject"], self._objects("status/")),
                iam.PolicyStatement(
                    sid="TrackJob",
                    actions=["bedrock:GetModelInvocationJob", "bedrock:StopModelInvocationJob"],
                    resources=[jobs],
                ),
            ],
            "batch-collect": [
                _s3(
                    "ReadRunRecords",
                    ["s3:GetObject"],
                    self._objects("status/", "batch-output/", "batch-input/", API_FILES),
                ),
                _s3(
                    "WriteResults",
                    ["s3:PutObject", "s3:AbortMultipartUpload"],
                    self._objects("results/", "errors/", "status/", API_FILES),
                ),
                _list("ListJobOutput", self.bucket, ["batch-output/*"]),
                iam.PolicyStatement(sid="ReadJob", actions=["bedrock:GetModelInvocationJob"], resources=[jobs]),
            ],
            "batch-report": [
                _s3("ReadRunRecords", ["s3:GetObject"], self._objects("status/")),
                _s3("WriteRunRecords", ["s3:PutObject"], self._objects("status/", "errors/")),
                # A run that ends in error (timed out, aborted, a step failed) stops its still-running job.
                iam.PolicyStatement(sid="StopJob", actions=["bedrock:StopModelInvocationJob"], resources=[jobs]),
                # ... and announces it, when the state machine could not (its Notify step never ran).
                iam.PolicyStatement(sid="PublishRunEnded", actions=["events:PutEvents"], resources=[default_bus]),
            ],
            "batch-on-demand": [
                _s3("ReadRecords", ["s3:GetObject"], self._objects("status/", "batch-input/")),
                _s3("WriteOutput", ["s3:PutObject"], self._objects("status/", "batch-output/")),
                iam.PolicyStatement(
                    sid="InvokeEnabledModels",
                    actions=["bedrock:InvokeModel"],
                    resources=[*model_arns(self.config.models.enabled), default_project_arn()],
                ),
            ],
        }
        for name, statements in grants.items():
            for statement in statements:
                self.functions[name].role.add_to_policy(statement)

    # --- functions ---------------------------------------------------------------------------------------------------

    def _build_function(
        self, name: str, module: str, memory_mb: int, timeout_seconds: int, purpose: str
    ) -> GatewayFunction:
        batch, models = self.config.batch, self.config.models
        environment = {
            "BUCKET_NAME": self.bucket.bucket_name,
            "BATCH_ROLE_ARN": self.batch_role.role_arn,
            "ENABLED_MODELS": ",".join(models.enabled),
            "DEFAULT_MODEL": models.default,
            "BATCH_MIN_RECORDS": str(batch.min_records),
            "BATCH_MAX_RECORDS": str(batch.max_records),
            "BATCH_MAX_FILE_BYTES": str(batch.max_file_bytes),
            "BATCH_TIMEOUT_HOURS": str(batch.job_timeout_hours),
            "BATCH_POLL_SECONDS": str(batch.poll_interval_seconds),
            "BATCH_MAX_POLL_SECONDS": str(batch.max_poll_interval_seconds),
            "BATCH_ON_DEMAND_CONCURRENCY": str(batch.on_demand_concurrency),
            "BATCH_ON_DEMAND_MAX_ATTEMPTS": str(batch.on_demand_max_attempts),
            "BATCH_EVENT_SOURCE": EVENT_SOURCE,
            "BATCH_EVENT_DETAIL_TYPE": EVENT_DETAIL_TYPE,
        }
        function = GatewayFunction(
            self,
            "".join(part.capitalize() for part in name.split("-")),
            name=name,
            code_dir=LAMBDAS / "batch",
            handler=f"{module}.handler",
            memory_mb=memory_mb,
            timeout_seconds=timeout_seconds,
            environment=environment,
            layers=self._layers,
            config=self.config,
            description=f"gpt-oss gateway batch: {purpose}",
        )
        if name in ("batch-validate", "batch-collect"):
            # Staged records and result files are assembled in /tmp before upload: room for a 1 GB input's.
            cfn = function.function.node.default_child
            cfn.add_property_override("EphemeralStorage", {"Size": 10240})
        return function

    # --- state machine -----------------------------------------------------------------------------------------------

    def _task(self, state_id: str, name: str, result_path: str) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            state_id,
            lambda_function=self.functions[name].function,
            payload_response_only=True,
            retry_on_service_exceptions=False,
            result_path=result_path,
        )
        task.add_retry(
            errors=TRANSIENT_ERRORS,
            interval=cdk.Duration.seconds(5),
            backoff_rate=2,
            max_attempts=6,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _build_state_machine(self) -> sfn.StateMachine:
        start = sfn.Pass(
            self,
            "Start",
            parameters={"event": sfn.JsonPath.entire_payload, "execution": sfn.JsonPath.execution_id},
        )
        validate = self._task("Validate", "batch-validate", "$.run")
        submit = self._task("Submit", "batch-submit", "$.job")
        wait = sfn.Wait(self, "WaitForJob", time=sfn.WaitTime.seconds_path("$.job.wait_seconds"))
        check = self._task("CheckJob", "batch-check", "$.job")
        on_demand = self._task("RunOnDemand", "batch-on-demand", "$.job")
        collect = self._task("Collect", "batch-collect", "$.outcome")
        report = self._task("ReportError", "batch-report", "$.outcome")
        notify = tasks.EventBridgePutEvents(
            self,
            "Notify",
            entries=[
                tasks.EventBridgePutEventsEntry(
                    source=EVENT_SOURCE,
                    detail_type=EVENT_DETAIL_TYPE,
                    detail=sfn.TaskInput.from_json_path_at("$.outcome"),
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        notify.add_retry(errors=["States.ALL"], interval=cdk.Duration.seconds(2), backoff_rate=2, max_attempts=4)
        invalid = sfn.Pass(self, "InvalidInput", input_path="$.run.outcome", result_path="$.outcome")
        finished = (
            sfn.Choice(self, "RunSucceeded?")
            .when(sfn.Condition.boolean_equals("$.outcome.succeeded", True), sfn.Succeed(self, "Done"))
            .otherwise(sfn.Fail(self, "RunFailed", error=REPORTED_FAILURE, cause="See errors/<name>.json"))
        )
        notify.next(finished)
        for step in (validate, submit, check, collect, on_demand):
            step.add_catch(report, errors=["States.ALL"], result_path="$.error")
        report.next(notify)
        collect.next(notify)
        invalid.next(notify)
        job_done = (
            sfn.Choice(self, "JobFinished?")
            .when(sfn.Condition.boolean_equals("$.job.done", True), collect)
            .otherwise(wait)
        )
        wait.next(check)
        check.next(job_done)
        submit.next(job_done)
        on_demand.next(
            sfn.Choice(self, "OnDemandFinished?")
            .when(sfn.Condition.boolean_equals("$.job.done", True), collect)
            .otherwise(on_demand)
        )
        route = (
            sfn.Choice(self, "ValidInput?")
            .when(sfn.Condition.boolean_equals("$.run.duplicate", True), sfn.Succeed(self, "AlreadyHandled"))
            .when(sfn.Condition.boolean_equals("$.run.valid", False), invalid)
            .when(sfn.Condition.boolean_equals("$.run.on_demand", True), on_demand)
            .otherwise(submit)
        )
        start.next(validate)
        validate.next(route)
        logs = log_group(self, "StateMachineLogs", self.config, name=vended_log_group_name("states", "batch"))
        return sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(start),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=cdk.Duration.hours(self.config.batch.job_timeout_hours + EXECUTION_GRACE_HOURS),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=logs, level=sfn.LogLevel.ALL, include_execution_data=False),
        )

    def _build_rules(self) -> None:
        events.Rule(
            self,
            "InputUploaded",
            description="A .jsonl object created under input/ starts a batch run",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self.bucket.bucket_name]},
                    "object": {"key": events.Match.wildcard("input/*.jsonl")},
                },
            ),
            targets=[targets.SfnStateMachine(self.state_machine)],
        )
        report = targets.LambdaFunction(self.functions["batch-report"].function)
        machine = [self.state_machine.state_machine_arn]
        events.Rule(
            self,
            "ExecutionStopped",
            description="A batch run that timed out or was aborted is reported and announced",
            event_pattern=_execution_status(machine, {"status": ["TIMED_OUT", "ABORTED"]}),
            targets=[report],
        )
        events.Rule(
            self,
            "ExecutionFailedUnreported",
            description="A batch run that failed outside the state machine's own report is reported and announced",
            event_pattern=_execution_status(
                machine, {"status": ["FAILED"], "error": events.Match.anything_but(REPORTED_FAILURE)}
            ),
            targets=[report],
        )

    def _expire_staged_input(self) -> None:
        """Staged copies are read only by the job: delete them once no execution (hence no job) can still run."""
        days = -(-(self.config.batch.job_timeout_hours + EXECUTION_GRACE_HOURS) // 24) + 1
        self.bucket.add_lifecycle_rule(
            id="ExpireStagedBatchInput",
            prefix="batch-input/",
            expiration=cdk.Duration.days(days),
            noncurrent_version_expiration=cdk.Duration.days(1),
        )

    def _acknowledge_findings(self) -> None:
        """cdk-nag IAM5 findings, one by one: object prefixes of this bucket and Bedrock job ids are wildcards."""
        bucket = self._nag_ref(self.bucket.bucket_arn)
        jobs = "arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:model-invocation-job/*"
        prefix_reason = (
            "Object names under this bucket's prefix are chosen by uploaders and by Bedrock (job ids) at run time; "
            "the grant is limited to the one prefix this step reads or writes."
        )
        jobs_reason = "Bedrock generates batch job ids at run time; the grant is limited to this account's jobs."
        for role in [self.batch_role, *(function.role for function in self.functions.values())]:
            for prefix in (
                "api/",
                API_FILES,
                "input/",
                "batch-input/",
                "status/",
                "status/claims/",
                "status/cancel/",
                "errors/",
                "results/",
                "batch-output/",
            ):
                acknowledge(role, f"AwsSolutions-IAM5[Resource::{bucket}/{prefix}*]", prefix_reason)
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{jobs}]", jobs_reason)
        machine_role = self.state_machine.role
        acknowledge(
            machine_role,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions X-Ray tracing and log delivery actions support no resource-level permissions.",
        )
        for name, function in self.functions.items():
            if name == "batch-api":
                continue  # an API route, not a state-machine task
            acknowledge(
                machine_role,
                f"AwsSolutions-IAM5[Resource::{self._nag_ref(function.function.function_arn)}:*]",
                "CDK grants lambda:InvokeFunction on the function and its versions/aliases (ARN:*) for each task.",
            )

    def _nag_ref(self, value: str) -> str:
        """How cdk-nag prints a token in a finding id: ``<LogicalId.Attr>``."""
        resolved = cdk.Stack.of(self).resolve(value)
        if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
            logical_id, attribute = resolved["Fn::GetAtt"]
            return f"<{logical_id}.{attribute}>"
        return str(resolved)


def _execution_status(machine: list[str], detail: dict[str, object]) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.states"],
        detail_type=["Step Functions Execution Status Change"],
        detail={**detail, "stateMachineArn": machine},
    )


def _s3(sid: str, actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=actions, resources=resources)


def _list(sid: str, bucket: s3.IBucket, prefixes: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=sid,
        actions=["s3:ListBucket"],
        resources=[bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": prefixes}},
    )
