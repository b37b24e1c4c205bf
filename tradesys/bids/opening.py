"""Opening sealed bids (解密): the part the bid-opening hall drives.

After the deadline each bidder releases its own data-key share (unwrapped on its side; only the
share travels) and key holders release their opening-key shares. The server can open a bid only
when both halves are present: it rebuilds the opening key from k holder shares (checked against
the section's opening public key), unwraps each envelope's opening share, combines it with the
bidder's, checks the envelope against the SHA-256 it receipted, decrypts, and records one
outcome per bid: ``decrypted``; ``revoked`` (撤销) when the failure is the bidder's (no share in
time, an envelope that does not decrypt although it is byte for byte what was received); or
``withdrawn`` (撤回) when it is not (the stored copy no longer matches its receipt).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.encoding import b64u, unb64u
from tradesys.bids.envelope import ROLE_BIDDER, ROLE_OPENING
from tradesys.bids.errors import EnvelopeError, ShareError
from tradesys.bids.keys import PrivateKey
from tradesys.bids.models import Bid, BidSecurity, OpeningKey, OpeningKeyShare
from tradesys.bids.open import (
    check_share,
    combine,
    decrypt,
    open_summary,
    read_header,
    unwrap_share,
)
from tradesys.bids.opening_keys import opening_key_of
from tradesys.bids.shamir import HolderShare, recover_opening_key
from tradesys.bids.submission import VALID, section_for
from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.events.canonical import canonical_json
from tradesys.events.log import Actor, append_event
from tradesys.events.models import Event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement.access import Action
from tradesys.procurement.kinds import ReportSet
from tradesys.procurement.models import Project, Section
from tradesys.storage import FileStore, create_private, private_dir

DECRYPTED, REVOKED, WITHDRAWN = "decrypted", "revoked", "withdrawn"
BUFFER = 1024 * 1024


def after_deadline(section: Section, now: datetime) -> None:
    if section.bid_deadline is None or now < section.bid_deadline:
        raise Conflict("before_deadline", "投标截止前不能解密 (nothing opens before the bid "
                       "deadline)")


async def my_wrapped_share(session: AsyncSession, principal: Principal,
                           section_id: int) -> dict[str, Any]:
    section, _ = await section_for(session, principal, section_id, Action.VIEW)
    share = await _holder_share(session, section.id, principal.user_id)
    value: dict[str, Any] = json.loads(share.wrapped)
    return value


async def _holder_share(session: AsyncSession, section_id: int,
                        user_id: int) -> OpeningKeyShare:
    share = (await session.execute(
        select(OpeningKeyShare).join(OpeningKey, OpeningKey.id == OpeningKeyShare.opening_key_id)
        .where(OpeningKey.section_id == section_id, OpeningKeyShare.holder_user_id == user_id)
    )).scalar_one_or_none()
    if share is None:
        raise Forbidden("not_key_holder", "您不是本标段的开标密钥持有人 (you hold no opening-key "
                        "share of this section)")
    return share


async def release_holder_share(session: AsyncSession, principal: Principal, section_id: int,
                               released: dict[str, Any], now: datetime) -> OpeningKeyShare:
    section, project = await section_for(session, principal, section_id, Action.VIEW,
                                         for_update=True)
    row = await _holder_share(session, section.id, principal.user_id)
    after_deadline(section, now)
    opening = await opening_key_of(session, section.id)
    assert opening is not None
    share = HolderShare.from_json(released)
    if (share.section_code != section.code or share.index != row.share_index
            or b64u(share.opening_public_key) != opening.public_key):
        raise Invalid("share_not_yours", "该份额不属于您在本标段的持有份额 (this is not your share "
                      "of this section's opening key)")
    row.released = json.dumps(share.to_json(), sort_keys=True)
    row.released_at = now
    await append_event(session, actor=principal.actor, at=now, aggregate_type="opening",
                       aggregate_id=section.id, project_id=project.id,
                       type="opening_share.released",
                       payload={"section_code": section.code, "share_index": row.share_index,
                                "holder_user_id": principal.user_id})
    return row


async def release_bidder_share(session: AsyncSession, principal: Principal, section_id: int,
                               share_text: str, now: datetime, store: FileStore) -> Bid:
    principal.require_role(Role.BIDDER)
    section, project = await section_for(session, principal, section_id, Action.VIEW,
                                         for_update=True)
    after_deadline(section, now)
    bid = (await session.execute(
        select(Bid).where(Bid.section_id == section.id, Bid.org_id == principal.org_id,
                          Bid.status == VALID))).scalar_one_or_none()
    if bid is None:
        raise NotFound("no_bid", "本标段没有您的有效投标文件 (you have no valid bid here)")
    if bid.outcome is not None:
        raise Conflict("already_opened", f"该投标文件已有开标结果：{bid.outcome} (the bid "
                       "already has its outcome)")
    share = unb64u(share_text, field="share")
    header = await asyncio.to_thread(header_of, store, bid.envelope_sha256)
    check_share(header, ROLE_BIDDER, share)  # ShareError("share_mismatch"): refused, retry
    bid.bidder_share = b64u(share)
    bid.share_released_at = now
    await append_event(session, actor=principal.actor, at=now, aggregate_type="opening",
                       aggregate_id=section.id, project_id=project.id,
                       type="bid.share_released",
                       payload={"bid_id": bid.id, "section_code": section.code,
                                "org_id": principal.org_id})
    return bid


def header_of(store: FileStore, sha256: str) -> Any:
    with store.open(sha256).open("rb") as source:
        return read_header(source)


@dataclass(frozen=True)
class Opened:
    bid_id: int
    outcome: str
    reason: str | None
    summary: dict[str, Any] | None


class _HashingReader:
    """Reads the envelope once: every byte that passes to the decryption is also hashed, so
    the SHA-256 commitment costs no second read of the file."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.hasher = hashlib.sha256()

    def readinto(self, view: Any) -> int:
        count = int(self.source.readinto(view))
        self.hasher.update(memoryview(view)[:count])
        return count

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.source.read(size)
        self.hasher.update(data)
        return data


class _Discard:
    def write(self, data: Any) -> int:
        return len(data)


def _sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(BUFFER):
            hasher.update(block)
    return hasher.hexdigest()


def _open_one(store: FileStore, opened_dir: Path, bid_id: int, sha256: str, bidder_share: str,
              opening_key: PrivateKey) -> Opened:
    """Everything CPU- and disk-bound about one bid, in a worker thread.

    One pass over the file decrypts it and hashes it; the hash must be the receipted one. If
    decryption fails, the hash decides whose fault it is: the file as receipted → the bidder's
    envelope is bad (revoked); a file that changed since → not the bidder's fault (withdrawn).
    """
    path = store.open(sha256)
    if not path.exists():
        return Opened(bid_id, WITHDRAWN, "存储的投标文件缺失 (the stored envelope is missing)",
                      None)
    private_dir(opened_dir)
    target = opened_dir / f"{bid_id}.bin"
    temporary = opened_dir / f".{bid_id}.part"
    changed = Opened(bid_id, WITHDRAWN, "存储的投标文件与回执不符 (the stored envelope differs "
                     "from the receipted one)", None)
    try:
        with path.open("rb") as raw:
            source = _HashingReader(raw)
            header = read_header(source)
            opening_share = unwrap_share(header, ROLE_OPENING, opening_key)
            key = combine(header, unb64u(bidder_share, field="share"), opening_share)
            summary = open_summary(header, key)
            temporary.unlink(missing_ok=True)  # a crashed attempt's leftover
            with os.fdopen(create_private(temporary), "wb") as out:  # 0600: a decrypted bid
                decrypt(header, key, source, out)
        if source.hasher.hexdigest() != sha256:
            temporary.unlink(missing_ok=True)
            return changed
        os.replace(temporary, target)
    except (EnvelopeError, ShareError) as error:
        temporary.unlink(missing_ok=True)
        if _sha256_of(path) != sha256:
            return changed
        return Opened(bid_id, REVOKED, f"投标文件无法解密 (the envelope does not open): "
                      f"{error.code}", None)
    return Opened(bid_id, DECRYPTED, None, summary)


async def open_bids(session: AsyncSession, actor: Actor, project: Project, section: Section,
                    now: datetime, store: FileStore, opened_dir: Path, *,
                    finalize: bool) -> list[Opened]:
    """Open every valid bid whose bidder released its share. With ``finalize`` (the decryption
    window has ended), bids still without a share are revoked (撤销). The caller has authorized
    the step and holds the section's lock; the opening ceremony decides when it may run."""
    after_deadline(section, now)
    opening = await opening_key_of(session, section.id)
    if opening is None:
        raise Conflict("no_opening_key", "该标段没有开标公钥 (the section has no opening key)")
    released = (await session.execute(
        select(OpeningKeyShare.released).where(OpeningKeyShare.opening_key_id == opening.id,
                                               OpeningKeyShare.released.is_not(None))
    )).scalars().all()
    shares = [HolderShare.from_json(json.loads(text)) for text in released]
    if len(shares) < opening.threshold:
        raise ShareError("too_few_shares", f"开标密钥份额不足：已有 {len(shares)} 份，需要 "
                         f"{opening.threshold} 份 ({len(shares)} of the {opening.threshold} "
                         "opening shares needed)",
                         {"have": len(shares), "need": opening.threshold})
    bids = (await session.execute(
        select(Bid).where(Bid.section_id == section.id, Bid.status == VALID,
                          Bid.outcome.is_(None)).order_by(Bid.id).with_for_update()
    )).scalars().all()
    key = recover_opening_key(shares, opening.public_key, section.code)
    results: list[Opened] = []
    # Hashing and AES-GCM release the GIL: bids open side by side, one per core.
    workers = asyncio.Semaphore(os.cpu_count() or 1)

    async def open_bid(bid: Bid, share: str, key: PrivateKey) -> Opened:
        async with workers:
            return await asyncio.to_thread(_open_one, store, opened_dir, bid.id,
                                           bid.envelope_sha256, share, key)

    try:
        ready = [(bid, bid.bidder_share) for bid in bids if bid.bidder_share is not None]
        results = list(await asyncio.gather(*(open_bid(bid, share, key)
                                              for bid, share in ready)))
        if finalize:
            results += [Opened(bid.id, REVOKED, "投标人未在解密时限内解密 (the bidder did not "
                               "release its share in time)", None)
                        for bid in bids if bid.bidder_share is None]
    finally:
        del key
    by_id = {bid.id: bid for bid in bids}
    for result in results:
        await _record(session, actor, project, section, by_id[result.bid_id], result, now)
    if finalize or len(results) == len(bids):  # every bid has its outcome: the window ends
        await erase_holder_shares(session, actor, project, section, opening.id, now)
    return results


async def erase_holder_shares(session: AsyncSession, actor: Actor, project: Project,
                              section: Section, opening_key_id: int, now: datetime) -> None:
    """Once every bid has its outcome, the released opening-key shares go (docs/envelope.md
    §10, "After the opening"): k of them rebuild the section's opening private key, which no
    outcome, record or archive needs. What stays: who released which share when (the row's
    ``released_at`` and the events), each holder's *wrapped* share (only its holder can open
    it, so k holders can re-open the key for an audit), and each bidder's released share
    (useless without the opening key; with it, the evidence that re-checks an outcome)."""
    rows = (await session.execute(
        select(OpeningKeyShare).where(OpeningKeyShare.opening_key_id == opening_key_id,
                                      OpeningKeyShare.released.is_not(None))
        .order_by(OpeningKeyShare.share_index))).scalars().all()
    if not rows:
        return
    for row in rows:
        row.released = None
    await append_event(session, actor=actor, at=now, aggregate_type="opening",
                       aggregate_id=section.id, project_id=project.id,
                       type="opening_shares.erased",
                       payload={"section_code": section.code,
                                "share_indices": [row.share_index for row in rows]})


async def publish_tender_list(session: AsyncSession, actor: Actor, project: Project,
                               section: Section, now: datetime) -> None:
    """The list of bids received, their outcomes and prices (投标人名单, reported as
    TENDER_LIST): published once per section when the opening closes, since a public report
    must not carry a price before the hall has read it out (唱标)."""
    already = (await session.execute(
        select(Event.seq).where(Event.aggregate_type == "opening",
                                Event.aggregate_id == str(section.id),
                                Event.type == "section.tender_list").limit(1)
    )).scalar_one_or_none()
    if already is not None:
        return
    rows = (await session.execute(
        select(Bid, Organisation, BidSecurity.status)
        .join(Organisation, Organisation.id == Bid.org_id)
        .outerjoin(BidSecurity, (BidSecurity.section_id == Bid.section_id)
                   & (BidSecurity.org_id == Bid.org_id))
        .where(Bid.section_id == section.id, Bid.status == VALID).order_by(Bid.received_at)
    )).all()
    bidders = []
    for bid, org, security_status in rows:
        summary = json.loads(bid.summary) if bid.summary else {}
        bidders.append({
            "bid_id": bid.id, "public_id": bid.public_id, "org_id": org.id, "name": org.name,
            "credit_code": org.credit_code, "outcome": bid.outcome,
            "received_at": isoformat_utc(bid.received_at),
            "price": summary.get("price"), "currency": summary.get("currency"),
            "duration_days": summary.get("duration_days"),
            "quality": summary.get("quality"),
            "project_manager": summary.get("project_manager"),
            "security": security_status,
        })
    await append_event(session, actor=actor, at=now, aggregate_type="opening",
                       aggregate_id=section.id, project_id=project.id,
                       type="section.tender_list",
                       payload={"section_code": section.code, "section_name": section.name,
                                "bidders": bidders},
                       report_as=ReportSet.TENDER_LIST)


async def _record(session: AsyncSession, actor: Actor, project: Project,
                  section: Section, bid: Bid, result: Opened, now: datetime) -> None:
    bid.outcome = result.outcome
    bid.outcome_reason = result.reason
    bid.opened_at = now
    if result.summary is not None:
        bid.summary = canonical_json(result.summary).decode()
    await append_event(
        session, actor=actor, at=now, aggregate_type="opening",
        aggregate_id=section.id, project_id=project.id, type=f"bid.{result.outcome}",
        payload={"bid_id": bid.id, "section_code": section.code, "org_id": bid.org_id,
                 "reason": result.reason, "summary": result.summary})
