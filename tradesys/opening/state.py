"""The opening's state, folded from its events: pure, so the room, the commands and the tests
all derive the same facts from the same log.

Phases: ``waiting`` (before the bid list is out) → ``published`` (enough bids) or ``too_few``
(→ ``failed``, 流标) → ``decrypting`` (the window is open) → ``decrypted`` (price reading) →
``confirming`` (the record is out for confirmation and objections) → ``closed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tradesys.clock import isoformat_utc, parse_instant

WAITING, PUBLISHED, TOO_FEW, FAILED = "waiting", "published", "too_few", "failed"
DECRYPTING, DECRYPTED, CONFIRMING, CLOSED = "decrypting", "decrypted", "confirming", "closed"
PHASES = (WAITING, PUBLISHED, TOO_FEW, FAILED, DECRYPTING, DECRYPTED, CONFIRMING, CLOSED)


@dataclass
class Bidder:
    #: The internal row id: the commands use it; it never leaves the server (see public_id).
    bid_id: int
    #: The bid's random public id (migration 0006): the only name any room, view or answer
    #: gives the bid, so nobody counts bids by their sequential ids.
    public_id: str
    org_id: int
    name: str
    credit_code: str
    envelope_sha256: str
    received_at: str
    security: str | None
    signed_in: bool
    share_released: bool = False
    outcome: str | None = None
    reason: str | None = None
    reading: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        return {
            "bid_id": self.public_id, "org_id": self.org_id, "name": self.name,
            "credit_code": self.credit_code, "envelope_sha256": self.envelope_sha256,
            "received_at": self.received_at, "security": self.security,
            "signed_in": self.signed_in, "share_released": self.share_released,
            "outcome": self.outcome, "reason": self.reason, "reading": self.reading,
        }


@dataclass
class Objection:
    id: int
    org_id: int
    name: str
    text: str
    at: str
    answer: str | None = None
    answered_at: str | None = None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "org_id": self.org_id, "name": self.name, "text": self.text,
                "at": self.at, "answer": self.answer, "answered_at": self.answered_at}


@dataclass
class OpeningState:
    seq: int = 0
    phase: str = WAITING
    paused: bool = False
    paused_at: datetime | None = None
    min_bids: int = 0
    threshold: int = 0
    holders: int = 0
    ceiling_price: str | None = None
    bidders: dict[int, Bidder] = field(default_factory=dict)
    holder_shares: set[int] = field(default_factory=set)
    decryption_started_at: datetime | None = None
    window_ends_at: datetime | None = None
    tender_list_published: bool = False
    read: list[int] = field(default_factory=list)
    record_sha256: str | None = None
    record_generated_at: datetime | None = None
    confirm_until: datetime | None = None
    confirmations: dict[int, dict[str, Any]] = field(default_factory=dict)
    objections: dict[int, Objection] = field(default_factory=dict)
    muted: set[int] = field(default_factory=set)
    failed_reason: str | None = None
    closed: dict[str, Any] | None = None

    # -- questions the commands ask -------------------------------------------------------

    def bidder_of(self, org_id: int) -> Bidder | None:
        for bidder in self.bidders.values():
            if bidder.org_id == org_id:
                return bidder
        return None

    def to_read(self) -> list[Bidder]:
        """Decrypted bids not yet read out, in order of receipt (唱标 order)."""
        return [b for b in self.ordered() if b.outcome == "decrypted" and b.bid_id not in
                set(self.read)]

    def ordered(self) -> list[Bidder]:
        return sorted(self.bidders.values(), key=lambda b: (b.received_at, b.bid_id))

    def public_bid_id(self, bid_id: Any) -> str | None:
        """The public id of the bid an event names by its internal id (None: not listed)."""
        bidder = self.bidders.get(bid_id) if isinstance(bid_id, int) else None
        return bidder.public_id if bidder is not None else None

    def undecided(self) -> list[Bidder]:
        return [b for b in self.bidders.values() if b.outcome is None]

    def open_objections(self) -> list[Objection]:
        return [o for o in self.objections.values() if o.answer is None]

    def snapshot(self) -> dict[str, Any]:
        """The state as the room shows it (nothing here is private to anyone)."""
        return {
            "seq": self.seq, "phase": self.phase, "paused": self.paused,
            "min_bids": self.min_bids, "threshold": self.threshold, "holders": self.holders,
            "holder_shares": len(self.holder_shares), "ceiling_price": self.ceiling_price,
            "bidders": [b.public() for b in self.ordered()],
            "window_ends_at": _iso(self.window_ends_at),
            "read": [self.bidders[bid].public_id for bid in self.read if bid in self.bidders],
            "record_sha256": self.record_sha256, "confirm_until": _iso(self.confirm_until),
            "confirmations": sorted(self.confirmations),
            "objections": [o.public() for o in self.objections.values()],
            "muted": sorted(self.muted), "failed_reason": self.failed_reason,
            "closed": self.closed,
        }

    # -- the fold ---------------------------------------------------------------------------

    def apply(self, seq: int, type: str, payload: dict[str, Any], at: datetime) -> None:
        self.seq = seq
        handler = _HANDLERS.get(type)
        if handler is not None:
            handler(self, payload, at)


def _iso(value: datetime | None) -> str | None:
    return isoformat_utc(value) if value is not None else None


def _published(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    state.min_bids = data["min_bids"]
    state.threshold = data["threshold"]
    state.holders = data["holders"]
    state.ceiling_price = data.get("ceiling_price")
    for item in data["bidders"]:
        state.bidders[item["bid_id"]] = Bidder(
            bid_id=item["bid_id"], public_id=listed_public_id(item), org_id=item["org_id"],
            name=item["name"],
            credit_code=item["credit_code"], envelope_sha256=item["envelope_sha256"],
            received_at=item["received_at"], security=item.get("security"),
            signed_in=bool(item.get("signed_in")))
    state.phase = PUBLISHED if data["outcome"] == "proceed" else TOO_FEW


def listed_public_id(item: dict[str, Any]) -> str:
    """Lists published before the public ids were recorded in the event name the bid by its
    envelope's hash instead: opaque too, and never the sequential row id."""
    public_id = item.get("public_id")
    return public_id if isinstance(public_id, str) else f"env-{item['envelope_sha256'][:16]}"


def _failed(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    state.phase = FAILED
    state.failed_reason = data.get("reason")
    state.closed = {key: data.get(key) for key in
                    ("record_sha256", "pdf_sha256", "record_url", "pdf_url")}


def _started(state: OpeningState, data: dict[str, Any], at: datetime) -> None:
    state.phase = DECRYPTING
    state.decryption_started_at = at
    state.window_ends_at = parse_instant(data["window_ends_at"])


def _holder_share(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    state.holder_shares.add(int(data["share_index"]))


def _bidder_share(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    bidder = state.bidders.get(data["bid_id"])
    if bidder is not None:
        bidder.share_released = True


def _outcome(outcome: str) -> Any:
    def apply(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
        bidder = state.bidders.get(data["bid_id"])
        if bidder is not None:
            bidder.outcome = outcome
            bidder.reason = data.get("reason")
    return apply


def _tender_list(state: OpeningState, _data: dict[str, Any], _at: datetime) -> None:
    state.tender_list_published = True


def _ended(state: OpeningState, _data: dict[str, Any], _at: datetime) -> None:
    state.phase = DECRYPTED


def _price_read(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    state.read.append(data["bid_id"])
    bidder = state.bidders.get(data["bid_id"])
    if bidder is not None:
        bidder.reading = {key: data.get(key) for key in
                          ("price", "currency", "duration_days", "quality", "project_manager")}


def _record(state: OpeningState, data: dict[str, Any], at: datetime) -> None:
    state.phase = CONFIRMING
    state.record_sha256 = data["record_sha256"]
    state.record_generated_at = at
    state.confirm_until = parse_instant(data["confirm_until"])


def _confirmed(state: OpeningState, data: dict[str, Any], at: datetime) -> None:
    state.confirmations[data["org_id"]] = {
        "at": isoformat_utc(at), "record_sha256": data["record_sha256"],
        "key_id": data.get("key_id"), "public_key": data.get("public_key"),
        "signature": data.get("signature")}


def _objection(state: OpeningState, data: dict[str, Any], at: datetime) -> None:
    state.objections[data["objection"]] = Objection(
        id=data["objection"], org_id=data["org_id"], name=data["name"], text=data["text"],
        at=isoformat_utc(at))


def _answer(state: OpeningState, data: dict[str, Any], at: datetime) -> None:
    objection = state.objections.get(data["objection"])
    if objection is not None:
        objection.answer = data["text"]
        objection.answered_at = isoformat_utc(at)


def _paused(state: OpeningState, _data: dict[str, Any], at: datetime) -> None:
    state.paused = True
    state.paused_at = at


def _resumed(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    state.paused = False
    state.paused_at = None
    if data.get("window_ends_at"):
        state.window_ends_at = parse_instant(data["window_ends_at"])
    if data.get("confirm_until"):
        state.confirm_until = parse_instant(data["confirm_until"])


def _signed_in(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    bidder = state.bidder_of(data["org_id"])
    if bidder is not None:
        bidder.signed_in = True


def _muted(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    state.muted.add(data["org_id"])


def _unmuted(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    state.muted.discard(data["org_id"])


def _closed(state: OpeningState, data: dict[str, Any], _at: datetime) -> None:
    state.phase = CLOSED
    state.closed = {key: data.get(key) for key in
                    ("record_sha256", "pdf_sha256", "record_url", "pdf_url")}


_HANDLERS = {
    "opening.bids_published": _published,
    "opening.failed": _failed,
    "opening.decryption_started": _started,
    "opening_share.released": _holder_share,
    "bid.share_released": _bidder_share,
    "bid.decrypted": _outcome("decrypted"),
    "bid.revoked": _outcome("revoked"),
    "bid.withdrawn": _outcome("withdrawn"),
    "section.tender_list": _tender_list,
    "opening.decryption_ended": _ended,
    "opening.price_read": _price_read,
    "opening.record_generated": _record,
    "opening.record_confirmed": _confirmed,
    "opening.objection_raised": _objection,
    "opening.objection_answered": _answer,
    "opening.paused": _paused,
    "opening.resumed": _resumed,
    "opening.signed_in": _signed_in,
    "chat.muted": _muted,
    "chat.unmuted": _unmuted,
    "opening.closed": _closed,
}
