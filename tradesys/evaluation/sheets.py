"""A member's score sheet (评分表), signed with the member's own P-256 signing key.

The member's tool (or browser, with WebCrypto) signs the canonical JSON of :func:`message`: the
section, the SHA-256 of the scheme it scores by, the member's user id and every score as a
decimal string, bid by bid and criterion by criterion. The signature is IEEE P1363 ``r || s``,
base64url — the same form as a bidder's confirmation of the opening record
(tradesys/opening/confirmation.py). The server checks the sheet against the scheme, verifies the
signature with the member's registered key (one the member registered for themself, not merely
one of their organisation's), and stores the signed bytes; the ``evaluation.score_sheet_submitted``
event carries them, their SHA-256, the public key and the signature, so anyone can check a sheet
without the platform. A sheet is final once submitted: there is no second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.keyring import KeyPurpose
from tradesys.bids.models import EncryptionKey
from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict, Invalid
from tradesys.evaluation import review
from tradesys.evaluation import scheme as schemes
from tradesys.evaluation.models import ScoreSheet
from tradesys.events.canonical import canonical_json
from tradesys.events.log import append_event
from tradesys.identity.principal import Principal
from tradesys.opening import confirmation
from tradesys.procurement.rules import RuleBook

MESSAGE_TYPE = "tradesys.score-sheet"

Scores = Mapping[str, Mapping[str, str]]


def message(section_code: str, scheme_sha256: str, member_user_id: int,
            scores: Scores) -> bytes:
    return canonical_json({"type": MESSAGE_TYPE, "section_code": section_code,
                           "scheme_sha256": scheme_sha256, "member_user_id": member_user_id,
                           "scores": {bid: dict(row) for bid, row in scores.items()}})


def sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    """What a member's tool does (the browser does the same with WebCrypto)."""
    return confirmation.sign(private_key, data)


def check_scores(scheme: schemes.Scheme, bid_ids: list[str], scores: Scores) -> None:
    """Every bid within the ceiling, every criterion of the scheme, each within its range."""
    expected = set(bid_ids)
    for bid_id in scores:
        if bid_id not in expected:
            raise Invalid("bid_not_in_section", f"投标 {bid_id} 不是本标段待评分的投标 (bid "
                          f"{bid_id} is not a bid of this section to be scored)")
    missing = sorted(expected - set(scores))
    if missing:
        raise Invalid("sheet_incomplete", "评分表须对每一有效投标评分 (the sheet must score "
                      f"every bid; missing: {', '.join(missing)})", details={"bids": missing})
    criteria = {c.id: c for c in scheme.criteria}
    for bid_id, row in scores.items():
        for criterion_id, text in row.items():
            criterion = criteria.get(criterion_id)
            if criterion is None:
                raise Invalid("unknown_criterion", f"评分项 {criterion_id} 不在本标段评标办法中 "
                              f"(criterion {criterion_id} is not in this section's scheme)")
            value = Decimal(text)
            if not criterion.min_score <= value <= criterion.max_score:
                raise Invalid("score_out_of_range", f"评分项 {criterion_id} 的分值须在 "
                              f"{criterion.min_score}–{criterion.max_score} 之间 (criterion "
                              f"{criterion_id} takes {criterion.min_score} to "
                              f"{criterion.max_score}; bid {bid_id} got {text})")
        absent = sorted(set(criteria) - set(row))
        if absent:
            raise Invalid("sheet_incomplete", f"投标 {bid_id} 缺少评分项 (bid {bid_id} lacks "
                          f"criteria: {', '.join(absent)})", details={"criteria": absent})


async def member_signing_key(session: AsyncSession, principal: Principal, key_id: str
                             ) -> EncryptionKey | None:
    """The caller's own live P-256 signing key ``key_id``: members sign sheets and the report
    with it."""
    return (await session.execute(select(EncryptionKey).where(
        EncryptionKey.key_id == key_id, EncryptionKey.user_id == principal.user_id,
        EncryptionKey.purpose == KeyPurpose.SIGNING.value,
        EncryptionKey.revoked_at.is_(None)))).scalar_one_or_none()


async def submit_sheet(session: AsyncSession, principal: Principal, section_id: int,
                       scores: Scores, key_id: str, signature: str, rules: RuleBook,
                       now: datetime) -> dict[str, Any]:
    ctx = await review.load(session, section_id, rules, lock=True)
    member = review.require_member(ctx, principal)
    if await session.scalar(select(ScoreSheet.id).where(ScoreSheet.member_id == member.id)):
        raise Conflict("sheet_finalized", "您的评分表已签名提交，不能再评分 (your score sheet is "
                       "signed and submitted: it is final)")
    if ctx.scheme.method != schemes.COMPREHENSIVE:
        raise Conflict("no_scored_criteria", "本标段采用经评审的最低投标价法，无评分项 (this "
                       "section is evaluated by the lowest evaluated price: nothing is scored)")
    check_scores(ctx.scheme, [b.public_id for b in ctx.within_ceiling()], scores)
    key = await member_signing_key(session, principal, key_id)
    if key is None:
        raise Invalid("no_signing_key", "您没有登记该签名密钥 (you have no registered signing "
                      "key with this id)")
    document = message(ctx.section.code, ctx.scheme.sha256(), principal.user_id, scores)
    if not confirmation.verify(key.public_key, document, signature):
        raise Invalid("bad_signature", "签名无效：须以该签名密钥对评分表签名 (the signature does "
                      "not verify over the score sheet)")
    digest = hashlib.sha256(document).hexdigest()
    session.add(ScoreSheet(section_id=section_id, member_id=member.id,
                           document=document.decode(), sha256=digest, key_id=key.key_id,
                           signature=signature, submitted_at=now))
    await session.flush()
    await append_event(
        session, actor=principal.actor, at=now, aggregate_type=review.AGGREGATE,
        aggregate_id=section_id, project_id=ctx.project.id,
        type="evaluation.score_sheet_submitted",
        payload={"member": principal.user_id, "seat": member.seat, "sha256": digest,
                 "document": document.decode(), "key_id": key.key_id,
                 "public_key": key.public_key, "signature": signature})
    return {"section_id": section_id, "sha256": digest, "key_id": key.key_id,
            "submitted_at": isoformat_utc(now)}
