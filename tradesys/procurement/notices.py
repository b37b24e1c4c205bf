"""Publishing the tender notice (招标公告) and the public notice list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, Row, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.opening_keys import check_holders, create_opening_keys
from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict, NotFound
from tradesys.events.log import append_event
from tradesys.identity.principal import Principal
from tradesys.procurement.access import Action, authorize_project
from tradesys.procurement.commands import Announce
from tradesys.procurement.entrustment import require_settled
from tradesys.procurement.kinds import NoticeKind, Procedure, ProjectState, ReportSet, SectionState
from tradesys.procurement.models import Notice, Project, Section, TenderDocument
from tradesys.procurement.projects import section_facts, sections_of
from tradesys.procurement.rules import KeyTimes, RuleBook, check_key_times


async def announce(
    session: AsyncSession,
    principal: Principal,
    project_id: int,
    command: Announce,
    now: datetime,
    rules: RuleBook,
) -> Notice:
    project = await authorize_project(
        session, principal, project_id, Action.MANAGE, for_update=True
    )
    if project.state != ProjectState.REGISTERED:
        raise Conflict(
            "not_registered",
            "项目不处于待发布状态，不能发布招标公告 "
            f"(the project is {project.state}, not registered)",
        )
    await require_settled(session, project.id)
    times = KeyTimes(
        command.doc_start, command.doc_end, command.clarification_deadline, command.bid_deadline
    )
    check_key_times(times, rules.for_procedure(Procedure(project.procedure)), now)
    has_documents = (
        await session.execute(
            select(TenderDocument.id).where(TenderDocument.project_id == project.id).limit(1)
        )
    ).scalar_one_or_none()
    if has_documents is None:
        raise Conflict(
            "documents_missing",
            "发布公告前须上传招标文件 (upload the tender documents before announcing)",
        )
    holders = await check_holders(session, project, command.opening_key_holders,
                                  command.opening_threshold)
    notice = Notice(
        project_id=project.id,
        kind=NoticeKind.TENDER.value,
        title=command.title,
        content=command.content,
        published_at=now,
        published_by=principal.user_id,
        doc_start=command.doc_start,
        doc_end=command.doc_end,
        clarification_deadline=command.clarification_deadline,
        bid_deadline=command.bid_deadline,
        opening_place=command.opening_place,
        consortium_allowed=command.consortium_allowed,
        contact=command.contact,
    )
    session.add(notice)
    project.state = ProjectState.ANNOUNCED.value
    sections = await sections_of(session, project.id)
    for section in sections:
        section.state = SectionState.TENDERING.value
        section.bid_deadline = command.bid_deadline
    await session.flush()
    await append_event(
        session,
        actor=principal.actor,
        at=now,
        aggregate_type="project",
        aggregate_id=project.id,
        project_id=project.id,
        type="notice.published",
        payload={
            "notice_id": notice.id,
            "kind": notice.kind,
            "title": notice.title,
            "content": notice.content,
            "project_code": project.code,
            "doc_start": isoformat_utc(command.doc_start),
            "doc_end": isoformat_utc(command.doc_end),
            "clarification_deadline": isoformat_utc(command.clarification_deadline),
            "bid_deadline": isoformat_utc(command.bid_deadline),
            "opening_place": command.opening_place,
            "consortium_allowed": command.consortium_allowed,
            "contact": command.contact,
            "sections": [section_facts(section) for section in sections],
        },
        report_as=ReportSet.NOTICE,
    )
    await create_opening_keys(session, actor=principal.actor, at=now, project=project,
                              sections=sections, holders=holders,
                              threshold=command.opening_threshold)
    return notice


async def tender_notice(session: AsyncSession, project_id: int) -> Notice | None:
    return (
        await session.execute(
            select(Notice).where(
                Notice.project_id == project_id, Notice.kind == NoticeKind.TENDER.value
            )
        )
    ).scalar_one_or_none()


_notices = Notice.__table__
_projects = Project.__table__

#: The public notice list, newest first by the key (published_at, id), built once: plain Core
#: columns (no ORM entities, and never a notice's content, which can be long), a join on the
#: project's primary key, and the ``ix_notices_published`` index for the order and the keyset.
_PUBLIC_NOTICES = (
    select(
        _notices.c.id,
        _notices.c.project_id,
        _projects.c.code.label("project_code"),
        _projects.c.name.label("project_name"),
        _notices.c.kind,
        _notices.c.title,
        _notices.c.published_at,
        _notices.c.bid_deadline,
    )
    .select_from(_notices.join(_projects, _projects.c.id == _notices.c.project_id))
    .order_by(_notices.c.published_at.desc(), _notices.c.id.desc())
    .limit(bindparam("limit", type_=Integer()))
)
_PUBLIC_NOTICES_BEFORE = _PUBLIC_NOTICES.where(
    tuple_(_notices.c.published_at, _notices.c.id)
    < tuple_(
        bindparam("before_at", type_=_notices.c.published_at.type),
        bindparam("before_id", type_=Integer()),
    )
)


#: The names of a row's columns: the fields of ``NoticeOut``, in its order.
PUBLIC_NOTICE_FIELDS: tuple[str, ...] = tuple(_PUBLIC_NOTICES.selected_columns.keys())


def list_public_notices(
    connection: Connection, *, before: tuple[datetime, int] | None, limit: int
) -> Sequence[Row[Any]]:
    """Newest first, paged by the key (published_at, id): stable under concurrent inserts.

    Synchronous, for ``Database.read_once`` (the list is the hottest public read). Rows of
    ``PUBLIC_NOTICE_FIELDS``: (id, project_id, project_code, project_name, kind, title,
    published_at, bid_deadline).
    """
    if before is None:
        result = connection.execute(_PUBLIC_NOTICES, {"limit": limit})
    else:
        result = connection.execute(
            _PUBLIC_NOTICES_BEFORE,
            {"limit": limit, "before_at": before[0], "before_id": before[1]},
        )
    return result.all()


async def public_notice(
    session: AsyncSession, notice_id: int
) -> tuple[Notice, Project, list[Section]]:
    row = (
        await session.execute(
            select(Notice, Project)
            .join(Project, Project.id == Notice.project_id)
            .where(Notice.id == notice_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("notice_not_found", "公告不存在 (no such notice)")
    notice, project = row
    return notice, project, await sections_of(session, project.id)
