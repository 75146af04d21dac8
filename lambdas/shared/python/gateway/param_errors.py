"""botocore's client-side parameter validation report, reworded for an HTTP caller who sent JSON.

botocore raises `ParamValidationError(report=...)` before any network call, one report line per problem, worded for
Python callers (`valid types: <class 'list'>, <class 'tuple'>`). Each line is parsed for the parameter it names
(`messages`, `messages[0].content`, ...) and its Python types are renamed to JSON ones (list → array, dict →
object, ...). The first problem's parameter becomes the error's `param`. Lines in an unknown format are kept, with
their type names renamed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from gptoss.errors import GatewayError

_JSON_TYPES: dict[str, str] = {
    "list": "array",
    "tuple": "array",
    "dict": "object",
    "str": "string",
    "int": "number",
    "float": "number",
    "decimal.Decimal": "number",
    "bool": "boolean",
    "NoneType": "null",
    "bytes": "binary",
    "bytearray": "binary",
    "datetime.datetime": "timestamp",
}
_PYTHON_TYPE = re.compile(r"<class '([\w.]+)'>")
# Where one report line starts: a value quoted inside a line may itself contain line breaks.
_LINE_START = re.compile(
    r"\n(?=Missing required parameter in |Unknown parameter in |Invalid type for (?:document )?parameter "
    r"|Invalid value for parameter |Invalid length for parameter |Invalid parameter "
    r"|Invalid number of parameters set for tagged union |Must set one of the following keys for tagged union)"
)


def _json_type(python_name: str) -> str:
    return _JSON_TYPES.get(python_name, python_name.rsplit(".", 1)[-1])


def _json_types(valid: str) -> str:
    """`<class 'list'>, <class 'tuple'>` → `array`; several distinct types → `string, number or boolean`."""
    names: list[str] = []
    for part in valid.split(", "):
        match = _PYTHON_TYPE.fullmatch(part.strip())
        name = _json_type(match.group(1)) if match else part.strip()
        if name and name not in names:
            names.append(name)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _quoted(value: str, python_type: str) -> str:
    """A string value in JSON quotes (`x` reads as `"x"`); other values as botocore wrote them."""
    return json.dumps(value, ensure_ascii=False) if python_type == "str" else value


def _child(parent: str, field: str) -> str:
    return field if parent == "input" else f"{parent}.{field}"


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, str]]]
_RULES: list[_Rule] = [
    (
        re.compile(
            r"Invalid type for (?:document )?parameter (?P<name>\S+), value: (?P<value>.*), "
            r"type: <class '(?P<got>[\w.]+)'>, valid types: (?P<valid>.*)",
            re.DOTALL,
        ),
        lambda m: (
            m["name"],
            f"Invalid type for {m['name']}: expected {_json_types(m['valid'])}, got {_json_type(m['got'])}"
            f" (value: {_quoted(m['value'], m['got'])}).",
        ),
    ),
    (
        re.compile(r'Missing required parameter in (?P<parent>\S+): "(?P<field>[^"]+)"'),
        lambda m: (_child(m["parent"], m["field"]), f"Missing required parameter {_child(m['parent'], m['field'])}."),
    ),
    (
        re.compile(r'Unknown parameter in (?P<parent>\S+): "(?P<field>[^"]+)", must be one of: (?P<valid>.*)'),
        lambda m: (
            _child(m["parent"], m["field"]),
            f"Unknown parameter {_child(m['parent'], m['field'])}; expected one of: {m['valid']}.",
        ),
    ),
    (
        re.compile(r"Invalid value for parameter (?P<name>\S+), value: (?P<value>.*), valid min value: (?P<min>\S+)"),
        lambda m: (m["name"], f"Invalid value for {m['name']}: {m['value']} is below the minimum of {m['min']}."),
    ),
    (
        re.compile(r"Invalid length for parameter (?P<name>\S+), value: (?P<value>.*), valid min length: (?P<min>\S+)"),
        lambda m: (m["name"], f"Invalid length for {m['name']}: the minimum length is {m['min']}."),
    ),
    (
        re.compile(r"Invalid number of parameters set for tagged union structure (?P<name>\S+)\. .*?: (?P<keys>.*)\."),
        lambda m: (m["name"], f"{m['name']} must set exactly one of: {m['keys']}."),
    ),
    (
        re.compile(r"Must set one of the following keys for tagged union ?structure (?P<name>\S+): (?P<keys>.*)\."),
        lambda m: (m["name"], f"{m['name']} must set exactly one of: {m['keys']}."),
    ),
]


def _reword(line: str) -> tuple[str | None, str]:
    """(the parameter a report line names, the line in JSON terms)."""
    for pattern, reword in _RULES:
        match = pattern.fullmatch(line)
        if match is not None:
            return reword(match)
    return None, _PYTHON_TYPE.sub(lambda m: _json_type(m.group(1)), line)


def from_param_validation(report: str) -> GatewayError:
    """A 400 naming the first invalid parameter, for botocore's `ParamValidationError.kwargs["report"]`.

    The message may quote the caller's values (as botocore does), so it is marked `quotes_request`.
    """
    problems = [_reword(line.strip()) for line in _LINE_START.split(report.strip()) if line.strip()]
    params = [param for param, _ in problems if param is not None]
    message = " ".join(text for _, text in problems) or "The request has invalid parameters."
    return GatewayError(400, f"Invalid request: {message}", param=params[0] if params else None, quotes_request=True)
