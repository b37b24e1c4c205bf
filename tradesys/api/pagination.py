"""Opaque cursors for keyset pagination: ``?cursor=…&limit=…`` → ``next_cursor``."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from tradesys.api.errors import BadRequest
from tradesys.api.routing import Param
from tradesys.strict import BadJson, parse_int, parse_json

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: Far above any cursor we issue (a key of a few values, base64url): a longer one is not ours.
MAX_CURSOR_LENGTH = 512
_CURSOR = re.compile(r"[A-Za-z0-9_-]*")

#: The query parameters of every paged list, as the server checks them.
LIMIT = Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                 "default": DEFAULT_LIMIT})
CURSOR = Param("cursor", "query", {"type": "string", "maxLength": MAX_CURSOR_LENGTH,
                                   "pattern": "^[A-Za-z0-9_-]*$"},
               description="next_cursor of the previous page (opaque)")
PAGE = (CURSOR, LIMIT)


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if cursor is None or cursor == "":
        return None
    value = None
    # base64url only (the decoder raises a bare ValueError on non-ASCII: that was a 500).
    if len(cursor) <= MAX_CURSOR_LENGTH and _CURSOR.fullmatch(cursor):
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
