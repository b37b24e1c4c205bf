"""Which supervising departments (行政监督部门) may see a project: per-project grants the platform
operator gives and takes back.

Why: supervision follows jurisdiction. A supervisor sees the projects its department was granted
(``ProjectGrant`` with grant ``supervisor``, the same row the evaluation's avoidance rules read as
the project's supervisors) and no other: tradesys/procurement/access.py answers ``not_found`` for
the rest, exactly as for any other party without a grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict, NotFound
from tradesys.events.log import Actor, append_event
from tradesys.identity.models import Organisation, User
from tradesys.identity.roles import Grant, Role
from tradesys.procurement.entrustment import GrantStatus
from tradesys.procurement.models import Project, ProjectGrant


@dataclass(frozen=True)
class SupervisorGrant:
    org_id: int
    name: str
    credit_code: str
    granted_at: datetime


async def _project(session: AsyncSession, project_id: int) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound("project_not_found", "项目不存在 (no such project)")
    return project


async def grants_of_project(session: AsyncSession, project_id: int) -> list[SupervisorGrant]:
    await _project(session, project_id)
    rows = await session.execute(
        select(Organisation.id, Organisation.name, Organisation.credit_code,
               ProjectGrant.created_at)
        .join(ProjectGrant, ProjectGrant.org_id == Organisation.id)
        .where(ProjectGrant.project_id == project_id,
               ProjectGrant.grant == Grant.SUPERVISOR.value)
        .order_by(Organisation.id))
    return [SupervisorGrant(*row) for row in rows.all()]


async def grant(session: AsyncSession, *, project_id: int, org_id: int, actor: Actor,
                at: datetime) -> SupervisorGrant:
    """Let the department's supervisors see the project. The organisation must have a
    supervisor user: a grant to a procurer or a bidder would give nothing, silently."""
    await _project(session, project_id)
    org = await session.get(Organisation, org_id)
    if org is None:
        raise NotFound("organisation_not_found", "机构不存在 (no such organisation)")
    supervises = (await session.execute(
        select(User.id).where(User.org_id == org_id, User.role == Role.SUPERVISOR.value)
        .limit(1))).scalar_one_or_none()
    if supervises is None:
        raise Conflict("not_a_supervising_organisation",
                       "该机构没有监督部门用户，不能授予项目查看权 (the organisation has no "
                       "supervisor user)")
    existing = (await session.execute(
        select(ProjectGrant).where(ProjectGrant.project_id == project_id,
                                   ProjectGrant.org_id == org_id,
                                   ProjectGrant.grant == Grant.SUPERVISOR.value))
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict("already_granted", "该监督部门已可查看此项目 (already granted)")
    row = ProjectGrant(project_id=project_id, org_id=org_id, grant=Grant.SUPERVISOR.value,
                       created_at=at, status=GrantStatus.ACTIVE.value)
    session.add(row)
    await session.flush()
    await append_event(session, actor=actor, at=at, aggregate_type="project",
                       aggregate_id=project_id, project_id=project_id,
                       type="project.supervisor_granted",
                       payload={"org_id": org_id, "credit_code": org.credit_code})
    return SupervisorGrant(org.id, org.name, org.credit_code, at)


async def revoke(session: AsyncSession, *, project_id: int, org_id: int, actor: Actor,
                 at: datetime) -> None:
    """Take the grant back; the event log keeps that it was given and when it ended."""
    await _project(session, project_id)
    result = await session.execute(
        delete(ProjectGrant).where(ProjectGrant.project_id == project_id,
                                   ProjectGrant.org_id == org_id,
                                   ProjectGrant.grant == Grant.SUPERVISOR.value))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("grant_not_found", "该监督部门没有此项目的查看权 (no such grant)")
    await append_event(session, actor=actor, at=at, aggregate_type="project",
                       aggregate_id=project_id, project_id=project_id,
                       type="project.supervisor_revoked", payload={"org_id": org_id})
