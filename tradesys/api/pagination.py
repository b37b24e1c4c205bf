"""Opaque cursors for keyset pagination: ``?cursor=…&limit=…`` → ``next_cursor``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from tradesys.api.errors import BadRequest
from tradesys.strict import BadJson, parse_int, parse_json

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = parse_json(raw, max_depth=2)
    except (binascii.Error, BadJson):
        value = None
    if not isinstance(value, list) or not value:
        raise BadRequest("invalid_cursor", "分页游标无效 (invalid cursor)")
    return value


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    limit = parse_int(raw, minimum=1, maximum=MAX_LIMIT)
    if limit is None:
        raise BadRequest(
            "invalid_limit",
            f"limit 须为 1–{MAX_LIMIT} 的整数 (limit must be an integer from 1 to {MAX_LIMIT})",
        )
    return limit


def cursor_id(value: Any) -> int:
    """An id taken from a decoded cursor: a JSON integer that can be a row id (not a bool, a
    float or a string), or the cursor is invalid."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        raise BadRequest("invalid_cursor", "分页游标无效 (invalid cursor)")
    return value
