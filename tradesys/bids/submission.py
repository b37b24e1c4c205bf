"""Submitting sealed bids (投标): uploads, the deadline, replacement, withdrawal, receipts.

The deadline is enforced where it matters: in the transaction that accepts the bid, with the
section row locked and the server clock read inside it. A bid whose last byte arrives after the
deadline is refused, however early its upload began; the scheduler closing the section takes
the same lock, so the two can never both win.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.encoding import unb64u
from tradesys.bids.envelope import EnvelopeHeader, header_length, parse_header
from tradesys.bids.keyring import bidder_key_by_point
from tradesys.bids.keys import key_id
from tradesys.bids.models import Bid, BidUpload
from tradesys.bids.opening_keys import opening_key_of
from tradesys.bids.receipts import RECEIPT_TYPE, receipt_file, sign_receipt
from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.events.log import append_event
from tradesys.events.models import Event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement.access import Action, authorize_project
from tradesys.procurement.kinds import SectionState
from tradesys.procurement.models import Project, Section

VALID, REPLACED, WITHDRAWN = "valid", "replaced", "withdrawn"
OPEN, COMPLETED, ABORTED = "open", "completed", "aborted"


async def section_for(session: AsyncSession, principal: Principal, section_id: int,
                      action: Action, *, for_update: bool = False) -> tuple[Section, Project]:
    section = await session.get(Section, section_id)
    if section is None:
        raise NotFound("section_not_found", "标段不存在 (no such section)")
    project = await authorize_project(session, principal, section.project_id, action)
    if for_update:
        section = await session.get_one(Section, section_id, with_for_update=True,
                                        populate_existing=True)
    return section, project


def _require_open(section: Section, now: datetime) -> None:
    if section.state != SectionState.TENDERING or section.bid_deadline is None:
        raise Conflict("not_tendering", "该标段不在投标期 (the section is not taking bids)")
    if now >= section.bid_deadline:
        raise Conflict("deadline_passed", "已过投标截止时间 (the bid deadline has passed)")


async def start_upload(session: AsyncSession, principal: Principal, section_id: int, size: int,
                       now: datetime, max_bytes: int) -> BidUpload:
    principal.require_role(Role.BIDDER)
    section, _ = await section_for(session, principal, section_id, Action.VIEW)
    _require_open(section, now)
    if size > max_bytes:
        raise Invalid("bid_too_large", f"投标文件超过 {max_bytes} 字节上限 (the sealed bid exceeds "
                      f"the {max_bytes}-byte limit)")
    upload = BidUpload(id=secrets.token_urlsafe(24), section_id=section.id,
                       org_id=principal.org_id, user_id=principal.user_id, size=size,
                       received=0, header_checked=False, status=OPEN, created_at=now,
                       updated_at=now)
    session.add(upload)
    await session.flush()
    return upload


async def own_upload(session: AsyncSession, principal: Principal, upload_id: str) -> BidUpload:
    upload = await session.get(BidUpload, upload_id)
    if upload is None or upload.org_id != principal.org_id or upload.user_id != principal.user_id:
        raise NotFound("upload_not_found", "上传不存在 (no such upload)")
    return upload


def require_open_upload(upload: BidUpload) -> None:
    if upload.status != OPEN:
        state = "完成" if upload.status == COMPLETED else "终止"
        raise Conflict("upload_closed", f"该上传已{state} (the upload is {upload.status})")


async def record_progress(session: AsyncSession, upload_id: str, before: int, after: int,
                          now: datetime) -> None:
    result = await session.execute(
        update(BidUpload).where(BidUpload.id == upload_id, BidUpload.received == before,
                                BidUpload.status == OPEN)
        .values(received=after, updated_at=now))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise Conflict("offset_mismatch", "上传位置冲突，请查询后重试 (the upload moved on: ask "
                       "for its offset and retry)")


def header_bytes_needed(head: bytes) -> int | None:
    """How many bytes the header needs, once its first 14 are known (None before)."""
    if len(head) < 14:
        return None
    return header_length(head[:14])


async def check_header(session: AsyncSession, upload: BidUpload, head: bytes) -> EnvelopeHeader:
    """The header as it arrives: this section, this bidder, its registered key, the section's
    opening key, and the declared size. Structure only: the ciphertext is checked at opening."""
    header = parse_header(head)
    section = await session.get_one(Section, upload.section_id)
    org = await session.get_one(Organisation, upload.org_id)
    opening = await opening_key_of(session, section.id)
    problems = []
    if header.section_code != section.code:
        problems.append(f"信封的标段编号 {header.section_code} 不是本标段 {section.code} (the "
                        "envelope was sealed for another section)")
    if header.bidder_code != org.credit_code:
        problems.append("信封的投标人不是上传者 (the envelope was sealed for another bidder)")
    if await bidder_key_by_point(session, org.id, header.bidder_public_key) is None:
        problems.append("信封使用的投标人公钥未登记 (the bidder key in the envelope is not "
                        "registered to this organisation)")
    if opening is None or key_id(header.opening_public_key) != key_id(
            _point(opening.public_key)):
        problems.append("信封未使用本标段的开标公钥 (the envelope is not sealed to this "
                        "section's opening key)")
    if header.envelope_size != upload.size:
        problems.append(f"信封大小 {header.envelope_size} 与声明的 {upload.size} 不符 (the "
                        "envelope's size differs from the declared size)")
    if problems:
        raise Invalid("envelope_mismatch", "；".join(problems), details=problems)
    return header


def _point(text: str) -> bytes:
    return unb64u(text, field="public_key")


async def abort_upload(session: AsyncSession, upload_id: str, now: datetime) -> None:
    await session.execute(update(BidUpload).where(BidUpload.id == upload_id)
                          .values(status=ABORTED, updated_at=now))


async def accept_bid(
    session: AsyncSession, principal: Principal, upload_id: str, sha256: str, now: datetime,
    *, receipt_key: Ed25519PrivateKey, platform_code: str, header: EnvelopeHeader,
) -> tuple[Bid, dict[str, Any]]:
    """The transaction that makes a bid count: deadline checked under the section's lock."""
    upload = await own_upload(session, principal, upload_id)
    require_open_upload(upload)
    section, project = await section_for(session, principal, upload.section_id, Action.VIEW,
                                         for_update=True)
    _require_open(section, now)
    if upload.received != upload.size or not upload.header_checked:
        raise Conflict("upload_incomplete", f"尚未收齐：{upload.received}/{upload.size} 字节 "
                       "(the upload is not complete)")
    key = await bidder_key_by_point(session, principal.org_id, header.bidder_public_key)
    if key is None:
        raise Invalid("envelope_mismatch", "信封使用的投标人公钥未登记 (the bidder key is not "
                      "registered)")
    previous = (await session.execute(
        select(Bid).where(Bid.section_id == section.id, Bid.org_id == principal.org_id,
                          Bid.status == VALID).with_for_update())).scalars().all()
    for old in previous:
        old.status = REPLACED
    org = await session.get_one(Organisation, principal.org_id)
    bid = Bid(section_id=section.id, org_id=principal.org_id, submitted_by=principal.user_id,
              status=VALID, envelope_sha256=sha256, size=upload.size, bidder_key_id=key.id,
              received_at=now, receipt="", receipt_signature="")
    session.add(bid)
    upload.status = COMPLETED
    upload.updated_at = now
    await session.flush()
    event = await append_event(
        session, actor=principal.actor, at=now, aggregate_type="section",
        aggregate_id=section.id, project_id=project.id, type="bid.submitted",
        payload={"bid_id": bid.id, "section_code": section.code, "org_id": org.id,
                 "envelope_sha256": sha256, "size": upload.size,
                 "replaces": [old.id for old in previous]})
    # The receipt names the bid by its opaque public id and its log entry by the entry's hash:
    # the integer id and the log's sequence number would tell a bidder who replaces its bid
    # how many others bid in between (a secret until the deadline).
    receipt = {
        "type": RECEIPT_TYPE, "version": 2, "platform_code": platform_code,
        "project_code": project.code, "section_id": section.id, "section_code": section.code,
        "bid_id": bid.public_id, "bidder_org_id": org.id, "bidder_credit_code": org.credit_code,
        "envelope_sha256": sha256, "size": upload.size, "received_at": isoformat_utc(now),
        "event_hash": event.hash,
    }
    bid.receipt = json.dumps(receipt, sort_keys=True, ensure_ascii=False)
    bid.receipt_signature = sign_receipt(receipt_key, receipt)
    return bid, receipt_file(receipt_key, receipt, bid.receipt_signature)


async def withdraw(session: AsyncSession, principal: Principal, section_id: int,
                   now: datetime) -> Bid:
    principal.require_role(Role.BIDDER)
    section, project = await section_for(session, principal, section_id, Action.VIEW,
                                         for_update=True)
    _require_open(section, now)
    bid = (await session.execute(
        select(Bid).where(Bid.section_id == section.id, Bid.org_id == principal.org_id,
                          Bid.status == VALID).with_for_update())).scalar_one_or_none()
    if bid is None:
        raise Conflict("no_bid", "没有可撤回的投标文件 (there is no valid bid to withdraw)")
    bid.status = WITHDRAWN
    bid.withdrawn_at = now
    await append_event(session, actor=principal.actor, at=now, aggregate_type="section",
                       aggregate_id=section.id, project_id=project.id, type="bid.withdrawn",
                       payload={"bid_id": bid.id, "section_code": section.code,
                                "org_id": principal.org_id})
    return bid


async def log_positions(session: AsyncSession, section_id: int, bids: list[Bid],
                        now: datetime) -> dict[int, int]:
    """The log sequence number of each bid's ``bid.submitted`` entry (the one its receipt
    names by hash), by bid row id: only once the section's bid deadline has passed, empty
    before. Before the deadline the number would tell a bidder how much happened on the
    platform between two of its own submissions; after the opening the list is public anyway
    and the bidder can place its receipt in the log (``tradesys verify``)."""
    section = await session.get(Section, section_id)
    if section is None or section.bid_deadline is None or now < section.bid_deadline:
        return {}
    hashes: dict[str, int] = {}
    positions: dict[int, int] = {}
    for bid in bids:
        receipt = json.loads(bid.receipt) if bid.receipt else {}
        if isinstance(receipt.get("event_hash"), str):
            hashes[receipt["event_hash"]] = bid.id
        elif isinstance(receipt.get("event_seq"), int):  # version 1 receipts named the seq
            positions[bid.id] = receipt["event_seq"]
    if hashes:
        rows = await session.execute(select(Event.hash, Event.seq).where(
            Event.hash.in_(list(hashes))))
        positions.update({hashes[hash_]: seq for hash_, seq in rows.all()})
    return positions


async def bids_for(session: AsyncSession, principal: Principal, section_id: int,
                   now: datetime) -> list[tuple[Bid, Organisation]]:
    """A bidder sees its own bids. The others see the list only after the deadline: before
    it, even who has bid is secret (招标人不得透露潜在投标人的名称、数量)."""
    section, _ = await section_for(session, principal, section_id, Action.VIEW)
    query = (select(Bid, Organisation).join(Organisation, Organisation.id == Bid.org_id)
             .where(Bid.section_id == section.id).order_by(Bid.id))
    if principal.role is Role.BIDDER:
        query = query.where(Bid.org_id == principal.org_id)
    else:
        if section.bid_deadline is None or now < section.bid_deadline:
            raise Forbidden("sealed_until_deadline", "投标截止前不公开投标情况 (bids are not "
                            "shown before the deadline)")
        query = query.where(Bid.status == VALID)
    return [(bid, org) for bid, org in (await session.execute(query)).all()]


async def bid_projects(session: AsyncSession, org_id: int, project_ids: list[int]) -> set[int]:
    """Which of these projects the organisation holds a current sealed bid in (我的项目 marks)."""
    if not project_ids:
        return set()
    rows = await session.execute(
        select(Section.project_id).distinct().join(Bid, Bid.section_id == Section.id).where(
            Bid.org_id == org_id, Bid.status == VALID, Section.project_id.in_(project_ids)))
    return set(rows.scalars())
