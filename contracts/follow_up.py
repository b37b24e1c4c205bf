"""Following up an award's contract (合同签订期限): signed within the rule book's
``contract_days`` of the award notice (法 Art. 46), or the award's contract is overdue.

Why a scheduler job and an event: the deadline passes without anyone acting, and supervision
(issue 15) raises its alert from the log alone, so the lapse must be in the log. The job is
derived from the database only (the awards, the contracts, the events it already wrote), so it
needs no state of its own and catches up after a restart; each overdue award gets exactly one
``award.contract_overdue`` event, re-checked under the award's row lock.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import Contract
from contracts.securities import security_jobs
from tradesys.award import stage as stages
from tradesys.award.decision import AWARDED
from tradesys.award.models import Award
from tradesys.clock import Clock, isoformat_utc
from tradesys.db.database import Database
from tradesys.events.log import Actor
from tradesys.events.models import Event
from tradesys.procurement.kinds import Procedure
from tradesys.procurement.models import Project, Section
from tradesys.procurement.rules import RuleBook
from tradesys.scheduler import Job

__all__ = ["OVERDUE", "contract_jobs", "due_at"]

#: The event type of a lapsed contract deadline (on the section's award aggregate).
OVERDUE = "award.contract_overdue"


def due_at(award: Award, contract_days: int) -> datetime:
    """The award notice is issued at the award (the same transaction): its date starts the
    period."""
    return award.awarded_at + timedelta(days=contract_days)


def award_id(section: Section, award: Award) -> str:
    """The award's id as the notices and the contract carry it (``<section code>-<round>``)."""
    return f"{section.code}-{award.round}"


async def _flagged(session: AsyncSession, section_id: int) -> set[int]:
    payloads = (await session.execute(select(Event.payload).where(
        Event.type == OVERDUE, Event.aggregate_id == str(section_id)))).scalars()
    return {json.loads(payload)["round"] for payload in payloads}


async def _signed(session: AsyncSession, section: Section, award: Award) -> bool:
    state = (await session.execute(select(Contract.state).where(
        Contract.award_id == award_id(section, award)))).scalar_one_or_none()
    return state == "signed"


def contract_jobs(rules: RuleBook) -> tuple[Job, ...]:
    async def flag_overdue_contracts(db: Database, clock: Clock) -> list[int]:
        """Scheduler job: one ``award.contract_overdue`` per standing award whose contract is
        not signed by its deadline. Returns the awards flagged."""
        now = clock.now()
        async with db.reading() as session:
            rows = (await session.execute(
                select(Award.id, Award.awarded_at, Project.procedure)
                .join(Section, Section.id == Award.section_id)
                .join(Project, Project.id == Section.project_id)
                .where(Award.status == AWARDED)
                .order_by(Award.awarded_at, Award.id))).all()
        candidates = [row_id for row_id, awarded_at, procedure in rows
                      if awarded_at + timedelta(days=rules.for_procedure(
                          Procedure(procedure)).contract_days) <= now]
        flagged = []
        for row_id in candidates:
            async with db.transaction() as session:
                award = await session.get(Award, row_id, with_for_update=True,
                                          populate_existing=True)
                if award is None or award.status != AWARDED:
                    continue
                section = await session.get_one(Section, award.section_id)
                project = await session.get_one(Project, section.project_id)
                days = rules.for_procedure(Procedure(project.procedure)).contract_days
                at = clock.now()
                deadline = due_at(award, days)
                if (deadline > at or award.round in await _flagged(session, section.id)
                        or await _signed(session, section, award)):
                    continue
                await stages.record(session, Actor.system(), section, at, "contract_overdue", {
                    "round": award.round, "award_id": award_id(section, award),
                    "credit_code": award.credit_code, "contract_days": days,
                    "awarded_at": isoformat_utc(award.awarded_at),
                    "due_at": isoformat_utc(deadline)})
                flagged.append(row_id)
        return flagged

    # The bid securities' return after the signing (条例 Art. 57): contracts/securities.py.
    return (flag_overdue_contracts, *security_jobs(rules))
