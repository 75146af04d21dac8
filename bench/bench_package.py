"""Deployment package sizes: each function's code asset and each project layer, unzipped and zipped, read from the
synthesized cloud assembly (``cdk.out/``; synthesized here, with the real arm64 bundling, if absent). Each function's
total is checked against Lambda's 250 MB unzipped limit (code + layers; the public layers are not counted).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STACK = "GptOssGateway"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def _assembly() -> Path:
    """cdk.out from `make synth`, else a fresh synthesis (app.py, cdk.json context, real bundling) in a temp dir."""
    existing = Path(os.environ.get("GPTOSS_CDK_OUT", ROOT / "cdk.out"))
    if (existing / f"{STACK}.template.json").exists():
        return existing
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    import aws_cdk as cdk

    from app import build_app

    outdir = Path(tempfile.mkdtemp(prefix="gptoss-cdk-out-"))
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(context=context, outdir=str(outdir))
    build_app(app)
    app.synth()
    return outdir


def _sizes(directory: Path) -> tuple[int, int, int]:
    """(files, unzipped bytes, zipped bytes) of an asset directory, zipped the way the CDK CLI uploads it."""
    files = [path for path in sorted(directory.rglob("*")) if path.is_file()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(directory))
    return len(files), sum(path.stat().st_size for path in files), len(buffer.getvalue())


def _asset_dir(assembly: Path, resource: dict[str, Any]) -> Path | None:
    asset_path = resource.get("Metadata", {}).get("aws:asset:path")
    return assembly / asset_path if asset_path else None


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:8.2f} MB"


def main() -> None:
    assembly = _assembly()
    resources = json.loads((assembly / f"{STACK}.template.json").read_text())["Resources"]
    layers: dict[str, tuple[str, tuple[int, int, int]]] = {}
    for logical_id, resource in resources.items():
        directory = _asset_dir(assembly, resource)
        if resource["Type"] == "AWS::Lambda::LayerVersion" and directory is not None:
            layers[logical_id] = (resource["Properties"].get("Description", logical_id), _sizes(directory))
    print(f"cloud assembly: {assembly}")
    print(f"  {'layer':<72} {'files':>6} {'unzipped':>11} {'zipped':>11}")
    for description, (files, unzipped, zipped) in layers.values():
        print(f"  {description[:72]:<72} {files:6d} {_mb(unzipped)} {_mb(zipped)}")
    print(
        f"  {'function (code asset; total = code + project layers)':<72} {'files':>6} {'unzipped':>11} {'zipped':>11}"
    )
    for resource in resources.values():
        directory = _asset_dir(assembly, resource)
        if resource["Type"] != "AWS::Lambda::Function" or directory is None:
            continue
        props = resource["Properties"]
        name = props.get("Environment", {}).get("Variables", {}).get("GPTOSS_FUNCTION")
        if name is None:
            continue
        files, unzipped, zipped = _sizes(directory)
        own_layers = [layer["Ref"] for layer in props.get("Layers", []) if isinstance(layer, dict) and "Ref" in layer]
        total = unzipped + sum(layers[ref][1][1] for ref in own_layers if ref in layers)
        share = 100 * total / LAMBDA_UNZIPPED_LIMIT
        print(f"  {name:<72} {files:6d} {_mb(unzipped)} {_mb(zipped)}")
        print(
            f"  {'  total with ' + str(len(own_layers)) + ' project layer(s)':<72} {'':6} {_mb(total)}   "
            f"{share:.1f}% of the 250 MB limit"
        )


if __name__ == "__main__":
    main()
