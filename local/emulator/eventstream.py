"""AWS event-stream framing (application/vnd.amazon.eventstream) for the emulator's streaming responses.

A message is: prelude (total length, headers length, CRC32 of those 8 bytes), headers, payload, CRC32 of all
preceding bytes. Headers here are always strings (type 7): name length (1 byte), name, type, value length (2 bytes),
value.
"""

import json
import struct
import zlib

_STRING_HEADER = 7
_PRELUDE_AND_TRAILER = 16


def _encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        raw_value = value.encode("utf-8")
        out += struct.pack("!B", len(raw_name)) + raw_name
        out += struct.pack("!BH", _STRING_HEADER, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """Frame one event-stream message with both CRCs."""
    raw_headers = _encode_headers(headers)
    total = _PRELUDE_AND_TRAILER + len(raw_headers) + len(payload)
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack("!I", zlib.crc32(body))


def encode_event(event_type: str, payload: dict) -> bytes:
    """An event message (e.g. `contentBlockDelta`, `chunk`) with a JSON payload."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(payload, separators=(",", ":")).encode("utf-8"))


def encode_exception(exception_type: str, message: str) -> bytes:
    """A modelled mid-stream exception (e.g. `modelStreamErrorException`); botocore raises it as EventStreamError."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps({"message": message}).encode("utf-8"))
