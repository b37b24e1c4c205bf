"""Canonical JSON: the one byte encoding that hashes and signatures are computed over.

Keys sorted, no insignificant whitespace, UTF-8 without escaping non-ASCII, and no floats (amounts
travel as decimal strings), so the same value always has the same bytes in every language.
Integers are bounded to the range every JSON implementation reads exactly, ±(2⁵³ − 1)
(JavaScript's safe integers, I-JSON, RFC 7493 §2.2): beyond it a JavaScript reader silently
rounds, so the same document would hash differently on the two sides. Both sides refuse it
(tradesys/static/js/envelope.js ``canonicalJson`` throws ``bad_json`` too).
"""

from __future__ import annotations

import json
from typing import Any

from tradesys.errors import Invalid

#: Largest integer magnitude allowed: Number.MAX_SAFE_INTEGER.
MAX_SAFE_INTEGER = 2**53 - 1


class NotCanonical(Invalid, TypeError):
    """A value canonical JSON cannot encode (``code = "bad_json"``). A :class:`TypeError` for
    callers that treat it as a programming error, an ``Invalid`` (a 4xx) where it reaches the
    edge from user input."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_json", message)


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise NotCanonical(f"integer at {path} is beyond ±(2^53−1): use a decimal string "
                               "(整数超出 ±(2^53−1)，请用十进制字符串)")
        return
    if isinstance(value, float):
        raise NotCanonical(f"float at {path}: use a decimal string for amounts")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"non-string key at {path}")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise NotCanonical(f"{type(value).__name__} at {path} is not canonical JSON")


def canonical_json(value: Any) -> bytes:
    _check(value, "$")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
