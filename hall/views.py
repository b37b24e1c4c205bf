"""What each audience sees of a room event: rendered once per view class, not per connection.

Two classes: ``participant`` (host, bidders, procurer, supervisors) and ``public`` (observers).
No view carries a network address or user agent (those stay in the log); bid contents appear
only through the price reading; chat is for participants. Events name bids by their internal
row ids (the commands need them); every view names them by their random public id instead, so
no frame lets anyone count the platform's bids.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tradesys.clock import isoformat_utc
from tradesys.opening.state import listed_public_id

PARTICIPANT, PUBLIC = "participant", "public"

_PARTICIPANTS_ONLY = frozenset({"chat.message", "chat.muted", "chat.unmuted"})
#: Fields never sent to any room: full records (fetched by URL), shares' holders' user ids.
_DROPPED = {
    "opening.closed": ("record",),
    "opening.failed": ("record",),
    "bid.decrypted": ("summary",),
    "opening_share.released": ("holder_user_id",),
}


#: The public id of a bid named by its internal id (OpeningState.public_bid_id).
BidRef = Callable[[Any], str | None]


def _no_ref(_bid_id: Any) -> str | None:
    return None


def _data(type: str, payload: dict[str, Any], bid_ref: BidRef) -> dict[str, Any]:
    if type == "section.tender_list":
        # The settled list carries the prices; the room hears them at the price reading.
        return {"section_code": payload.get("section_code"),
                "bidders": len(payload.get("bidders", []))}
    dropped = _DROPPED.get(type, ())
    data = {key: value for key, value in payload.items() if key not in dropped}
    if "bid_id" in data:
        data["bid_id"] = bid_ref(data["bid_id"])
    if type == "opening.bids_published":
        data["bidders"] = [_public_bidder(item) for item in data.get("bidders", [])]
    return data


def _public_bidder(item: dict[str, Any]) -> dict[str, Any]:
    public = {key: value for key, value in item.items() if key not in ("bid_id", "public_id")}
    return {"bid_id": listed_public_id(item), **public}


def render(seq: int, type: str, payload: dict[str, Any], at: datetime,
           bid_ref: BidRef = _no_ref) -> dict[str, str | None]:
    """The ``event`` message text for each view class (None: not shown to that class).
    ``bid_ref`` turns an internal bid id into the bid's public id (the room's state knows
    every listed bid); a bid it does not know is named ``null``, never by its row id."""
    message = json.dumps({"type": "event", "seq": seq, "event": {
        "type": type, "at": isoformat_utc(at), "data": _data(type, payload, bid_ref)}},
        ensure_ascii=False, separators=(",", ":"))
    return {PARTICIPANT: message, PUBLIC: None if type in _PARTICIPANTS_ONLY else message}


def view_class(participant: bool) -> str:
    return PARTICIPANT if participant else PUBLIC
