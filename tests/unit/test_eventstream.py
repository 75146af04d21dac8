"""The emulator's event-stream encoder produces frames that botocore's own decoder accepts."""

import json
import zlib

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from local.emulator.eventstream import encode_event, encode_exception, encode_message


def _decode(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_event_round_trips_through_botocore_decoder() -> None:
    # Given a contentBlockDelta event with non-ASCII text
    payload = {"delta": {"text": "héllo ✓"}, "contentBlockIndex": 1}

    # When it is encoded and fed to botocore's decoder
    (message,) = _decode(encode_event("contentBlockDelta", payload))

    # Then the headers and payload come back intact
    assert message.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(message.payload) == payload


def test_several_messages_in_one_buffer_decode_in_order() -> None:
    # Given three events concatenated as they arrive on the wire
    data = b"".join(encode_event("chunk", {"bytes": str(n)}) for n in range(3))

    # When decoded
    messages = _decode(data)

    # Then each is a separate message, in order
    assert [json.loads(m.payload)["bytes"] for m in messages] == ["0", "1", "2"]


def test_exception_message_carries_exception_type() -> None:
    # Given a mid-stream model error
    data = encode_exception("modelStreamErrorException", "broke")

    # When decoded
    (message,) = _decode(data)

    # Then botocore sees an exception message of that type with a JSON message body
    assert message.headers[":message-type"] == "exception"
    assert message.headers[":exception-type"] == "modelStreamErrorException"
    assert json.loads(message.payload) == {"message": "broke"}


def test_empty_payload_is_a_valid_frame() -> None:
    # Given a message without payload
    (message,) = _decode(encode_message({":message-type": "event", ":event-type": "ping"}, b""))

    # Then it decodes with an empty payload
    assert message.payload == b""
    assert message.headers[":event-type"] == "ping"


def test_corrupted_frame_fails_crc_check() -> None:
    # Given a valid frame with one payload byte flipped
    frame = bytearray(encode_event("chunk", {"bytes": "abc"}))
    frame[-6] ^= 0xFF

    # When decoded, Then botocore rejects it: the CRC really covers the bytes
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(frame))


def test_prelude_crc_matches_total_and_headers_length() -> None:
    # Given an encoded frame
    frame = encode_event("messageStop", {"stopReason": "end_turn"})

    # Then its prelude declares the real length and carries the CRC of the first 8 bytes
    assert int.from_bytes(frame[:4], "big") == len(frame)
    assert int.from_bytes(frame[8:12], "big") == zlib.crc32(frame[:8])
