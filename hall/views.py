"""What each audience sees of a room event: rendered once per view class, not per connection.

Two classes: ``participant`` (host, bidders, procurer, supervisors) and ``public`` (observers).
No view carries a network address or user agent (those stay in the log); bid contents appear
only through the price reading; chat is for participants.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tradesys.clock import isoformat_utc

PARTICIPANT, PUBLIC = "participant", "public"

_PARTICIPANTS_ONLY = frozenset({"chat.message", "chat.muted", "chat.unmuted"})
#: Fields never sent to any room: full records (fetched by URL), shares' holders' user ids.
_DROPPED = {
    "opening.closed": ("record",),
    "opening.failed": ("record",),
    "bid.decrypted": ("summary",),
    "opening_share.released": ("holder_user_id",),
}


def _data(type: str, payload: dict[str, Any]) -> dict[str, Any]:
    if type == "section.tender_list":
        # The settled list carries the prices; the room hears them at the price reading.
        return {"section_code": payload.get("section_code"),
                "bidders": len(payload.get("bidders", []))}
    dropped = _DROPPED.get(type, ())
    return {key: value for key, value in payload.items() if key not in dropped}


def render(seq: int, type: str, payload: dict[str, Any], at: datetime) -> dict[str, str | None]:
    """The ``event`` message text for each view class (None: not shown to that class)."""
    message = json.dumps({"type": "event", "seq": seq, "event": {
        "type": type, "at": isoformat_utc(at), "data": _data(type, payload)}},
        ensure_ascii=False, separators=(",", ":"))
    return {PARTICIPANT: message, PUBLIC: None if type in _PARTICIPANTS_ONLY else message}


def view_class(participant: bool) -> str:
    return PARTICIPANT if participant else PUBLIC
