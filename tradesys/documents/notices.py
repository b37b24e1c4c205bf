"""Award notices (中标通知书) and result notices (中标结果通知书): built, signed, verified,
rendered.

Why this shape: the award notice binds both sides (法 Art. 45) and the result notices go to every
other bidder at the same time (办法 Art. 36), so each is a document the addressee must be able
to check without us (DESIGN.md invariant 6). A notice is **canonical JSON**
(``events/canonical.py``) with a **detached Ed25519 signature** by the platform over exactly
those bytes, the rule bid receipts follow (``tradesys.signatures``); the PDF is a rendering of
it that prints the document id, the SHA-256 of the JSON and the signature, so a printed copy
points at the file that proves it. ``tradesys verify notice NOTICE.json NOTICE.json.sig``
checks a notice offline (docs/documents.md).

Everything here is pure except :func:`render_notice_pdf` (CPU-bound): the award step builds
the notices from its facts, signs them with the platform key, records each notice's SHA-256
in its event and stores the files; none of that is done here.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AfterValidator, Field, model_validator

from tradesys.clock import isoformat_utc
from tradesys.documents.render import render_html, render_pdf
from tradesys.events.canonical import NotCanonical, canonical_json
from tradesys.formatting import capital_amount, parse_amount
from tradesys.identity.credit_code import is_valid_credit_code
from tradesys.signatures import sign_canonical, verify_canonical
from tradesys.strict import ONE_LINE, BadJson, Strict, parse_json

__all__ = [
    "NOTICE_FORMAT",
    "AwardFacts",
    "NoticeKind",
    "Party",
    "build_notices",
    "notice_sha256",
    "render_notice_html",
    "render_notice_pdf",
    "sign_notice",
    "verify_notice",
]

NOTICE_FORMAT = "tradesys.notice/1"
#: The platform document id the award step chooses (an event sequence, a UUID, …).
AWARD_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
_AMOUNT = re.compile(r"[0-9]{1,14}(\.[0-9]{1,2})?")


class NoticeKind(StrEnum):
    AWARD = "award"  #: 中标通知书, to the winner
    RESULT = "result"  #: 中标结果通知书, to each other bidder


TITLES = {NoticeKind.AWARD: "中标通知书", NoticeKind.RESULT: "中标结果通知书"}
TEMPLATES = {NoticeKind.AWARD: "award_notice.html", NoticeKind.RESULT: "result_notice.html"}


def _credit_code(value: str) -> str:
    if not is_valid_credit_code(value):
        raise ValueError("不是有效的统一社会信用代码 (not a valid unified social credit code)")
    return value


def _amount(value: str) -> str:
    if not _AMOUNT.fullmatch(value):
        raise ValueError("金额格式应如 35200000.00 (a decimal string, at most two decimals)")
    return value


Name = Annotated[str, ONE_LINE, Field(min_length=1, max_length=200)]
Code = Annotated[str, ONE_LINE, Field(min_length=1, max_length=64)]
CreditCode = Annotated[str, AfterValidator(_credit_code)]


class Party(Strict):
    """An organisation as a notice names it."""

    name: Name
    credit_code: CreditCode


class Coded(Strict):
    code: Code
    name: Name


class AwardFacts(Strict):
    """What the award step knows when it issues the notices of one section.

    ``others`` are the bidders who did not win (each gets a result notice); ``contract_days``
    is the rule book's period for signing the contract (30 days, 法 Art. 46), passed in so the
    number lives in the rule book, not here.
    """

    award_id: Annotated[str, Field(pattern=AWARD_ID)]
    project: Coded
    section: Coded
    procurer: Party
    agency: Party | None
    winner: Party
    others: Annotated[list[Party], Field(max_length=500)]
    price: Annotated[str, AfterValidator(_amount)]
    currency: Annotated[str, Field(pattern=r"^CNY$")] = "CNY"
    contract_days: Annotated[int, Field(ge=1, le=365)]
    issued_at: datetime

    @model_validator(mode="after")
    def _consistent(self) -> AwardFacts:
        codes = [self.winner.credit_code, *(other.credit_code for other in self.others)]
        if len(set(codes)) != len(codes):
            raise ValueError("每个投标人只能收到一份通知书 (a bidder is named twice, or the "
                             "winner is among the others)")
        if self.issued_at.tzinfo is None:
            raise ValueError("issued_at needs a timezone")
        return self


def _party(party: Party | None) -> dict[str, str] | None:
    return None if party is None else {"name": party.name, "credit_code": party.credit_code}


def _notice(facts: AwardFacts, kind: NoticeKind, addressee: Party) -> dict[str, Any]:
    amount = parse_amount(facts.price).quantize(parse_amount("0.01"))
    notice: dict[str, Any] = {
        "format": NOTICE_FORMAT,
        "kind": kind.value,
        "title": TITLES[kind],
        "document_id": f"{facts.award_id}-{kind.value}-{addressee.credit_code}",
        "project": {"code": facts.project.code, "name": facts.project.name},
        "section": {"code": facts.section.code, "name": facts.section.name},
        "procurer": _party(facts.procurer),
        "agency": _party(facts.agency),
        "addressee": _party(addressee),
        "winner": _party(facts.winner),
        "winning_price": {"amount": f"{amount:f}", "currency": facts.currency},
        "issued_at": isoformat_utc(facts.issued_at.astimezone(UTC)),
    }
    if kind is NoticeKind.AWARD:
        notice["contract_days"] = facts.contract_days
    return notice


def build_notices(facts: AwardFacts) -> list[dict[str, Any]]:
    """The award notice to the winner, then one result notice to each other bidder, in order.

    Pure: the same facts give the same notices, byte for byte (so a re-issue is detectable as
    the same document). The price must be writable in capitals (大写), as the notice states it.
    """
    capital_amount(facts.price)  # raises for an amount the capitals cannot state
    return [_notice(facts, NoticeKind.AWARD, facts.winner),
            *(_notice(facts, NoticeKind.RESULT, other) for other in facts.others)]


def notice_bytes(notice: dict[str, Any]) -> bytes:
    """The file a notice is issued as: its canonical JSON, nothing added."""
    return canonical_json(notice)


def notice_sha256(notice: dict[str, Any]) -> str:
    return hashlib.sha256(notice_bytes(notice)).hexdigest()


def sign_notice(key: Ed25519PrivateKey, notice: dict[str, Any]) -> str:
    """The platform's detached signature (base64) over the notice's canonical JSON."""
    return sign_canonical(key, notice)


def verify_notice(data: bytes, signature: str, key: Ed25519PublicKey) -> tuple[bool, str]:
    """(genuine, reason) for a notice file and its signature under the platform's key.

    Any edit fails: the file must be exactly the canonical JSON that was signed (a re-indented
    or re-ordered copy that parses to the same values is not the issued file), and the
    signature must be the issued base64 text (a trailing line break is allowed, as editors add
    one).
    """
    try:
        notice = parse_json(data)
    except (BadJson, ValueError) as error:
        return False, f"not a notice file: {error}"
    if not isinstance(notice, dict) or notice.get("format") != NOTICE_FORMAT or (
            notice.get("kind") not in {kind.value for kind in NoticeKind}):
        return False, f"not a {NOTICE_FORMAT} document"
    try:
        exact = canonical_json(notice) == data
    except NotCanonical as error:
        return False, f"not canonical JSON: {error}"
    if not exact:
        return False, "the file is not exactly as issued (not its canonical JSON)"
    if not verify_canonical(key, notice, signature.removesuffix("\n")):
        return False, "the signature does not match the notice, or not the platform's key"
    return True, f"genuine {notice['title']} {notice.get('document_id')}"


def _context(notice: dict[str, Any], signature: str, key_id: str | None) -> dict[str, Any]:
    return {"notice": notice, "sha256": notice_sha256(notice), "signature": signature,
            "key_id": key_id, "capital": capital_amount(notice["winning_price"]["amount"])}


def render_notice_html(notice: dict[str, Any], signature: str, key_id: str | None = None) -> str:
    return render_html(TEMPLATES[NoticeKind(notice["kind"])], _context(notice, signature, key_id))


def render_notice_pdf(notice: dict[str, Any], signature: str, key_id: str | None = None) -> bytes:
    """The notice as a PDF letter with its document id, SHA-256 and signature printed on it.
    Synchronous and CPU-bound."""
    return render_pdf(TEMPLATES[NoticeKind(notice["kind"])], _context(notice, signature, key_id))

