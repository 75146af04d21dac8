"""Fault injection: directives in the last user message, faults queued through the admin API, and the call record."""

import hashlib
import re
import threading
from collections import deque
from dataclasses import dataclass

from local.emulator.errors import CONTEXT_LENGTH_MESSAGE, STATUS_BY_EXCEPTION, BedrockError, validation

MIDSTREAM = "midstream"
MODEL_OPERATIONS = frozenset({"InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream"})
CONTEXT_LENGTH = "context_length"

_DIRECTIVE = re.compile(r"\[(fault|fault-once|slow-first-token|guardrail):([^\]\s]+)\]")


@dataclass(frozen=True)
class Directives:
    """What the last user message asks the emulator to do."""

    fault: str | None = None
    fault_once: str | None = None
    slow_first_token: float = 0.0
    guardrail_block: bool = False


def parse_directives(text: str) -> Directives:
    """Read `[fault:X]`, `[fault-once:X]`, `[slow-first-token:S]` and `[guardrail:block]` from a message text."""
    found: dict[str, str] = {}
    for kind, value in _DIRECTIVE.findall(text):
        found.setdefault(kind, value)
    try:
        slow = float(found.get("slow-first-token", "0"))
    except ValueError:
        slow = 0.0
    return Directives(
        fault=found.get("fault"),
        fault_once=found.get("fault-once"),
        slow_first_token=max(slow, 0.0),
        guardrail_block=found.get("guardrail") == "block",
    )


def is_known_fault(name: str) -> bool:
    if name in (CONTEXT_LENGTH, MIDSTREAM):
        return True
    if name.startswith(MIDSTREAM + ":"):
        return name.split(":", 1)[1] in STATUS_BY_EXCEPTION
    return name in STATUS_BY_EXCEPTION


def fault_error(name: str) -> BedrockError:
    """The error a non-midstream fault raises before any output."""
    if name == CONTEXT_LENGTH:
        return validation(CONTEXT_LENGTH_MESSAGE)
    if name in STATUS_BY_EXCEPTION:
        return BedrockError(name)
    return validation(f"Unknown emulator fault {name!r}. [emulated]")


def is_midstream(name: str | None) -> bool:
    return name is not None and (name == MIDSTREAM or name.startswith(MIDSTREAM + ":"))


def midstream_exception(name: str) -> str:
    """`midstream` → ModelStreamErrorException; `midstream:ThrottlingException` → ThrottlingException."""
    _, _, code = name.partition(":")
    return code or "ModelStreamErrorException"


def request_key(operation: str, model_id: str, body: bytes) -> str:
    return hashlib.sha256(operation.encode() + b"\0" + model_id.encode() + b"\0" + body).hexdigest()


class FaultState:
    """Thread-safe mutable state shared by all requests of one emulator: queued faults, fault-once keys, calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: deque[tuple[str, str | None]] = deque()
        self._failed_once: set[str] = set()
        self._calls: list[dict] = []

    def queue(self, fault: str, count: int, operation: str | None = None) -> None:
        """Fail the next `count` calls of `operation` (default: any model call) with `fault`."""
        with self._lock:
            self._queued.extend([(fault, operation)] * count)

    def take_queued(self, operation: str) -> str | None:
        """Pop the first queued fault meant for this operation (unscoped ones are for model calls only)."""
        with self._lock:
            for entry in self._queued:
                fault, scope = entry
                if scope == operation or (scope is None and operation in MODEL_OPERATIONS):
                    self._queued.remove(entry)
                    return fault
            return None

    def first_attempt(self, key: str) -> bool:
        """True the first time a request key is seen (so `[fault-once:X]` fails it), False on retries."""
        with self._lock:
            if key in self._failed_once:
                return False
            self._failed_once.add(key)
            return True

    def record(self, call: dict) -> None:
        with self._lock:
            self._calls.append(call)

    def calls(self) -> list[dict]:
        with self._lock:
            return list(self._calls)

    def reset(self) -> None:
        with self._lock:
            self._queued.clear()
            self._failed_once.clear()
            self._calls.clear()

    def choose_fault(self, operation: str, directives: Directives, key: str) -> str | None:
        """The fault for this call: a queued one first, then `[fault:X]`, then `[fault-once:X]` on a first attempt."""
        queued = self.take_queued(operation)
        if queued:
            return queued
        if directives.fault:
            return directives.fault
        if directives.fault_once and self.first_attempt(key):
            return directives.fault_once
        return None
