"""Opaque cursors for keyset pagination: ``?cursor=…&limit=…`` → ``next_cursor``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from tradesys.api.errors import BadRequest

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
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        value = None
    if not isinstance(value, list) or not value:
        raise BadRequest("invalid_cursor", "分页游标无效 (invalid cursor)")
    return value


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(
            "invalid_limit",
            f"limit 须为 1–{MAX_LIMIT} 的整数 (limit must be an integer from 1 to {MAX_LIMIT})",
        )
    return int(raw)
