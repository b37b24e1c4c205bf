"""Strict parsing at the edges: the base of every request model, the text types its fields use,
the one JSON parser for request bodies and hall frames, and the one integer parser for query
parameters and headers.

Everything here refuses rather than guesses. Python's own tools are too lenient for input from
the network: ``str.isdigit()`` is true for ``"²"`` (which ``int()`` then rejects), ``json.loads``
accepts ``NaN`` and ``1e400`` (which come back out as ``Infinity``, not JSON), recurses once per
nesting level (``[`` × 50,000 is a ``RecursionError``) and passes lone surrogates; and a NUL in a
text field is an error on PostgreSQL but stored on SQLite. Each of those is refused here, the
same way on every edge and every back end.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue

#: Deepest nesting of arrays and objects accepted in a JSON document. Our requests nest three
#: levels at most; the bound keeps the parser's recursion far from Python's limit.
MAX_JSON_DEPTH = 32

# -- text ---------------------------------------------------------------------------------------

#: Characters that are not text in any field: the controls (C0, DEL and C1, Unicode category
#: Cc) and surrogates (Cs, which no UTF-8 can carry). Multi-line text keeps tab, LF and CR;
#: single-line text refuses them too, and the Unicode line and paragraph separators.
_NOT_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why ``value`` is not acceptable text, or None."""
    found = (_NOT_MULTILINE if multiline else _NOT_SINGLE_LINE).search(value)
    if found is None:
        return None
    char = found.group()
    if char in "\t\n\r\u2028\u2029":
        return "不能包含换行或制表符 (no line breaks or tabs in this field)"
    return f"不能包含控制字符 U+{ord(char):04X} (no control characters)"


def _one_line(value: str) -> str:
    problem = text_problem(value, multiline=False)
    if problem is not None:
        raise ValueError(problem)
    return value


def _lines(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem is not None:
        raise ValueError(problem)
    return value


class _Text:
    """A text check that also states itself in the JSON Schema (as a ``pattern``), so the OpenAPI
    document says which characters the field refuses instead of leaving clients to find out."""

    def __init__(self, check: Callable[[str], str], pattern: str) -> None:
        self.check = check
        self.pattern = pattern

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return AfterValidator(self.check).__get_pydantic_core_schema__(source, handler)

    def __get_pydantic_json_schema__(self, schema: Any,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out["pattern"] = self.pattern
        return out


#: The two kinds of text field, as the last item of a field's ``Annotated`` (after its
#: ``Field`` bounds, so that those are checked as string lengths), e.g.
#: ``Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]``. Their patterns are the
#: character classes above, written as escapes, less the surrogates: no Unicode string holds
#: one (the JSON parser above refuses them) and JSON Schema's regex engines cannot name them.
#: Names, titles, codes, references, chat: one line, no control characters, no tabs.
ONE_LINE = _Text(_one_line, r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$")
#: Descriptions, questions, answers, announcements, reasons: line breaks (LF, CR) and tabs are
#: kept; every other control character is refused.
LINES = _Text(_lines, r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        _lines(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)


def integral_numbers(value: Any) -> Any:
    """``value`` with every whole number written with a fraction (``3.0``) made an integer.

    JSON has one number type, and JSON Schema counts 3.0 as the integer 3: a request model,
    strict about types, would otherwise refuse it where an integer is due. 3.5 stays a float."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [integral_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: integral_numbers(item) for key, item in value.items()}
    return value


def has_integral_float(value: Any) -> bool:
    """Whether :func:`integral_numbers` would change anything in ``value``."""
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, list):
        return any(has_integral_float(item) for item in value)
    if isinstance(value, dict):
        return any(has_integral_float(item) for item in value.values())
    return False


def _state_text_floor(schema: dict[str, Any]) -> None:
    """Every string of a request model refuses control characters (the validator below); a
    field without a stricter pattern of its own says so with the multi-line pattern."""

    def walk(node: Any) -> None:
        if not isinstance(node, dict) or "$ref" in node:
            return
        if (node.get("type") == "string" and "pattern" not in node and "enum" not in node
                and "const" not in node and "format" not in node):
            node["pattern"] = LINES.pattern
        for key in ("items", "additionalProperties"):
            walk(node.get(key))
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for child in node.get(key, []):
                walk(child)

    for prop in schema.get("properties", {}).values():
        walk(prop)


class Strict(BaseModel):
    """The base of every request model: no type coercion, no unknown fields, and no control
    characters in any string (the multi-line rule, as a floor under every field; a field typed
    :data:`ONE_LINE` refuses line breaks too)."""

    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=lambda schema, _model: _state_text_floor(schema))

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: Any, _info: ValidationInfo) -> Any:
        _check_strings(value)
        return value


# -- JSON ---------------------------------------------------------------------------------------


class BadJson(ValueError):
    """A document refused by :func:`parse_json`; ``code`` says why (docs/api.md)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_STRING = re.compile(r'"(?:[^"\\]+|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text``, brackets in strings not counted
    (for text that is not JSON the answer is still a bound the parser may rely on)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)


def _refuse_constant(name: str) -> Any:
    raise BadJson("number_out_of_range", f"{name} 不是 JSON 数值 (NaN and Infinity are not "
                  "JSON numbers)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson("number_out_of_range", "数值超出范围 (a number is out of range)")
    return value


def parse_json(data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The one JSON parser for input from the network: UTF-8, nesting at most ``max_depth``,
    finite numbers only, no lone surrogates. Raises :class:`BadJson`."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadJson("malformed_json", "请求体不是 UTF-8 (the JSON is not UTF-8)") from error
    else:
        text = data
    # Counting every bracket is a bound on the depth; only a document with many needs the scan.
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise BadJson("json_too_deep", f"JSON 嵌套超过 {max_depth} 层 (JSON nested deeper than "
                      f"{max_depth} levels)")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except BadJson:
        raise
    except (ValueError, RecursionError) as error:
        # ValueError includes an integer of more than 4300 digits.
        raise BadJson("malformed_json", "不是合法的 JSON (not valid JSON)") from error
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            raise BadJson("malformed_json", "JSON 含有不成对的代理项 (a lone surrogate "
                          "escape is not text)") from error
    return value


def parse_command(data: str | bytes) -> tuple[Any, bool]:
    """A request body or a hall frame: :func:`parse_json`, then :func:`integral_numbers`, so
    both edges read ``3.0`` where an integer is due as the integer 3 (JSON Schema's integer).
    The flag says whether a number was changed (an edge that validates the original bytes
    must then validate the converted value instead). Raises :class:`BadJson`."""
    value = parse_json(data)
    if has_integral_float(value):
        return integral_numbers(value), True
    return value, False


def dumps(value: Any) -> str:
    """Compact JSON out, never ``NaN`` or ``Infinity`` (ValueError instead: not JSON)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# -- integers -----------------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")


def parse_int(text: str | None, *, maximum: int, minimum: int = 0) -> int | None:
    """A whole number written in ASCII digits only (no sign, space, underscore, or any other
    script's digits), between ``minimum`` and ``maximum``; None for anything else, so the
    caller raises its own error."""
    if text is None or len(text) > len(str(maximum)) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None
