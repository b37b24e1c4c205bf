"""The sealed bid summary (开标一览表): what the hall reads out at 唱标.

It is canonical JSON (tradesys.events.canonical), so the browser and the CLI seal the same bytes
and a signature over the opening record can quote it exactly. Required fields: ``price`` (a
decimal string: amounts never travel as floats), ``currency`` (ISO 4217), ``duration_days``
(工期, an integer), ``quality`` and ``project_manager``; any other top-level key is a field the
section asked for (lower-case snake case, any canonical JSON value). The rules here are repeated
in tradesys/static/js/envelope.js and docs/envelope.md §6; change all three together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tradesys.bids.errors import EnvelopeError
from tradesys.events.canonical import canonical_json

MAX_SUMMARY_BYTES = 65536
REQUIRED = ("price", "currency", "duration_days", "quality", "project_manager")
PRICE = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?")
CURRENCY = re.compile(r"[A-Z]{3}")
EXTRA_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_DURATION_DAYS = 36500
MAX_TEXT = 200  # Unicode code points
#: Exactly these count as blank (not str.isspace, whose set JavaScript does not share).
BLANK = " \t\n\x0b\x0c\r\u3000"


def _bad(message: str) -> EnvelopeError:
    return EnvelopeError("bad_summary", f"开标一览表无效 (invalid bid summary): {message}")


def _text(summary: Mapping[str, Any], name: str) -> None:
    value = summary[name]
    if not isinstance(value, str) or not value.strip(BLANK) or len(value) > MAX_TEXT:
        raise _bad(f"{name} must be a non-empty string of at most {MAX_TEXT} characters")


def validate_summary(summary: Any) -> dict[str, Any]:
    """Checks the rules above and returns the summary as a plain dict."""
    if not isinstance(summary, Mapping):
        raise _bad("must be a JSON object")
    missing = [name for name in REQUIRED if name not in summary]
    if missing:
        raise _bad(f"missing {', '.join(missing)}")
    price = summary["price"]
    if not isinstance(price, str) or not PRICE.fullmatch(price):
        raise _bad("price must be a decimal string such as \"1234567.89\"")
    currency = summary["currency"]
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        raise _bad("currency must be an ISO 4217 code such as \"CNY\"")
    days = summary["duration_days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_DURATION_DAYS:
        raise _bad(f"duration_days must be an integer in 1..{MAX_DURATION_DAYS}")
    _text(summary, "quality")
    _text(summary, "project_manager")
    for key in summary:
        if key not in REQUIRED and (not isinstance(key, str) or not EXTRA_KEY.fullmatch(key)):
            raise _bad(f"extra field name {key!r} must match [a-z][a-z0-9_]{{0,63}}")
    return dict(summary)


def encode_summary(summary: Any) -> bytes:
    """Validated canonical JSON bytes, at most 64 KiB."""
    value = validate_summary(summary)
    try:
        data = canonical_json(value)
    except (TypeError, ValueError, UnicodeEncodeError) as error:
        raise _bad(str(error)) from error
    except RecursionError as error:
        raise _bad("nested too deeply to encode") from error
    if len(data) > MAX_SUMMARY_BYTES:
        raise _bad(f"larger than {MAX_SUMMARY_BYTES} bytes")
    return data


def decode_summary(data: bytes) -> dict[str, Any]:
    """Parses and re-validates a decrypted summary; non-canonical bytes are refused so that a
    summary has one byte form (what was sealed is what the record quotes)."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _bad("not UTF-8 JSON") from error
    except RecursionError as error:
        # A sealed summary is the bidder's own bytes, read at the opening: nesting past the
        # parser's limit must refuse this bid (bad_summary), not stop the opening of all.
        raise _bad("nested too deeply to parse") from error
    if encode_summary(value) != data:
        raise _bad("not canonical JSON")
    return validate_summary(value)
