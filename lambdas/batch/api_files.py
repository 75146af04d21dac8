"""A batch created through the API gets OpenAI's output and error files, written by the collect step.

Each record of `succeeded.jsonl` / `failed.jsonl` (Bedrock recordIds) becomes an OpenAI output line under the
`custom_id` of the input line its recordId stands for. The file ids are derived from the batch id, so a retried
step rewrites the same files. Memory: the custom_ids (at most BATCH_MAX_RECORDS of them).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from batch_store import stream_lines
from gateway.file_store import put_file
from gptoss.batch_records import BatchResult
from gptoss.openai_batch import OUTPUT_PURPOSE, custom_ids, line_of, output_line


def output_file_id(batch_id: str, part: str) -> str:
    return "file-" + hashlib.sha256(f"{batch_id}/{part}".encode()).hexdigest()[:24]


def write_openai_files(s3: Any, run: dict[str, Any], tmp: Path, tally: dict[str, int]) -> dict[str, str | None]:
    """Write `<batch>_output.jsonl` (successes) and `<batch>_error.jsonl` (everything else) as the owner's files."""
    batch = run["api"]
    ids = custom_ids(stream_lines(s3, run["bucket"], run["key"]))
    written: dict[str, str | None] = {"output_file_id": None, "error_file_id": None}
    for part, source, count in (("output", "succeeded", tally["succeeded"]), ("error", "failed", tally["failed"])):
        if not count:
            continue
        path = tmp / f"openai-{part}.jsonl"
        with (tmp / f"{source}.jsonl").open() as records, path.open("w") as out:
            for text in records:
                record = json.loads(text)
                result = BatchResult(record["recordId"], completion=record.get("response"), error=record.get("error"))
                line = line_of(result.record_id)
                custom_id = ids[line - 1] if line is not None and line <= len(ids) else None
                out.write(json.dumps(output_line(batch["id"], custom_id or "", result), ensure_ascii=False) + "\n")
        file_id = output_file_id(batch["id"], part)
        filename = f"{batch['id']}_{part}.jsonl"
        put_file(s3, run["bucket"], batch["owner"], file_id, path, filename=filename, purpose=OUTPUT_PURPOSE)
        written[f"{part}_file_id"] = file_id
    return written
