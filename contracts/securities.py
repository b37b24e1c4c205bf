"""Returning the bid securities after the contract is signed (投标保证金退还, 条例 Art. 57).

条例 Art. 57: the tenderer returns the bid security, with the bank's interest for the same
period, to the winner and to the other bidders within 5 days of signing the contract (the rule
book's ``bid_security_return_days``). The money moves outside the platform (a bank transfer, a
guarantee handed back); what the platform keeps is when each return was due, that it was
recorded, and that a lapse is in the log for supervision (issue 15) to raise its alert from.

Why no table of its own: everything is derived from what is already stored. The clock starts
at the section's first ``contract.concluded`` event (the second signature); the securities
due are the section's ``bid_securities`` rows the bidders declared, except those the host
rejected (a rejected security is one the host found it does not hold); each return is one
``contract.bid_security_returned`` event and each lapse one ``contract.bid_security_overdue``
event on the contract's aggregate, found again by the bidder's credit code. Both commands lock
the contract's row and read the events again under it, so a return is recorded once and a
lapse flagged once, however often the scheduler or a client tries.

Who may act: the procurer or the host agency of the project records a return (the tenderer
returns the money, often through its agency); they, the project's supervisors and each bidder
(its own security only) read the list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import Contract
from tradesys.award import stage as stages
from tradesys.bids.models import BidSecurity
from tradesys.clock import Clock, isoformat_utc
from tradesys.db.database import Database
from tradesys.errors import Conflict, Forbidden, NotFound
from tradesys.evaluation.section_scheme import section_of
from tradesys.events.log import Actor, append_event
from tradesys.events.models import Event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement.kinds import Procedure
from tradesys.procurement.models import Project, Section
from tradesys.procurement.rules import RuleBook
from tradesys.scheduler import Job

__all__ = [
    "CONCLUDED",
    "OVERDUE",
    "RETURNED",
    "STATE_NAMES",
    "Conclusion",
    "Ledger",
    "ReturnState",
    "SecurityDue",
    "conclusion_of",
    "due_at",
    "ledger_for",
    "record_return",
    "security_jobs",
]

CONCLUDED = "contract.concluded"
#: One per bidder whose security is recorded as returned (on the contract's aggregate).
RETURNED = "contract.bid_security_returned"
#: One per bidder whose security is not returned by the due time (the scheduler's).
OVERDUE = "contract.bid_security_overdue"
#: A security the host rejected is not held: nothing to return.
REJECTED = "rejected"


class ReturnState(StrEnum):
    PENDING = "pending"  #: 待退还: not returned, not yet due
    RETURNED = "returned"  #: 已退还
    OVERDUE = "overdue"  #: 逾期: not returned by the due time


STATE_NAMES = {ReturnState.PENDING: "待退还", ReturnState.RETURNED: "已退还",
               ReturnState.OVERDUE: "逾期"}


@dataclass(frozen=True)
class Conclusion:
    """The section's signed contract, as its ``contract.concluded`` event states it."""

    contract_id: int
    award_id: str
    winner_credit_code: str
    concluded_at: datetime


@dataclass(frozen=True)
class SecurityDue:
    """One bidder's security and what has become of it."""

    security_id: int
    org_id: int
    name: str
    credit_code: str
    method: str
    amount: str
    status: str  #: the host's check: ``declared`` or ``confirmed``
    winner: bool
    due_at: datetime
    returned: dict[str, Any] | None  #: the ``contract.bid_security_returned`` payload
    flagged: bool  #: a ``contract.bid_security_overdue`` was recorded

    def state(self, now: datetime) -> ReturnState:
        if self.returned is not None:
            return ReturnState.RETURNED
        return ReturnState.OVERDUE if now >= self.due_at else ReturnState.PENDING


@dataclass(frozen=True)
class Ledger:
    section: Section
    project: Project
    conclusion: Conclusion
    return_days: int
    due_at: datetime
    items: list[SecurityDue]


def due_at(concluded_at: datetime, return_days: int) -> datetime:
    """Within ``return_days`` of signing: the period runs from the second signature."""
    return concluded_at + timedelta(days=return_days)


async def conclusion_of(session: AsyncSession, section: Section) -> Conclusion | None:
    """The section's first ``contract.concluded`` (a section has one signed contract; should
    there ever be another, the first signing started the period)."""
    rows = (await session.execute(select(Event).where(
        Event.type == CONCLUDED, Event.project_id == section.project_id).order_by(Event.seq)
    )).scalars().all()
    for row in rows:
        payload = json.loads(row.payload)
        if payload["section"]["code"] == section.code:
            return Conclusion(int(row.aggregate_id), payload["award_id"],
                              payload["supplier"]["credit_code"], row.occurred_at)
    return None


async def _recorded(session: AsyncSession, contract_id: int, type: str
                    ) -> dict[str, dict[str, Any]]:
    payloads = (await session.execute(select(Event.payload).where(
        Event.type == type, Event.aggregate_type == "contract",
        Event.aggregate_id == str(contract_id)))).scalars().all()
    return {p["credit_code"]: p for p in map(json.loads, payloads)}


def _not_concluded() -> Conflict:
    return Conflict("contract_not_concluded", "本标段合同尚未由双方签订，保证金退还期限未开始 "
                    "(the section's contract is not signed by both parties yet: the security "
                    "return period has not started)")


async def _ledger(session: AsyncSession, section: Section, project: Project,
                  rules: RuleBook) -> Ledger:
    conclusion = await conclusion_of(session, section)
    if conclusion is None:
        raise _not_concluded()
    days = rules.for_procedure(Procedure(project.procedure)).bid_security_return_days
    due = due_at(conclusion.concluded_at, days)
    returned = await _recorded(session, conclusion.contract_id, RETURNED)
    flagged = await _recorded(session, conclusion.contract_id, OVERDUE)
    rows = (await session.execute(
        select(BidSecurity, Organisation).join(Organisation, Organisation.id == BidSecurity.org_id)
        .where(BidSecurity.section_id == section.id, BidSecurity.status != REJECTED)
        .order_by(BidSecurity.id))).all()
    items = [SecurityDue(security_id=row.id, org_id=org.id, name=org.name,
                         credit_code=org.credit_code, method=row.method, amount=row.amount,
                         status=row.status, winner=org.credit_code == conclusion.winner_credit_code,
                         due_at=due, returned=returned.get(org.credit_code),
                         flagged=org.credit_code in flagged)
             for row, org in rows]
    return Ledger(section, project, conclusion, days, due, items)


async def ledger_for(session: AsyncSession, principal: Principal, section_id: int,
                     rules: RuleBook) -> Ledger:
    """The section's securities to return: every one for the procurer, the host and the
    project's supervisors; a bidder of the section sees its own. Authorized before the
    contract's state is revealed."""
    section = await section_of(session, section_id)
    project = await session.get_one(Project, section.project_id)
    manager = await stages.is_manager(session, principal, project)
    if not manager and (principal.role is not Role.BIDDER or (await session.execute(
            select(BidSecurity.id).where(BidSecurity.section_id == section.id,
                                         BidSecurity.org_id == principal.org_id))
            ).scalar_one_or_none() is None):
        raise Forbidden("not_security_reader", "仅招标人、招标代理机构、监督部门及申报了保证金的"
                        "投标人可查看 (only the procurer, the host, supervisors and the bidders "
                        "who declared a security may read this)")
    ledger = await _ledger(session, section, project, rules)
    if not manager:
        ledger = replace(ledger, items=[i for i in ledger.items if i.org_id == principal.org_id])
    return ledger


async def _locked_contract(session: AsyncSession, contract_id: int) -> Contract:
    """The contract's row, locked: returns and lapses of one contract are decided one at a
    time, each after reading the events again."""
    return await session.get_one(Contract, contract_id, with_for_update=True,
                                 populate_existing=True)


async def record_return(session: AsyncSession, principal: Principal, section_id: int,
                        rules: RuleBook, *, credit_code: str, interest: Decimal | None,
                        reference: str, note: str | None, at: datetime) -> dict[str, Any]:
    """Record that the bidder's security was returned (by the procurer or the host): one
    ``contract.bid_security_returned``, at most one per bidder. A return after the due time
    is recorded all the same (refusing it would leave the money unaccounted for) and marked
    ``late``. Returns the event's payload."""
    section = await section_of(session, section_id)
    project = await session.get_one(Project, section.project_id)
    await stages.host_or_procurer_gate(session, principal)(section, project)
    conclusion = await conclusion_of(session, section)
    if conclusion is None:
        raise _not_concluded()
    contract = await _locked_contract(session, conclusion.contract_id)
    ledger = await _ledger(session, section, project, rules)
    item = next((i for i in ledger.items if i.credit_code == credit_code), None)
    if item is None:
        raise NotFound("no_bid_security", f"该单位在本标段没有待退还的投标保证金（未申报或已被"
                       f"核验为不符）(no bid security of this organisation to return in this "
                       f"section: none declared, or rejected): {credit_code}")
    if item.returned is not None:
        raise Conflict("security_already_returned", f"该投标人的保证金已于 "
                       f"{item.returned['returned_at']} 登记退还 (this bidder's security was "
                       f"already recorded as returned)")
    payload = {
        "section_code": section.code, "award_id": conclusion.award_id,
        "org_id": item.org_id, "credit_code": item.credit_code, "winner": item.winner,
        "method": item.method, "amount": item.amount,
        "interest": f"{interest:.2f}" if interest is not None else None,
        "reference": reference, "note": note, "returned_at": isoformat_utc(at),
        "due_at": isoformat_utc(item.due_at), "late": at > item.due_at,
        "return_days": ledger.return_days}
    await append_event(session, actor=principal.actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type=RETURNED, payload=payload)
    return payload


# --- the scheduler ----------------------------------------------------------------------


async def _section_of_contract(session: AsyncSession, event: Event) -> Section | None:
    code = json.loads(event.payload)["section"]["code"]
    return (await session.execute(select(Section).where(
        Section.project_id == event.project_id, Section.code == code))).scalar_one_or_none()


def _lapsed(item: SecurityDue, now: datetime) -> bool:
    """Due, not returned, not flagged yet: what the job flags."""
    return item.returned is None and not item.flagged and now >= item.due_at


def security_jobs(rules: RuleBook) -> tuple[Job, ...]:
    async def flag_overdue_securities(db: Database, clock: Clock) -> list[int]:
        """Scheduler job: one ``contract.bid_security_overdue`` per bidder whose security
        is not recorded as returned by the due time. Returns the securities flagged."""
        now = clock.now()
        due_sections: list[int] = []
        async with db.reading() as session:
            events = (await session.execute(select(Event).where(Event.type == CONCLUDED)
                                            .order_by(Event.seq))).scalars().all()
            for event in events:
                section = await _section_of_contract(session, event)
                if section is None or section.id in due_sections:
                    continue
                project = await session.get_one(Project, section.project_id)
                ledger = await _ledger(session, section, project, rules)
                if any(_lapsed(item, now) for item in ledger.items):
                    due_sections.append(section.id)
        flagged = []
        for section_id in due_sections:
            async with db.transaction() as session:
                section = await session.get_one(Section, section_id)
                project = await session.get_one(Project, section.project_id)
                conclusion = await conclusion_of(session, section)
                assert conclusion is not None
                contract = await _locked_contract(session, conclusion.contract_id)
                ledger = await _ledger(session, section, project, rules)
                at = clock.now()
                for item in ledger.items:
                    if not _lapsed(item, at):
                        continue
                    await append_event(
                        session, actor=Actor.system(), at=at, aggregate_type="contract",
                        aggregate_id=contract.id, project_id=contract.project_id,
                        type=OVERDUE, payload={
                            "section_code": section.code, "award_id": conclusion.award_id,
                            "org_id": item.org_id, "credit_code": item.credit_code,
                            "winner": item.winner, "amount": item.amount,
                            "concluded_at": isoformat_utc(conclusion.concluded_at),
                            "return_days": ledger.return_days,
                            "due_at": isoformat_utc(item.due_at)})
                    flagged.append(item.security_id)
        return flagged

    return (flag_overdue_securities,)
