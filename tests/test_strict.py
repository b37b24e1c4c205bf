"""The strict edge parsers (tradesys/strict.py) and the chat limit, as pure functions."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import pytest
from pydantic import Field, ValidationError

from tests.support import T0
from tradesys.errors import TooManyRequests
from tradesys.opening.chat_limit import ChatLimit
from tradesys.strict import (
    LINES,
    MAX_JSON_DEPTH,
    ONE_LINE,
    BadJson,
    Strict,
    dumps,
    json_depth,
    parse_int,
    parse_json,
)


@pytest.mark.parametrize("text", ["²", "¹", "٣", "１", "५", "+1", "-1", " 1", "1 ", "1_0",
                                  "1\n", "", "0x1", "1.0", "1e3", "٠"])
def test_parse_int_takes_ascii_digits_only(text: str) -> None:
    assert parse_int(text, maximum=10**6) is None


def test_parse_int_bounds() -> None:
    assert parse_int("0", maximum=5) == 0
    assert parse_int("007", maximum=100) == 7
    assert parse_int("5", maximum=5) == 5
    assert parse_int("6", maximum=5) is None
    assert parse_int("0", minimum=1, maximum=5) is None
    assert parse_int(None, maximum=5) is None
    # A long run of digits is refused before int() sees it.
    assert parse_int("9" * 100_000, maximum=2**63 - 1) is None


@pytest.mark.parametrize(("text", "depth"), [
    ("1", 0), ("[]", 1), ("[[],{}]", 2), ('{"a":[{"b":[]}]}', 4),
    ('["[[[[", "{{{{", "\\"[["]', 1), ("[" * 1000, 1000),
])
def test_json_depth_ignores_brackets_in_strings(text: str, depth: int) -> None:
    assert json_depth(text) == depth


@pytest.mark.parametrize(("raw", "code"), [
    ("[" * 50_000, "json_too_deep"),
    ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "json_too_deep"),
    ('{"a":' * 40 + "1" + "}" * 40, "json_too_deep"),
    ("NaN", "number_out_of_range"), ("[Infinity]", "number_out_of_range"),
    ('{"t":-Infinity}', "number_out_of_range"), ("1e400", "number_out_of_range"),
    ("-1E+999", "number_out_of_range"),
    ('"\\ud800"', "malformed_json"), ('["\\udc00x"]', "malformed_json"),
    (b"\xff", "malformed_json"), (b'"\xed\xa0\x80"', "malformed_json"),
    ("{", "malformed_json"), ("", "malformed_json"), ("1" * 5000, "malformed_json"),
])
def test_parse_json_refuses(raw: str | bytes, code: str) -> None:
    with pytest.raises(BadJson) as refused:
        parse_json(raw)
    assert refused.value.code == code and refused.value.message


def test_parse_json_takes_what_json_holds() -> None:
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json_depth(nested) == MAX_JSON_DEPTH and parse_json(nested)
    assert parse_json('"\\ud83d\\ude00"') == "😀"  # a surrogate pair is one character
    assert parse_json(b'{"a": 1.5e300, "b": [1, "[[["]}') == {"a": 1.5e300, "b": [1, "[[["]}
    assert parse_json(json.dumps("中文 " * 100_000)) == "中文 " * 100_000


def test_dumps_never_writes_what_json_cannot_hold() -> None:
    assert dumps({"t": 1.5, "x": "中"}) == '{"t":1.5,"x":"中"}'
    with pytest.raises(ValueError):
        dumps({"t": float("inf")})


class _Model(Strict):
    name: Annotated[str, Field(min_length=1, max_length=10), ONE_LINE]
    text: Annotated[str, Field(max_length=100), LINES] = ""
    plain: str | None = None
    tags: list[str] = Field(default_factory=list)


@pytest.mark.parametrize(("field", "value"), [
    ("name", "a\x00b"), ("name", "a\nb"), ("name", "a\tb"), ("name", "a\rb"),
    ("name", "a\u2028b"), ("name", "a\x85b"), ("name", "a\x1bb"),
    ("text", "a\x00b"), ("text", "a\x0bb"), ("text", "a\x7fb"), ("text", "a\x9fb"),
    ("plain", "a\x00b"), ("plain", "a\x01b"), ("tags", ["ok", "a\x00b"]),
])
def test_control_characters_are_refused(field: str, value: object) -> None:
    body = {"name": "ok", field: value}
    with pytest.raises(ValidationError) as refused:
        _Model.model_validate_json(json.dumps(body))
    assert [error["loc"][0] for error in refused.value.errors()] == [field]


def test_multiline_text_keeps_line_breaks_and_lengths_are_characters() -> None:
    model = _Model.model_validate_json(json.dumps({"name": "十个字十个字十个字十", "text":
                                                   "一\n二\r\n\t三", "plain": "a\nb"}))
    assert model.text == "一\n二\r\n\t三" and model.plain == "a\nb"
    with pytest.raises(ValidationError) as refused:
        _Model.model_validate_json(json.dumps({"name": "十一个字十一个字十一个"}))
    assert refused.value.errors()[0]["type"] == "string_too_long"


def test_the_chat_limit_slides_with_server_time() -> None:
    limit = ChatLimit(burst=2, window=timedelta(seconds=10))
    limit.take(1, T0)
    limit.take(1, T0 + timedelta(seconds=4))
    with pytest.raises(TooManyRequests) as refused:
        limit.take(1, T0 + timedelta(seconds=5))
    assert refused.value.code == "rate_limited"
    assert refused.value.details == {"retry_after": 5}
    limit.take(2, T0 + timedelta(seconds=5))  # another user
    limit.take(1, T0 + timedelta(seconds=10, microseconds=1))  # the first has aged out
    with pytest.raises(TooManyRequests):
        limit.take(1, T0 + timedelta(seconds=11))
