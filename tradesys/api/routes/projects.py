"""Projects: registration, the caller's list, one project's file, announcement, cancellation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradesys.api.pagination import PAGE, cursor_id, decode_cursor, encode_cursor, parse_limit
from tradesys.api.routing import Call, Result, Router
from tradesys.api.schemas import (
    MilestoneOut,
    NoticeDetail,
    ProjectOut,
    ProjectPage,
    ProjectSummary,
    TimelineOut,
)
from tradesys.bids import submission
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement import documents, entrustment, notices, projects, timeline
from tradesys.procurement.commands import Announce, Cancel, RegisterProject

router = Router()


@router.endpoint(
    "POST",
    "/projects",
    summary="项目登记 (register a tender project)",
    tag="projects",
    body=RegisterProject,
    response=ProjectOut,
    status=201,
)
async def register_project(call: Call) -> Response:
    async def work(session: AsyncSession, principal: Principal) -> Result:
        project = await projects.register_project(session, principal, call.body, call.now)
        return ProjectOut.of(project, await projects.sections_of(session, project.id),
                             await entrustment.entrustment_state(session, project))

    return await call.command(work, status=201)


@router.endpoint(
    "GET",
    "/projects",
    summary="我的项目 (projects the caller works on)",
    tag="projects",
    response=ProjectPage,
    params=PAGE,
)
async def list_projects(call: Call) -> Result:
    cursor = decode_cursor(call.query("cursor"))
    after_id = cursor_id(cursor[0]) if cursor else None
    limit = parse_limit(call.query("limit"))

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await projects.list_projects(session, principal, after_id=after_id, limit=limit + 1)
        shown = [p.id for p in rows[:limit]]
        obtained: set[int] = set()
        bid: set[int] = set()
        if principal.role is Role.BIDDER:
            obtained = await documents.obtained_projects(session, principal.org_id, shown)
            bid = await submission.bid_projects(session, principal.org_id, shown)
        items = [
            ProjectSummary(
                id=p.id,
                code=p.code,
                name=p.name,
                procedure=p.procedure,
                state=p.state,
                created_at=p.created_at,
                marks=[mark for mark, on in (("obtained", p.id in obtained), ("bid", p.id in bid))
                       if on],
            )
            for p in rows[:limit]
        ]
        more = len(rows) > limit
        return ProjectPage(items=items, next_cursor=encode_cursor([items[-1].id]) if more else None)

    return await call.read(work)


@router.endpoint(
    "GET",
    "/projects/{project_id:int}",
    summary="项目详情 (one project)",
    tag="projects",
    response=ProjectOut,
)
async def get_project(call: Call) -> Result:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        project, sections = await projects.get_project(session, principal, project_id)
        return ProjectOut.of(project, sections,
                             await entrustment.entrustment_state(session, project))

    return await call.read(work)


@router.endpoint(
    "GET",
    "/projects/{project_id:int}/timeline",
    summary="项目时间线 (the project's milestones; its parties and supervisors)",
    tag="projects",
    response=TimelineOut,
)
async def get_timeline(call: Call) -> Result:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        items = await timeline.project_timeline(session, principal, project_id)
        return TimelineOut(project_id=project_id, items=[
            MilestoneOut(seq=m.seq, type=m.type, label=m.label, occurred_at=m.occurred_at)
            for m in items])

    return await call.read(work)


@router.endpoint(
    "POST",
    "/projects/{project_id:int}/announce",
    summary="发布招标公告 (publish the tender notice)",
    tag="projects",
    body=Announce,
    response=NoticeDetail,
    status=201,
)
async def announce(call: Call) -> Response:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        notice = await notices.announce(
            session, principal, project_id, call.body, call.now, call.services.rules
        )
        notice, project, sections = await notices.public_notice(session, notice.id)
        return NoticeDetail.of(notice, project, sections)

    return await call.command(work, status=201)


@router.endpoint(
    "POST",
    "/projects/{project_id:int}/cancel",
    summary="终止招标 (cancel the tender; publishes a termination notice)",
    tag="projects",
    body=Cancel,
    response=NoticeDetail,
)
async def cancel(call: Call) -> Response:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        notice = await projects.cancel_project(session, principal, project_id, call.body, call.now)
        notice, project, sections = await notices.public_notice(session, notice.id)
        return NoticeDetail.of(notice, project, sections)

    return await call.command(work)
