"""Run the synthesized batch state machine end to end, with no AWS account.

- The definition comes from the CDK template of app.py's stack (synthesized once per session with a test config);
  its Fn::Join/Ref/GetAtt tokens are resolved to concrete names and ARNs.
- moto runs it (S3, Step Functions' interpreter, EventBridge, SQS); the Bedrock control plane is the local emulator.
- moto cannot run Lambda tasks: its interpreter's Lambda invoke is routed to the batch handlers, in-process, with
  the environment the template gives each function (so wiring mistakes in infra/batch.py fail here too). The only
  override is the poll interval, shortened to 0 s through that environment; the definition is not edited.
"""

from __future__ import annotations

import importlib
import json
import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3
import pytest
from batch_api import BatchApiSettings, create_app
from moto import mock_aws
from moto.events.models import EventPattern
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from starlette.testclient import TestClient

from local.emulator.server import EmulatorServer
from tests.infra.synthesis import shipped_context, synthesize

ACCOUNT = "123456789012"
REGION = "us-west-2"
BUCKET = "sim-gateway-bucket"
MODEL = "openai.gpt-oss-120b-1:0"
TEST_BATCH_CONFIG = {"min_records": 3, "max_records": 50, "max_file_bytes": 200_000}
# The functions' own configuration knobs, shortened for tests: the definition's Wait reads $.job.wait_seconds.
FAST_POLLING = {"BATCH_POLL_SECONDS": "0", "BATCH_MAX_POLL_SECONDS": "0", "BATCH_ON_DEMAND_BACKOFF_MS": "0"}


@pytest.fixture(scope="session")
def batch_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    gptoss = dict(shipped_context()["gptoss"])
    gptoss["batch"] = {**gptoss.get("batch", {}), **TEST_BATCH_CONFIG}
    synth = synthesize(tmp_path_factory.mktemp("sim-cdk.out"), gptoss=gptoss)
    return json.loads(synth.template_path.read_text())


class Resolver:
    """Concrete values for a template's intrinsic functions (Ref, Fn::GetAtt, Fn::Join) in the moto account."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources = template["Resources"]

    def ref(self, logical_id: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        pseudo |= {"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "GptOssGateway"}
        if logical_id in pseudo:
            return pseudo[logical_id]
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::StepFunctions::StateMachine":
            return self.get_att(logical_id, "Arn")
        return BUCKET if kind == "AWS::S3::Bucket" else logical_id

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        arns = {
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{logical_id}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{BUCKET}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{logical_id}",
        }
        if attribute != "Arn" or kind not in arns:
            raise KeyError(f"no simulated value for {logical_id}.{attribute} ({kind})")
        return arns[kind]

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "Ref" in node:
            return self.ref(node["Ref"])
        if "Fn::GetAtt" in node:
            return self.get_att(*node["Fn::GetAtt"])
        if "Fn::Join" in node:
            separator, parts = node["Fn::Join"]
            return separator.join(str(self.resolve(part)) for part in parts)
        return {key: self.resolve(value) for key, value in node.items()}


@dataclass(frozen=True)
class Handler:
    module: str
    environment: dict[str, str]


def batch_handlers(template: dict[str, Any], resolver: Resolver) -> dict[str, Handler]:
    """Function ARN → the batch handler module and the environment the template gives that function."""
    handlers = {}
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::Lambda::Function" or not str(properties.get("Handler", "")).startswith("batch_"):
            continue
        environment = resolver.resolve(properties.get("Environment", {}).get("Variables", {}))
        arn = resolver.get_att(logical_id, "Arn")
        handlers[arn] = Handler(properties["Handler"].rsplit(".", 1)[0], environment)
    return handlers


class InProcessLambda:
    """Stands in for moto's Lambda client inside the state-machine interpreter."""

    def __init__(self, handlers: dict[str, Handler], extra_env: dict[str, str]) -> None:
        self.handlers = handlers
        self.extra_env = extra_env
        self.invocations: list[str] = []

    def __call__(self, parameters: dict, region: str, state_credentials: Any) -> dict[str, Any]:
        handler = self.handlers[parameters["FunctionName"]]
        event = json.loads(parameters.get("Payload") or b"{}")
        self.invocations.append(handler.module)
        module = importlib.import_module(handler.module)
        with mock.patch.dict(os.environ, {**handler.environment, **self.extra_env}):
            try:
                result = module.handler(event, None)
            except Exception as exc:  # the Lambda runtime reports any exception as an Unhandled function error
                payload = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
                return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": payload}
        return {"StatusCode": 200, "Payload": json.loads(json.dumps(result))}


@dataclass
class Sim:
    template: dict[str, Any]
    s3: Any
    sfn: Any
    events: Any
    sqs: Any
    machine_arn: str
    queue_url: str
    emulator: EmulatorServer
    lambdas: InProcessLambda
    resolver: Resolver

    def upload(self, key: str, body: bytes) -> dict[str, Any]:
        """Put an object; returns the EventBridge "Object Created" event S3 would send."""
        put = self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        return {
            "version": "0",
            "id": f"sim-{time.monotonic_ns()}",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": ACCOUNT,
            "region": REGION,
            "resources": [f"arn:aws:s3:::{BUCKET}"],
            "detail": {
                "version": "0",
                "bucket": {"name": BUCKET},
                "object": {
                    "key": key,
                    "size": len(body),
                    "etag": put["ETag"].strip('"'),
                    "version-id": put.get("VersionId"),
                    "sequencer": "0",
                },
                "reason": "PutObject",
            },
        }

    def start(self, event: dict[str, Any]) -> str:
        """Start an execution with the event, as the InputUploaded rule would; returns its ARN."""
        name = f"sim-{uuid.uuid4().hex}"
        return self.sfn.start_execution(stateMachineArn=self.machine_arn, name=name, input=json.dumps(event))[
            "executionArn"
        ]

    def wait(self, arn: str, timeout: float = 30) -> dict[str, Any]:
        """Wait for an execution to end."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.sfn.describe_execution(executionArn=arn)
            if execution["status"] != "RUNNING":
                return execution
            if time.monotonic() > deadline:
                raise AssertionError(f"execution still running after {timeout}s")
            time.sleep(0.02)

    def run(self, event: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        """Start an execution with the event and wait for it to end."""
        return self.wait(self.start(event), timeout)

    def execution_ended(self, arn: str, status: str | None = None) -> dict[str, Any]:
        """The "Step Functions Execution Status Change" event Step Functions sends for an execution that ended.

        `status` stands in for an ending moto cannot reach in test time (a 60 h execution timeout).
        """
        execution = self.sfn.describe_execution(executionArn=arn)
        detail = {
            "executionArn": arn,
            "stateMachineArn": self.machine_arn,
            "name": execution["name"],
            "status": status or execution["status"],
            "input": execution["input"],
            "error": execution.get("error"),
            "cause": execution.get("cause"),
        }
        return {
            "version": "0",
            "id": f"sim-{time.monotonic_ns()}",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": ACCOUNT,
            "region": REGION,
            "resources": [arn],
            "detail": detail,
        }

    def deliver(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Route an event as the template's EventBridge rules do (moto's pattern matcher): each matching rule's
        Lambda target is invoked in-process. Returns the invocation results."""
        results = []
        for resource in self.template["Resources"].values():
            if resource["Type"] != "AWS::Events::Rule":
                continue
            rule = self.resolver.resolve(resource["Properties"])
            if not EventPattern.load(json.dumps(rule["EventPattern"])).matches_event(event):
                continue
            for target in rule["Targets"]:
                if target["Arn"] in self.lambdas.handlers:
                    payload = {"FunctionName": target["Arn"], "Payload": json.dumps(event)}
                    results.append(self.lambdas(payload, REGION, None))
        return results

    def function_arn(self, function: str) -> str:
        """The ARN of a deployed batch function, by its GPTOSS_FUNCTION name."""
        [arn] = [arn for arn, h in self.lambdas.handlers.items() if h.environment.get("GPTOSS_FUNCTION") == function]
        return arn

    def call(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke a deployed function in-process, with its template environment (as API Gateway or a rule would)."""
        return self.lambdas({"FunctionName": self.function_arn(function), "Payload": json.dumps(event)}, REGION, None)[
            "Payload"
        ]

    def status_when(self, name: str, states: tuple[str, ...], timeout: float = 10) -> dict[str, Any]:
        """Wait until `status/<name>.json` reaches one of `states` (a run started with `start` moves on its own)."""
        deadline = time.monotonic() + timeout
        while True:
            listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"status/{name}.json").get("Contents")
            status = self.json(f"status/{name}.json") if listed else {}
            if status.get("state") in states:
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"status/{name}.json still {status.get('state')!r} after {timeout}s")
            time.sleep(0.02)

    def api(self, key_id: str) -> TestClient:
        """The deployed batch API function's app (template environment), called as API Gateway calls it for the
        usage-plan key `key_id`: the Web Adapter hands the request context over in `x-amzn-request-context`."""
        [environment] = [
            props["Environment"]["Variables"]
            for props in (r.get("Properties", {}) for r in self.template["Resources"].values())
            if props.get("Environment", {}).get("Variables", {}).get("GPTOSS_FUNCTION") == "batch-api"
        ]
        environment = Resolver(self.template).resolve(environment)
        settings = BatchApiSettings(
            bucket=environment["BUCKET_NAME"],
            state_machine_arn=self.machine_arn,
            owner_source=environment["OWNER_SOURCE"],
            max_upload_bytes=int(environment["MAX_UPLOAD_BYTES"]),
        )
        context = json.dumps({"identity": {"apiKeyId": key_id}})
        return TestClient(create_app(settings=settings), headers={"x-amzn-request-context": context})

    def execution_of(self, batch_id: str) -> str:
        """The execution POST /v1/batches started for a batch (named after it)."""
        return self.machine_arn.replace(":stateMachine:", ":execution:") + f":{batch_id}"

    def fault(self, operation: str, fault: str, count: int = 1) -> None:
        """Make the emulator's next `count` calls of a Bedrock operation fail with `fault`."""
        body = json.dumps({"fault": fault, "count": count, "operation": operation}).encode()
        request = urllib.request.Request(f"{self.emulator.url}/_emulator/faults", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return {key: self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}

    def json(self, key: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def jsonl(self, key: str) -> list[dict[str, Any]]:
        body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        return [json.loads(line) for line in body.splitlines() if line]

    def published(self) -> list[dict[str, Any]]:
        """Events the state machine put on the default bus (delivered to a test queue by a catch-all rule)."""
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, chunk_delay=0.0, job_polls_per_state=0) as emu:
        yield emu


@pytest.fixture
def sim(batch_template: dict[str, Any], emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sim]:
    emulator.jobs.reset()
    resolver = Resolver(batch_template)
    [(machine_id, machine)] = [
        (logical_id, r)
        for logical_id, r in batch_template["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    definition = resolver.resolve(machine["Properties"]["DefinitionString"])
    lambdas = InProcessLambda(batch_handlers(batch_template, resolver), FAST_POLLING)
    monkeypatch.setattr(lambda_eval_utils, "_invoke_lambda_function", lambdas)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", emulator.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine_arn = sfn.create_state_machine(
            name=machine_id, definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/sim"
        )["stateMachineArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="batch-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name="batch-events", EventPattern=json.dumps({"source": ["gptoss.batch"]}))
        events.put_targets(Rule="batch-events", Targets=[{"Id": "queue", "Arn": queue_arn}])
        assert machine_arn == resolver.ref(machine_id)
        yield Sim(batch_template, s3, sfn, events, sqs, machine_arn, queue_url, emulator, lambdas, resolver)


def records(count: int, *, first_text: str = "Say hello", prefix: str = "rec") -> bytes:
    """A valid batch input file of `count` records."""
    lines = []
    for index in range(count):
        text = first_text if index == 0 else f"Question number {index}"
        body = {"messages": [{"role": "user", "content": text}], "max_completion_tokens": 64}
        lines.append(json.dumps({"recordId": f"{prefix}{index:04d}", "modelInput": body}))
    return ("\n".join(lines) + "\n").encode()
