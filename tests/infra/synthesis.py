"""Synthesizing app.py's stack for tests: the shipped cdk.json context, asset bundling skipped."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from app import build_app
from infra.config import CONTEXT_KEY, GatewayConfig, load_config
from infra.stack import GptOssGatewayStack

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Synth:
    stack: GptOssGatewayStack
    template: Template
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    template_path: Path
    outdir: Path
    config: GatewayConfig

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.resources.items() if value["Type"] == resource_type}


def shipped_context() -> dict[str, Any]:
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def synthesize(outdir: Path, gptoss: dict[str, Any] | None = None) -> Synth:
    """Synthesize app.py's stack (cdk-nag included) with the shipped context, ``gptoss`` overriding its section."""
    context = shipped_context()
    if gptoss is not None:
        context[CONTEXT_KEY] = gptoss
    # Tests never run pip: the dependencies layer's local bundling is skipped (make synth does it for real).
    context["aws:cdk:bundling-stacks"] = []
    app = cdk.App(context=context, outdir=str(outdir))
    stack = build_app(app)
    assembly = app.synth()
    template_path = Path(assembly.directory) / stack.template_file
    body = json.loads(template_path.read_text())
    return Synth(
        stack=stack,
        template=Template.from_json(body),
        resources=body["Resources"],
        outputs=body.get("Outputs", {}),
        template_path=template_path,
        outdir=Path(assembly.directory),
        config=load_config(context[CONTEXT_KEY]),
    )
