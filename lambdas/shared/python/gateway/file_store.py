"""The OpenAI files of each owner in the bucket (`gptoss.batch_layout`): content plus its `file` object.

The object is written after the content, so a file exists exactly when its object does. Every key is under the
owner's prefix: a lookup by another owner finds nothing, whatever id it guesses.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from gptoss.batch_layout import file_keys, files_prefix
from gptoss.openai_batch import file_object

from gateway.store import get_json


def put_file(
    s3: BaseClient, bucket: str, owner: str, file_id: str, content: Path, *, filename: str, purpose: str
) -> dict[str, Any]:
    """Store a file's content (uploaded from a local path, in parts when large) and its object; returns the object."""
    content_key, object_key = file_keys(owner, file_id)
    s3.upload_file(str(content), bucket, content_key, ExtraArgs={"ContentType": "application/jsonl"})
    created = file_object(
        file_id, filename=filename, size=content.stat().st_size, created_at=int(time.time()), purpose=purpose
    )
    s3.put_object(Bucket=bucket, Key=object_key, Body=json.dumps(created).encode(), ContentType="application/json")
    return created


def get_file(s3: BaseClient, bucket: str, owner: str, file_id: str) -> dict[str, Any] | None:
    """The owner's file object, or None."""
    return get_json(s3, bucket, file_keys(owner, file_id)[1])


def list_files(s3: BaseClient, bucket: str, owner: str) -> list[dict[str, Any]]:
    """Every file object of the owner (unordered)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=files_prefix(owner))
    keys = [item["Key"] for page in pages for item in page.get("Contents", []) if item["Key"].endswith(".json")]
    files = (get_file(s3, bucket, owner, key.rsplit("/", 1)[-1].removesuffix(".json")) for key in keys)
    return [file for file in files if file is not None]


def content(s3: BaseClient, bucket: str, owner: str, file_id: str) -> Any:
    """The streaming body of the owner's file content (call only for a file that exists)."""
    return s3.get_object(Bucket=bucket, Key=file_keys(owner, file_id)[0])["Body"]


def delete_file(s3: BaseClient, bucket: str, owner: str, file_id: str) -> None:
    """Remove the object first (the file is gone from then on), then the content."""
    content_key, object_key = file_keys(owner, file_id)
    s3.delete_object(Bucket=bucket, Key=object_key)
    s3.delete_object(Bucket=bucket, Key=content_key)
