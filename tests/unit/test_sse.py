"""SSE framing and ids: what goes over the wire to an OpenAI streaming client, and the ids of files and batches."""

import json
import re

from gptoss.errors import from_bedrock_error
from gptoss.ids import batch_id, completion_id, file_id, tool_call_id
from gptoss.sse import DONE, sse_data, sse_error


def test_a_chunk_is_one_data_event_with_compact_utf8_json():
    # Given a chunk with non-ASCII text
    payload = {"choices": [{"delta": {"content": "Grüße 🙂"}}]}
    # When framed
    event = sse_data(payload)
    # Then it is a single `data:` line ending in a blank line, decodable back to the chunk
    assert event.startswith(b"data: ")
    assert event.endswith(b"\n\n")
    assert event.count(b"\n") == 2
    assert json.loads(event[len(b"data: ") :].decode("utf-8")) == payload
    # And the text travels as UTF-8 in compact JSON, as OpenAI sends it (no \u escapes, no padding)
    assert event == 'data: {"choices":[{"delta":{"content":"Grüße 🙂"}}]}\n\n'.encode()


def test_the_stream_terminator_is_openais():
    # Given a stream that has sent its last chunk
    # When the terminator is framed
    # Then it is OpenAI's exact `data: [DONE]` event, which the SDKs wait for
    assert DONE == b"data: [DONE]\n\n"


def test_an_error_after_streaming_began_is_an_openai_error_object_event():
    # Given a throttle that arrives mid-stream
    event = sse_error(from_bedrock_error("ThrottlingException", "slow down"))
    # Then the client receives the OpenAI error object as a data event
    body = json.loads(event[len(b"data: ") :])
    assert body["error"]["type"] == "rate_limit_error"
    assert body["error"]["code"] == "rate_limit_exceeded"


def test_ids_look_like_openais_and_are_unique():
    # Given many completions
    # When each gets an id
    ids = {completion_id() for _ in range(100)}
    # Then the ids are distinct and shaped like OpenAI's, and tool call ids like OpenAI's too
    assert len(ids) == 100
    assert all(re.fullmatch(r"chatcmpl-[0-9a-f]{24}", value) for value in ids)
    assert re.fullmatch(r"call_[0-9a-f]{24}", tool_call_id())


def test_file_and_batch_ids_look_like_openais_and_are_unique():
    # Given many uploaded files and created batches
    # When each gets an id
    files = {file_id() for _ in range(100)}
    batches = {batch_id() for _ in range(100)}
    # Then the ids are distinct and shaped like OpenAI's file and batch ids
    assert (len(files), len(batches)) == (100, 100)
    assert all(re.fullmatch(r"file-[0-9a-f]{24}", value) for value in files)
    assert all(re.fullmatch(r"batch_[0-9a-f]{24}", value) for value in batches)
