"""Who may see and run which project: checked on every command and query.

A caller that may not see a project gets ``not_found`` (its existence is not revealed); one that
may see it but not act gets ``forbidden``.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Forbidden, NotFound
from tradesys.identity.principal import Principal
from tradesys.identity.roles import ROLE_GRANTS, Grant, Role
from tradesys.procurement.entrustment import GrantStatus
from tradesys.procurement.kinds import ProjectState
from tradesys.procurement.models import Project, ProjectGrant


class Action(StrEnum):
    VIEW = "view"  # see the project's full file
    MANAGE = "manage"  # run the tender: announce, documents, answers, clarifications
    CANCEL = "cancel"  # terminate the tender


async def grants_of(session: AsyncSession, project_id: int, org_id: int) -> set[Grant]:
    rows = (
        await session.execute(
            select(ProjectGrant.grant).where(
                ProjectGrant.project_id == project_id, ProjectGrant.org_id == org_id,
                # A grant awaiting (or refused) the organisation's consent gives nothing.
                ProjectGrant.status == GrantStatus.ACTIVE.value,
            )
        )
    ).scalars()
    return {Grant(value) for value in rows}


async def supervises(session: AsyncSession, principal: Principal, project_id: int) -> bool:
    """A supervisor whose department was granted the project (tradesys/procurement/supervisors.py):
    the only supervisors who follow its evaluation and award."""
    return principal.role is Role.SUPERVISOR and Grant.SUPERVISOR in await grants_of(
        session, project_id, principal.org_id)


def _not_found() -> NotFound:
    return NotFound("project_not_found", "项目不存在 (no such project)")


async def authorize_project(
    session: AsyncSession,
    principal: Principal,
    project_id: int,
    action: Action,
    *,
    for_update: bool = False,
) -> Project:
    query = select(Project).where(Project.id == project_id)
    if for_update:
        query = query.with_for_update()
    project = (await session.execute(query)).scalar_one_or_none()
    if project is None:
        raise _not_found()
    held = await grants_of(session, project.id, principal.org_id)
    usable = held & ROLE_GRANTS[principal.role]
    visible = (
        bool(usable)
        # A supervisor sees only what its department was granted (procurement/supervisors.py).
        or principal.role is Role.ADMIN
        # Once announced, a project is public to bidders (its notice is public anyway).
        or (principal.role is Role.BIDDER and project.state != ProjectState.REGISTERED)
    )
    if not visible:
        raise _not_found()
    if action is Action.VIEW:
        return project
    managers = {Grant.HOST} if project.agency_org_id is not None else {Grant.OWNER}
    allowed = managers | ({Grant.OWNER} if action is Action.CANCEL else set())
    if not usable & allowed:
        raise Forbidden("not_project_manager",
                        "无权操作该项目：须由受托代理机构（或自行招标的招标人）操作 "
                        "(only the entrusted agency, or the procurer running its own tender, "
                        "may do this)")
    return project
