"""What the publicity, the objections and the award share: the section with its final report,
who may act on it, its events and its public notices.

Why one place: every step after the report starts from the same facts (the **final** report's
candidates and bidders, never recomputed) and the same people (the host publishes and awards;
the host or the procurer answers objections; the section's bidders object), so each step asks
here rather than deciding it again.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.award.models import EvaluationReport
from tradesys.bids.models import Bid
from tradesys.errors import Conflict, Forbidden
from tradesys.evaluation import review
from tradesys.evaluation.section_scheme import section_of
from tradesys.events.log import Actor, append_event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Grant, Role
from tradesys.procurement.access import grants_of, supervises
from tradesys.procurement.kinds import NoticeKind, Procedure, ReportSet
from tradesys.procurement.models import Notice, Project, Section
from tradesys.procurement.rules import PeriodRules, RuleBook

#: The event aggregate of every step here: ``award`` / the section id.
AGGREGATE = "award"


@dataclass
class Stage:
    section: Section
    project: Project
    rules: PeriodRules
    report: EvaluationReport
    #: The final report's body (canonical JSON parsed).
    body: dict[str, Any]

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """The report's ranked candidates with each one's name and price, by rank."""
        bidders = {b["credit_code"]: b for b in self.body["bidders"]}
        scores = {a["credit_code"]: a["score"] for a in self.body["aggregate"]}
        return [{"rank": c["rank"], "credit_code": c["credit_code"],
                 "name": bidders[c["credit_code"]]["name"],
                 "price": bidders[c["credit_code"]]["price"]["amount"],
                 "score": scores.get(c["credit_code"])}
                for c in sorted(self.body["candidates"], key=lambda c: c["rank"])]

    @property
    def bidders(self) -> list[dict[str, Any]]:
        """Every opened bid of the report: name, credit code, price, compliant."""
        bidders: list[dict[str, Any]] = self.body["bidders"]
        return bidders

    @property
    def committee(self) -> list[dict[str, Any]]:
        committee: list[dict[str, Any]] = self.body["committee"]
        return committee


#: A check of the caller against the section's project, run before anything about the
#: section's state is revealed (so an outsider learns nothing from ``report_not_final``).
Gate = Callable[[Section, Project], Awaitable[None]]


async def load(session: AsyncSession, section_id: int, rules: RuleBook, *,
               lock: bool = False, gate: Gate | None = None) -> Stage:
    """The section and its **final** report; refused (409 ``report_not_final``) before.
    ``gate`` authorizes the caller first."""
    section = await section_of(session, section_id, lock=lock)
    project = await session.get_one(Project, section.project_id)
    if gate is not None:
        await gate(section, project)
    report = await session.get(EvaluationReport, section_id)
    if report is None or report.final_at is None:
        raise Conflict("report_not_final", "评标报告尚未经全体成员签署定稿 (the evaluation "
                       "report is not final: every sitting member must sign it first)")
    return Stage(section, project, rules.for_procedure(Procedure(project.procedure)), report,
                 json.loads(report.body))


def host_gate(session: AsyncSession, principal: Principal) -> Gate:
    async def gate(_section: Section, project: Project) -> None:
        if not await review.is_host(session, principal, project):
            raise Forbidden("not_project_manager", "仅招标代理机构（或自行招标的招标人）可进行"
                            "此操作 (only the host may do this)")
    return gate


async def is_procurer(session: AsyncSession, principal: Principal, project: Project) -> bool:
    if principal.role is not Role.PROCURER:
        return False
    return Grant.OWNER in await grants_of(session, project.id, principal.org_id)


async def is_manager(session: AsyncSession, principal: Principal, project: Project) -> bool:
    """The host, the procurer, or a supervisor: who follows every step of the award."""
    return (await supervises(session, principal, project.id)
            or await review.is_host(session, principal, project)
            or await is_procurer(session, principal, project))


def host_or_procurer_gate(session: AsyncSession, principal: Principal) -> Gate:
    async def gate(_section: Section, project: Project) -> None:
        if await review.is_host(session, principal, project) or await is_procurer(
                session, principal, project):
            return
        raise Forbidden("not_host_or_procurer", "仅招标人或招标代理机构可进行此操作 (only the "
                        "procurer or the host may do this)")
    return gate


def not_a_bidder() -> Forbidden:
    return Forbidden("not_a_bidder", "仅本标段的投标人可进行此操作 (only a bidder of this "
                     "section may do this)")


def bidder_gate(session: AsyncSession, principal: Principal, *,
                managers: bool = False) -> Gate:
    """A bidder with a bid in the section (or, with ``managers``, also the host, the procurer
    or a supervisor). The report's bidders are checked once it is loaded (:func:`bidder_org`)."""
    async def gate(section: Section, project: Project) -> None:
        if managers and await is_manager(session, principal, project):
            return
        if principal.role is not Role.BIDDER or (await session.execute(select(Bid.id).where(
                Bid.section_id == section.id, Bid.org_id == principal.org_id).limit(1))
                ).scalar_one_or_none() is None:
            raise not_a_bidder()
    return gate


async def bidder_org(session: AsyncSession, principal: Principal, stage: Stage
                     ) -> Organisation:
    """The caller's organisation, when it is a bidder of the report (an opened bid)."""
    org = await session.get(Organisation, principal.org_id)
    codes = {b["credit_code"] for b in stage.bidders}
    if principal.role is not Role.BIDDER or org is None or org.credit_code not in codes:
        raise not_a_bidder()
    return org


async def orgs_by_code(session: AsyncSession, codes: list[str]) -> dict[str, Organisation]:
    rows = (await session.execute(select(Organisation).where(
        Organisation.credit_code.in_(codes or [""])))).scalars()
    return {o.credit_code: o for o in rows}


async def record(session: AsyncSession, actor: Actor, stage: Stage | Section, now: datetime,
                 kind: str, payload: dict[str, Any], report_as: ReportSet | None = None
                 ) -> None:
    """Append ``award.<kind>`` on the section's aggregate (and its platform report, when
    ``report_as`` names a data set: the event then carries every fact the report needs)."""
    section = stage.section if isinstance(stage, Stage) else stage
    await append_event(session, actor=actor, at=now, aggregate_type=AGGREGATE,
                       aggregate_id=section.id, project_id=section.project_id,
                       type=f"award.{kind}", payload=payload,
                       report_as=None if report_as is None else report_as.value)


def section_facts(stage: Stage) -> dict[str, str]:
    return {"code": stage.section.code, "name": stage.section.name}


async def publish_notice(session: AsyncSession, principal: Principal, stage: Stage,
                         kind: NoticeKind, title: str, content: str, now: datetime) -> Notice:
    """A public notice (the candidates, the result, a failure) on the public notice list."""
    notice = Notice(project_id=stage.project.id, kind=kind.value, title=title[:300],
                    content=content, published_at=now, published_by=principal.user_id,
                    consortium_allowed=False)
    session.add(notice)
    await session.flush()
    return notice


def heading(stage: Stage) -> str:
    return f"{stage.project.name} {stage.section.name}（{stage.section.code}）"
