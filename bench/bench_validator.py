"""Batch validator throughput and memory, against a bare `json.loads`-per-line loop over the same file, same run.

Generates a 200 MB JSONL batch file (records of ~4.3 KB, so the file stays within Bedrock's 50,000-record quota) of
a realistic mix of record shapes (`SHAPES`: a system prompt + document, with `stop`, with several sampling fields and
metadata, and tools-free multi-turn histories), then reports:
- throughput (MB/s) of the validator (what `gptoss batch validate` and the validate step run; the step also writes the
  staged copy Bedrock reads, timed separately) and of the
  baseline loop, best of five alternating runs each (CPU time), and their ratio (target: >= 0.7);
- peak traced memory (tracemalloc) for 50 MB vs 200 MB: streaming keeps it flat in file size; the only growth is
  the recordId set, which follows the record count (capped by the quota), shown by a third 200 MB file holding as
  many (larger) records as the 50 MB one.
Run: `python -m bench.bench_validator` (or `python -m bench`).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "lambdas" / "shared" / "python") not in sys.path:
    sys.path.insert(0, str(ROOT / "lambdas" / "shared" / "python"))

from gptoss.batch_records import Limits, Report, iter_lines, validate_lines  # noqa: E402
from gptoss.models import GPT_OSS_120B, KNOWN_MODELS  # noqa: E402

MB = 1_000_000
FILE_MB = 200
SMALL_MB = 50
RUNS = 5
TARGET_RATIO = 0.7
CHUNK_BYTES = 1 << 20
WORDS = [
    "the",
    "quarterly",
    "report",
    "shows",
    "revenue",
    "growth",
    "in",
    "every",
    "region",
    "while",
    "costs",
    "stayed",
    "flat",
]


def _summarise(index: int, document: str) -> dict:
    return {
        "messages": [
            {"role": "system", "content": "You are a careful analyst. Answer in three bullet points."},
            {"role": "user", "content": f"Summarise document {index}:\n{document}"},
        ],
        "max_completion_tokens": 512,
        "temperature": 0.2,
        "reasoning_effort": "low",
    }


def _with_stop(index: int, document: str) -> dict:
    return {**_summarise(index, document), "stop": ["\nObservation:", "END"], "top_p": 0.9}


def _sampling(index: int, document: str) -> dict:
    return {
        **_summarise(index, document),
        "seed": index,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.1,
        "max_tokens": 800,
        "user": f"analyst-{index % 7}",
        "metadata": {"team": "finance", "run": "q3"},
    }


def _history(index: int, document: str) -> dict:
    third = len(document) // 3
    return {
        "messages": [
            {"role": "developer", "content": "Answer briefly."},
            {"role": "user", "content": f"Read this: {document[:third]}"},
            {"role": "assistant", "content": "Read. What next?"},
            {"role": "user", "content": f"And this: {document[third : 2 * third]}"},
            {"role": "assistant", "content": "Done. Anything else?"},
            {"role": "user", "content": [{"type": "text", "text": f"Last part: {document[2 * third :]}"}]},
        ],
        "temperature": 0.7,
        "reasoning_effort": "medium",
    }


SHAPES = (_summarise, _with_stop, _sampling, _history)


def record(index: int, words: int = 560) -> bytes:
    """A realistic record (one of `SHAPES`, in turn): a ~4 KB document in one or several turns, with sampling
    parameters."""
    document = " ".join(WORDS[(index + i) % len(WORDS)] for i in range(words + index % 80))
    body = SHAPES[index % len(SHAPES)](index, document)
    return json.dumps({"recordId": f"doc{index:07d}", "modelInput": body}).encode() + b"\n"


def generate(path: Path, size_mb: int, words: int = 560) -> int:
    """Write records until the file reaches `size_mb`; returns the record count."""
    count = 0
    written = 0
    with path.open("wb") as handle:
        while written < size_mb * MB:
            line = record(count, words)
            handle.write(line)
            written += len(line)
            count += 1
    return count


def chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def baseline(path: Path) -> None:
    loads = json.loads
    with path.open("rb") as handle:
        for line in handle:
            loads(line)


def validator(path: Path) -> Report:
    """The validator alone (what `gptoss batch validate` runs)."""
    return _validate(path, None)


def validate_step(path: Path) -> Report:
    """What the validate step does: the validator, writing the staged copy Bedrock reads (to a file here)."""
    with path.with_suffix(".staged").open("wb") as staged:
        return _validate(path, staged.write)


def _validate(path: Path, emit: Callable[[bytes], object] | None) -> Report:
    limits = Limits(max_file_bytes=10 * FILE_MB * MB)
    lines = iter_lines(chunks(path))
    return validate_lines(
        lines, size=path.stat().st_size, model=GPT_OSS_120B, enabled=KNOWN_MODELS, limits=limits, emit=emit
    )


def elapsed(run: Callable[[], object]) -> float:
    """CPU seconds of this process: steadier than wall time on a shared machine (the file is in the page cache)."""
    start = time.process_time()
    run()
    return time.process_time() - start


def peak_memory_mb(run: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="gptoss-bench-") as tmp:
        big, small, sparse = (Path(tmp) / f"{name}.jsonl" for name in ("big", "small", "sparse"))
        records = generate(big, FILE_MB)
        small_records = generate(small, SMALL_MB)
        # As many records as the 50 MB file, 4x larger each: isolates file size from record count.
        sparse_records = generate(sparse, FILE_MB, words=4 * 560 + 300)
        size_mb = big.stat().st_size / MB
        report = validator(big)
        if not report.valid:
            raise SystemExit(f"the generated file should be valid: {report.problems[:3]}")
        base_times, validator_times, step_times = [], [], []
        for _ in range(RUNS):
            base_times.append(elapsed(lambda: baseline(big)))
            validator_times.append(elapsed(lambda: validator(big)))
            step_times.append(elapsed(lambda: validate_step(big)))
        base_rate, validator_rate = size_mb / min(base_times), size_mb / min(validator_times)
        step_rate = size_mb / min(step_times)
        small_peak = peak_memory_mb(lambda: validator(small))
        big_peak = peak_memory_mb(lambda: validator(big))
        sparse_peak = peak_memory_mb(lambda: validator(sparse))
    ratio = validator_rate / base_rate
    results = {
        "file_mb": round(size_mb, 1),
        "records": records,
        "baseline_mb_s": round(base_rate, 1),
        "validator_mb_s": round(validator_rate, 1),
        "ratio": round(ratio, 2),
        "step_mb_s": round(step_rate, 1),
        "step_ratio": round(step_rate / base_rate, 2),
        "peak_mb_50": round(small_peak, 2),
        "peak_mb_200": round(big_peak, 2),
        "peak_mb_200_large_records": round(sparse_peak, 2),
    }
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"batch validator: {size_mb:.0f} MB, {records} records")
    print(f"  json.loads loop  {base_rate:7.1f} MB/s")
    print(f"  validator        {validator_rate:7.1f} MB/s   ratio {ratio:.2f} ({verdict} the {TARGET_RATIO} target)")
    step_ratio = step_rate / base_rate
    print(f"  + staged copy    {step_rate:7.1f} MB/s   ratio {step_ratio:.2f} (the validate step's whole work)")
    print("  peak memory (tracemalloc): streaming buffers + the recordId set (capped by the record quota)")
    print(f"    {SMALL_MB:4d} MB, {small_records:6d} records  {small_peak:6.2f} MB")
    print(f"    {FILE_MB:4d} MB, {records:6d} records  {big_peak:6.2f} MB")
    print(
        f"    {FILE_MB:4d} MB, {sparse_records:6d} records  {sparse_peak:6.2f} MB  (same record count as {SMALL_MB} MB)"
    )
    return results


if __name__ == "__main__":
    main()
