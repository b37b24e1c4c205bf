"""Clarifications and amendments of the tender documents (澄清/修改).

An amendment that changes bid content less than the rule's minimum before the deadline (15 days
for an open tender) is refused unless it moves the deadline far enough; a moved deadline moves
every tendering section with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict, Invalid
from tradesys.events.log import append_event
from tradesys.identity.principal import Principal
from tradesys.procurement.access import Action, authorize_project
from tradesys.procurement.commands import Clarify
from tradesys.procurement.kinds import Procedure, ProjectState, ReportSet, SectionState
from tradesys.procurement.models import Clarification, TenderDocument
from tradesys.procurement.notices import tender_notice
from tradesys.procurement.projects import money, sections_of
from tradesys.procurement.rules import RuleBook, check_amendment


async def clarify(
    session: AsyncSession,
    principal: Principal,
    project_id: int,
    command: Clarify,
    now: datetime,
    rules: RuleBook,
) -> Clarification:
    project = await authorize_project(
        session, principal, project_id, Action.MANAGE, for_update=True
    )
    notice = await tender_notice(session, project.id)
    if project.state != ProjectState.ANNOUNCED or notice is None:
        raise Conflict(
            "not_announced",
            "项目未发布招标公告或已终止 (the project is not in its tendering period)",
        )
    assert notice.bid_deadline is not None
    current = notice.bid_deadline
    check_amendment(
        changes_bid_content=command.changes_bid_content,
        current_deadline=current,
        new_deadline=command.new_bid_deadline,
        rules=rules.for_procedure(Procedure(project.procedure)),
        now=now,
    )
    if command.document_id is not None:
        document = await session.get(TenderDocument, command.document_id)
        if document is None or document.project_id != project.id:
            raise Invalid(
                "document_not_found",
                "所附文件不属于本项目 (the attached document is not one of this project's)",
            )
    number = (
        await session.execute(
            select(func.coalesce(func.max(Clarification.number), 0)).where(
                Clarification.project_id == project.id
            )
        )
    ).scalar_one() + 1
    clarification = Clarification(
        project_id=project.id,
        number=number,
        title=command.title,
        content=command.content,
        changes_bid_content=command.changes_bid_content,
        previous_bid_deadline=current,
        new_bid_deadline=command.new_bid_deadline,
        document_id=command.document_id,
        published_at=now,
        published_by=principal.user_id,
    )
    session.add(clarification)
    sections = await sections_of(session, project.id)
    if command.new_bid_deadline is not None:
        notice.bid_deadline = command.new_bid_deadline
        for section in sections:
            if section.state == SectionState.TENDERING:
                section.bid_deadline = command.new_bid_deadline
    await session.flush()
    await append_event(
        session,
        actor=principal.actor,
        at=now,
        aggregate_type="project",
        aggregate_id=project.id,
        project_id=project.id,
        type="clarification.published",
        payload={
            "clarification_id": clarification.id,
            "number": number,
            "title": command.title,
            "content": command.content,
            "project_code": project.code,
            "changes_bid_content": command.changes_bid_content,
            "previous_bid_deadline": isoformat_utc(current),
            "bid_deadline": isoformat_utc(notice.bid_deadline),
            "document_id": command.document_id,
            "opening_place": notice.opening_place,
            "sections": [
                {
                    "code": s.code,
                    "ceiling_price": money(s.ceiling_price),
                    "bid_security": money(s.bid_security),
                }
                for s in sections
            ],
        },
        report_as=ReportSet.TENDER_FILE_CLARI_MODI,
    )
    return clarification


async def list_clarifications(session: AsyncSession, project_id: int) -> list[Clarification]:
    return list(
        (
            await session.execute(
                select(Clarification)
                .where(Clarification.project_id == project_id)
                .order_by(Clarification.number)
            )
        ).scalars()
    )
