"""Objections (异议) to the candidates, raised during the publicity (条例 Art. 54).

Why this shape: the law lets a bidder object only **during** the publicity, and while an
objection is unanswered the procedure is suspended: no award (:func:`require_none_open`, which
the award step calls). The objection is written text, stored and an event; the procurer or the
host answers it, in writing, within ``objection_answer_days`` (rule book): the deadline is shown
and an answer after it is still taken (the procedure must be able to continue) but marked
``late`` in its event.

Who reads them: the objecting bidder its own; the host, the procurer and supervisors all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.award import stage as stages
from tradesys.award.models import Objection, Publicity
from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict, Forbidden, NotFound
from tradesys.identity.principal import Principal
from tradesys.procurement.models import Project, Section
from tradesys.procurement.rules import RuleBook


def _view(objection: Objection, *, own: bool) -> dict[str, Any]:
    return {"number": objection.number, "text": objection.text, "own": own,
            "raised_at": isoformat_utc(objection.raised_at),
            "answer_by": isoformat_utc(objection.answer_by),
            "answer": objection.answer,
            "answered_at": None if objection.answered_at is None else isoformat_utc(
                objection.answered_at)}


async def _running(session: AsyncSession, section_id: int, now: datetime) -> Publicity:
    publicity = await session.get(Publicity, section_id)
    if publicity is None:
        raise Conflict("publicity_not_started", "中标候选人尚未公示 (the candidates are not "
                       "published yet)")
    if publicity.ended_at is not None or now >= publicity.ends_at:
        raise Conflict("publicity_ended", "公示期已结束，不能再提出异议 (the publicity has "
                       "ended: objections are raised during it, 条例 Art. 54)")
    return publicity


async def raise_objection(session: AsyncSession, principal: Principal, section_id: int,
                          text: str, rules: RuleBook, now: datetime) -> dict[str, Any]:
    stage = await stages.load(session, section_id, rules, lock=True,
                              gate=stages.bidder_gate(session, principal))
    org = await stages.bidder_org(session, principal, stage)
    await _running(session, section_id, now)
    number = ((await session.execute(select(func.max(Objection.number)).where(
        Objection.section_id == section_id))).scalar_one() or 0) + 1
    objection = Objection(section_id=section_id, number=number, org_id=org.id,
                          user_id=principal.user_id, text=text, raised_at=now,
                          answer_by=now + timedelta(days=stage.rules.objection_answer_days))
    session.add(objection)
    await session.flush()
    await stages.record(session, principal.actor, stage, now, "objection_raised", {
        "number": number, "credit_code": org.credit_code, "text": text,
        "answer_by": isoformat_utc(objection.answer_by)})
    return _view(objection, own=True)


async def answer_objection(session: AsyncSession, principal: Principal, section_id: int,
                           number: int, answer: str, rules: RuleBook, now: datetime
                           ) -> dict[str, Any]:
    stage = await stages.load(session, section_id, rules, lock=True,
                              gate=stages.host_or_procurer_gate(session, principal))
    objection = (await session.execute(select(Objection).where(
        Objection.section_id == section_id, Objection.number == number))).scalar_one_or_none()
    if objection is None:
        raise NotFound("objection_not_found", "该异议不存在 (no such objection)")
    if objection.answered_at is not None:
        raise Conflict("objection_answered", "该异议已答复 (the objection is already answered)")
    objection.answer, objection.answered_at = answer, now
    objection.answered_by = principal.user_id
    late = now > objection.answer_by
    await stages.record(session, principal.actor, stage, now, "objection_answered", {
        "number": number, "answer": answer, "late": late})
    return _view(objection, own=False)


async def list_objections(session: AsyncSession, principal: Principal, section_id: int,
                          rules: RuleBook) -> dict[str, Any]:
    async def gate(section: Section, project: Project) -> None:
        try:
            await stages.bidder_gate(session, principal, managers=True)(section, project)
        except Forbidden:
            raise Forbidden("not_objection_reader", "异议仅提出人、招标人、招标代理机构和监督部门"
                            "可阅 (only the objector, the procurer, the host and supervisors "
                            "read objections)") from None

    stage = await stages.load(session, section_id, rules, gate=gate)
    rows = list((await session.execute(select(Objection).where(
        Objection.section_id == section_id).order_by(Objection.number))).scalars())
    if await stages.is_manager(session, principal, stage.project):
        items = [_view(o, own=o.org_id == principal.org_id) for o in rows]
    else:
        items = [_view(o, own=True) for o in rows if o.org_id == principal.org_id]
    return {"section_id": section_id, "items": items}


async def require_none_open(session: AsyncSession, section_id: int) -> None:
    """Refuse (409 ``objection_pending``) while any objection is unanswered."""
    open_count = (await session.execute(select(func.count()).select_from(Objection).where(
        Objection.section_id == section_id, Objection.answered_at.is_(None)))).scalar_one()
    if open_count:
        raise Conflict("objection_pending", f"有 {open_count} 项异议尚未答复，暂停定标 "
                       f"({open_count} objection(s) unanswered: the award is suspended, "
                       "条例 Art. 54)")
