"""Bid security (投标保证金): declared by the bidder, confirmed or rejected by the host.

Declarations are accepted until the deadline. The host sees and decides them only after it:
before the deadline, even who has paid security would reveal who is bidding.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.models import BidSecurity
from tradesys.bids.submission import section_for
from tradesys.errors import Conflict, Forbidden, NotFound
from tradesys.events.log import append_event
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement.access import Action


class SecurityMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"  # 银行转账
    BANK_GUARANTEE = "bank_guarantee"  # 银行保函
    INSURANCE = "insurance"  # 保证保险
    OTHER = "other"


class Decision(StrEnum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


async def declare(session: AsyncSession, principal: Principal, section_id: int,
                  method: SecurityMethod, amount: Decimal, reference: str,
                  now: datetime) -> BidSecurity:
    principal.require_role(Role.BIDDER)
    section, project = await section_for(session, principal, section_id, Action.VIEW,
                                         for_update=True)
    if section.bid_deadline is None or now >= section.bid_deadline:
        raise Conflict("deadline_passed", "已过投标截止时间 (the bid deadline has passed)")
    row = (await session.execute(
        select(BidSecurity).where(BidSecurity.section_id == section.id,
                                  BidSecurity.org_id == principal.org_id))).scalar_one_or_none()
    if row is not None and row.status == Decision.CONFIRMED:
        raise Conflict("security_confirmed", "保证金已确认，不能修改 (already confirmed)")
    if row is None:
        row = BidSecurity(section_id=section.id, org_id=principal.org_id, status="declared",
                          method=method.value, amount=f"{amount:.2f}", reference=reference,
                          declared_at=now)
        session.add(row)
    else:
        row.status, row.method, row.amount = "declared", method.value, f"{amount:.2f}"
        row.reference, row.declared_at = reference, now
        row.decided_at = row.decided_by = None
    await session.flush()
    await append_event(session, actor=principal.actor, at=now, aggregate_type="section",
                       aggregate_id=section.id, project_id=project.id,
                       type="security.declared",
                       payload={"section_code": section.code, "org_id": principal.org_id,
                                "method": method.value, "amount": f"{amount:.2f}"})
    return row


async def decide(session: AsyncSession, principal: Principal, section_id: int, org_id: int,
                 decision: Decision, now: datetime) -> BidSecurity:
    section, project = await section_for(session, principal, section_id, Action.MANAGE,
                                         for_update=True)
    if section.bid_deadline is None or now < section.bid_deadline:
        raise Forbidden("sealed_until_deadline", "投标截止后方可核验保证金 (security is checked "
                        "after the deadline)")
    row = (await session.execute(
        select(BidSecurity).where(BidSecurity.section_id == section.id,
                                  BidSecurity.org_id == org_id))).scalar_one_or_none()
    if row is None:
        raise NotFound("security_not_found", "该投标人未申报保证金 (no declared security)")
    row.status, row.decided_at, row.decided_by = decision.value, now, principal.user_id
    await append_event(session, actor=principal.actor, at=now, aggregate_type="section",
                       aggregate_id=section.id, project_id=project.id, type="security.decided",
                       payload={"section_code": section.code, "org_id": org_id,
                                "status": decision.value})
    return row


async def securities(session: AsyncSession, principal: Principal, section_id: int,
                     now: datetime) -> list[BidSecurity]:
    section, _ = await section_for(session, principal, section_id, Action.VIEW)
    query = select(BidSecurity).where(BidSecurity.section_id == section.id).order_by(
        BidSecurity.id)
    if principal.role is Role.BIDDER:
        query = query.where(BidSecurity.org_id == principal.org_id)
    elif section.bid_deadline is None or now < section.bid_deadline:
        raise Forbidden("sealed_until_deadline", "投标截止前不公开保证金情况 (not shown before "
                        "the deadline)")
    return list((await session.execute(query)).scalars())
