"""`gptoss` command line: batch files for the deployed gateway.

gptoss batch validate FILE [--model M]           offline check, same rules as the pipeline; exit 0 valid, 1 not
gptoss batch submit FILE --model M [--wait]      upload to the stack's bucket; with --wait, show progress and
                                                 download results/<name>/ when the run ends
gptoss batch submit FILE --local [--wait]        the same against `make local` (its local store, found through
                                                 the local server at --local-url)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

from gptoss.batch_layout import errors_key, input_key, s3_uri, status_key
from gptoss.batch_records import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_MAX_RECORDS,
    DEFAULT_MIN_RECORDS,
    RUN_NAME_PATTERN,
    Limits,
    Report,
    iter_lines,
    validate_lines,
)
from gptoss.errors import GatewayError
from gptoss.models import GPT_OSS_120B, KNOWN_MODELS, resolve_model

DEFAULT_STACK = "GptOssGateway"
DEFAULT_LOCAL_URL = "http://127.0.0.1:8000"
TERMINAL_STATES = ("completed", "partially_completed", "failed", "stopped", "expired", "invalid", "error", "conflict")
SUCCESS_STATES = ("completed", "partially_completed")
CHUNK_BYTES = 1 << 20
EXAMPLES_PER_PROBLEM = 3  # lines printed per problem code; the rest fold into one summary line
LISTED_RANGES = 20  # line numbers (or runs of them, 4-117) listed in that summary
_ASKED_MODEL = re.compile(r"modelInput\.model '([^']+)'")


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def validate_file(path: Path, model: str, limits: Limits) -> Report:
    """The pipeline's validation, run on a local file (streamed, like the validate step)."""
    return validate_lines(
        iter_lines(file_chunks(path), limits.max_record_bytes),
        size=path.stat().st_size,
        model=model,
        enabled=KNOWN_MODELS,
        limits=limits,
    )


def print_report(path: Path, report: Report, out: IO[str], *, min_records: int) -> None:
    """Each problem as FILE:LINE, but only the first few of each kind: the rest of a kind folds into one line; for a
    valid file, the verdict and how it will run (a file under the batch minimum runs on demand)."""
    shown: dict[str, int] = {}
    folded: dict[str, list[int]] = {}
    for problem in report.problems:
        if problem.line is not None and shown.get(problem.code, 0) >= EXAMPLES_PER_PROBLEM:
            folded.setdefault(problem.code, []).append(problem.line)
            continue
        shown[problem.code] = shown.get(problem.code, 0) + 1
        where = f"{path}:{problem.line}" if problem.line is not None else str(path)
        print(f"{where}: {problem.message} [{problem.code}]", file=out)
    for code, lines in folded.items():
        more = f"... and {len(lines)} more line(s) with the same problem [{code}]"
        print(f"{path}: {more}: {_line_list(lines)}", file=out)
    hidden = report.problem_count - len(report.problems)
    if hidden:
        print(f"... and {hidden} more problem(s)", file=out)
    if "model_mismatch" in shown:
        print(_model_hint(report), file=out)
    verdict = "valid" if report.valid else f"{report.problem_count} problem(s)"
    print(f"{path}: {report.records} record(s), model {report.model}: {verdict}", file=out)
    if report.valid and report.records < min_records:
        print(
            f"{path}: under the batch minimum of {min_records}: it will run on demand (InvokeModel), at on-demand "
            "prices (about twice the batch price per token)",
            file=out,
        )


def _line_list(lines: list[int]) -> str:
    """`[4, 5, 6, 9]` → `lines 4-6, 9`; only the first LISTED_RANGES runs are listed."""
    runs: list[list[int]] = []
    for line in lines:
        if runs and line == runs[-1][1] + 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    listed = ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in runs[:LISTED_RANGES])
    return f"lines {listed}, ..." if len(runs) > LISTED_RANGES else f"lines {listed}"


def _model_hint(report: Report) -> str:
    """Which --model the mismatching records ask for (when they agree on one), or how to choose the batch model."""
    asked = {
        match.group(1)
        for problem in report.problems
        if problem.code == "model_mismatch" and (match := _ASKED_MODEL.search(problem.message))
    }
    if len(asked) == 1:
        [name] = asked
        return f"hint: the batch model is {report.model} but the records name {name}: pass --model {name}"
    return f"hint: the batch model is {report.model} but the records name another: choose it with --model"


def _model(name: str) -> str:
    try:
        return resolve_model(name, KNOWN_MODELS)
    except GatewayError:
        raise argparse.ArgumentTypeError(f"unknown model {name!r}; known: {', '.join(KNOWN_MODELS)}") from None


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(
        min_records=args.min_records,
        max_records=args.max_records,
        max_file_bytes=args.max_file_bytes,
        max_record_bytes=args.max_record_bytes,
    )


def cmd_validate(args: argparse.Namespace) -> int:
    report = validate_file(args.file, args.model, _limits(args))
    print_report(args.file, report, sys.stdout if report.valid else sys.stderr, min_records=args.min_records)
    return 0 if report.valid else 1


def stack_bucket(stack: str, cloudformation: Any) -> str:
    """The BucketName output of the deployed stack."""
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        if output["OutputKey"] == "BucketName":
            return output["OutputValue"]
    raise SystemExit(f"error: stack {stack} has no BucketName output; pass --bucket")


class LocalStore(NamedTuple):
    """`make local`'s batch store: its bucket, an S3 client for it, and the batch minimum its runs apply."""

    bucket: str
    s3: Any
    min_records: int


def local_store(url: str) -> LocalStore:
    """`make local`'s batch store, as the local server at `url` describes it."""
    import urllib.error
    import urllib.request

    import boto3

    from local.server import LOCAL_STORE_PATH

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}{LOCAL_STORE_PATH}", timeout=10) as response:
            store = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        message = f"error: no `make local` batch store at {url} ({exc}); start `make local` or pass --local-url"
        raise SystemExit(message) from None
    s3 = boto3.client(
        "s3",
        endpoint_url=store["s3_endpoint"],
        region_name=store["region"],
        aws_access_key_id="local",  # the local store takes any; your own credentials are never sent to it
        aws_secret_access_key="local",
    )
    return LocalStore(store["bucket"], s3, store["min_records"])


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)


def read_status(s3: Any, bucket: str, name: str, etag: str) -> dict[str, Any] | None:
    """This upload's run record; or, when the upload was refused (its name held by a run in progress), the refusal."""
    status = read_json(s3, bucket, status_key(name))
    if status and status.get("etag") == etag:
        return status
    refusal = read_json(s3, bucket, errors_key(name))
    if refusal and refusal.get("etag") == etag and refusal.get("state") == "conflict":
        return {**refusal, "errors": s3_uri(bucket, errors_key(name))}
    return None


def wait_for_run(
    s3: Any, bucket: str, name: str, etag: str, *, poll_seconds: float, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """Poll `status/<name>.json` for this upload (matched by ETag) with a progress bar, until a terminal state
    (or until `errors/<name>.json` says this upload was refused)."""
    from tqdm import tqdm

    with tqdm(desc=name, unit="rec", total=None, dynamic_ncols=True) as bar:
        while True:
            status = read_status(s3, bucket, name, etag)
            if status:
                records = status.get("records") or {}
                if records.get("total"):
                    bar.total = records["total"]
                bar.n = records.get("processed") or 0
                bar.set_postfix_str(status.get("state", ""))
                bar.refresh()
                if status.get("state") in TERMINAL_STATES:
                    return status
            sleep(poll_seconds)


def download_results(s3: Any, bucket: str, status: dict[str, Any], target: Path) -> list[Path]:
    """Copy the run's result files (and its error report, if any) into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    uris = [*(status.get("results") or {}).values(), status.get("errors")]
    saved = []
    for uri in filter(None, uris):
        key = uri.removeprefix(f"s3://{bucket}/")
        path = target / key.rsplit("/", 1)[-1]
        s3.download_file(bucket, key, str(path))
        saved.append(path)
    return saved


def cmd_submit(args: argparse.Namespace, *, session: Any = None, sleep: Callable[[float], None] = time.sleep) -> int:
    name = args.name or args.file.name.removesuffix(".jsonl")
    if not RUN_NAME_PATTERN.fullmatch(name):
        # The pipeline would refuse the key and report under another (sanitised) name: --wait would never see it.
        print(
            f"error: run name {name!r}: use 1-100 letters, digits, '.', '-' and '_' (starting with a letter or digit);"
            " rename the file or pass --name",
            file=sys.stderr,
        )
        return 2
    report = validate_file(args.file, args.model, _limits(args))
    if not report.valid:
        print_report(args.file, report, sys.stderr, min_records=args.min_records)
        print("not uploaded: fix the problems above first", file=sys.stderr)
        return 1
    min_records = args.min_records
    if args.local:
        bucket, s3, min_records = local_store(args.local_url)
    else:
        import boto3

        session = session or boto3.session.Session()
        s3 = session.client("s3")
        bucket = args.bucket or stack_bucket(args.stack, session.client("cloudformation"))
    print_report(args.file, report, sys.stdout, min_records=min_records)
    key = input_key(args.model, name)
    s3.upload_file(str(args.file), bucket, key)
    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    print(f"uploaded {report.records} record(s) to s3://{bucket}/{key}")
    if not args.wait:
        print(f"follow it with: GET /v1/batches/{name}, or {s3_uri(bucket, status_key(name))}")
        return 0
    status = wait_for_run(s3, bucket, name, etag, poll_seconds=args.poll_seconds, sleep=sleep)
    records = status.get("records") or {}
    print(f"{name}: {status['state']} ({records.get('succeeded', 0)} succeeded, {records.get('failed', 0)} failed)")
    if status.get("message"):
        print(status["message"])
    for path in download_results(s3, bucket, status, args.output or Path(f"{name}-results")):
        print(f"saved {path}")
    return 0 if status["state"] in SUCCESS_STATES else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gptoss", description="gpt-oss gateway tools")
    commands = parser.add_subparsers(dest="command", required=True)
    batch = commands.add_parser("batch", help="batch inference files").add_subparsers(dest="action", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("file", type=Path, help="JSONL file: one {recordId, modelInput} per line")
        sub.add_argument("--model", type=_model, default=GPT_OSS_120B, help="model id or alias (default 120b)")
        sub.add_argument("--min-records", type=int, default=DEFAULT_MIN_RECORDS)
        sub.add_argument("--max-records", type=int, default=DEFAULT_MAX_RECORDS)
        sub.add_argument("--max-file-bytes", type=int, default=DEFAULT_MAX_FILE_BYTES)
        sub.add_argument("--max-record-bytes", type=int, default=DEFAULT_MAX_RECORD_BYTES)

    validate = batch.add_parser("validate", help="check a file offline (exit 0 valid, 1 invalid)")
    common(validate)
    validate.set_defaults(run=cmd_validate)
    submit = batch.add_parser("submit", help="upload a file to the deployed gateway's bucket")
    common(submit)
    submit.add_argument("--name", help="run name (default: the file name without .jsonl)")
    submit.add_argument("--bucket", help="bucket name (default: the stack's BucketName output)")
    submit.add_argument("--stack", default=DEFAULT_STACK, help=f"CloudFormation stack (default {DEFAULT_STACK})")
    submit.add_argument("--local", action="store_true", help="submit to `make local` instead of a deployed stack")
    submit.add_argument(
        "--local-url", default=DEFAULT_LOCAL_URL, help=f"the local server, with --local (default {DEFAULT_LOCAL_URL})"
    )
    submit.add_argument("--wait", action="store_true", help="show progress, then download the results")
    submit.add_argument("--output", type=Path, help="where to save results (default ./<name>-results)")
    submit.add_argument("--poll-seconds", type=float, default=10.0)
    submit.set_defaults(run=cmd_submit)
    return parser


def _not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as a batch file, or None when it can."""
    if path.is_file():
        return None
    if path.is_dir():
        return "is a directory"
    return "no such file" if not path.exists() else "not a regular file"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = _not_a_file(args.file)
    if problem is not None:
        print(f"error: {args.file}: {problem}", file=sys.stderr)
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
