"""Canonical JSON: the one byte encoding that hashes and signatures are computed over.

Keys sorted, no insignificant whitespace, UTF-8 without escaping non-ASCII, and no floats (amounts
travel as decimal strings), so the same value always has the same bytes in every language.
"""

from __future__ import annotations

import json
from typing import Any


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        raise TypeError(f"float at {path}: use a decimal string for amounts")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"non-string key at {path}")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise TypeError(f"{type(value).__name__} at {path} is not canonical JSON")


def canonical_json(value: Any) -> bytes:
    _check(value, "$")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
