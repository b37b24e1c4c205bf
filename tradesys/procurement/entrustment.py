"""Entrustment (委托) is mutual: a project names another organisation only once it agrees.

A tender project joins two organisations: the procurer (招标人, grant ``owner``) and, when it
does not run its own tender, the agency it entrusts (招标代理机构, grant ``host``). Whichever of the
two registers the project names the other by its public credit code, so without consent any
agency could announce a tender in a procurer's name, and any procurer could make an agency host
one. Here the named organisation's grant is *pending* until one of its users accepts (or
*declined*), unless it has a standing entrustment in force for the registering organisation.

While a grant is pending or declined: the named organisation neither sees the project nor has it
in its list (it sees the request, in :func:`requests_for`); the project cannot be announced; and
its registration is not reported to the public service platform (reported on acceptance), so no
public record names an organisation that did not agree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict, Invalid, NotFound
from tradesys.events.log import append_event, queue_report
from tradesys.events.models import Event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import ROLE_GRANTS, Grant, Role
from tradesys.procurement.kinds import ProjectState, ReportSet
from tradesys.procurement.models import Project, ProjectGrant, StandingEntrustment


class GrantStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    DECLINED = "declined"


#: accept or decline: (session, principal, project id, now) → the project.
Decision = Callable[[AsyncSession, Principal, int, datetime], Awaitable[Project]]


@dataclass(frozen=True)
class EntrustmentRequest:
    """A project awaiting the caller's organisation's consent."""

    project: Project
    grant: ProjectGrant
    requested_by: Organisation


async def has_standing_consent(session: AsyncSession, org_id: int, counterpart_id: int) -> bool:
    """Whether ``org_id`` has a standing entrustment in force for ``counterpart_id``."""
    row = (
        await session.execute(
            select(StandingEntrustment.id).where(
                StandingEntrustment.org_id == org_id,
                StandingEntrustment.counterpart_org_id == counterpart_id,
                StandingEntrustment.revoked_at.is_(None),
            ).limit(1)
        )
    ).scalar_one_or_none()
    return row is not None


async def unsettled_grant(session: AsyncSession, project_id: int) -> ProjectGrant | None:
    """The project's grant still awaiting (or refused) consent, if any."""
    return (
        await session.execute(
            select(ProjectGrant).where(
                ProjectGrant.project_id == project_id,
                ProjectGrant.status != GrantStatus.ACTIVE.value,
            ).limit(1)
        )
    ).scalar_one_or_none()


async def require_settled(session: AsyncSession, project_id: int) -> None:
    """Refuse what needs both organisations' agreement (announcing) while it is missing."""
    grant = await unsettled_grant(session, project_id)
    if grant is None:
        return
    if grant.status == GrantStatus.DECLINED:
        raise Conflict(
            "entrustment_declined",
            "被委托方已拒绝该项目的委托，项目不能发布，只能终止 "
            "(the named organisation declined the entrustment: the project can only be "
            "cancelled)",
        )
    raise Conflict(
        "entrustment_pending",
        "该项目所列的另一方机构尚未接受委托，暂不能发布 "
        "(the organisation this project names has not accepted the entrustment yet)",
    )


def _require_party(principal: Principal) -> None:
    principal.require_role(Role.PROCURER, Role.AGENCY)


async def _org(session: AsyncSession, credit_code: str) -> Organisation:
    org = (
        await session.execute(select(Organisation).where(Organisation.credit_code == credit_code))
    ).scalar_one_or_none()
    if org is None:
        raise Invalid(
            "unknown_counterpart",
            f"未找到统一社会信用代码为 {credit_code} 的机构 "
            f"(no registered organisation has the credit code {credit_code})",
        )
    return org


async def register_standing(
    session: AsyncSession, principal: Principal, counterpart_credit_code: str, now: datetime
) -> tuple[StandingEntrustment, Organisation]:
    """The caller's organisation consents in advance to every project ``counterpart`` registers
    naming it (revocable; affects projects registered while in force)."""
    _require_party(principal)
    counterpart = await _org(session, counterpart_credit_code)
    if counterpart.id == principal.org_id:
        raise Invalid("counterpart_is_caller",
                      "不能委托本机构自身 (an organisation cannot entrust itself)")
    if await has_standing_consent(session, principal.org_id, counterpart.id):
        raise Conflict("already_entrusted",
                       "已存在对该机构的长期委托 (a standing entrustment for this organisation "
                       "is already in force)")
    standing = StandingEntrustment(org_id=principal.org_id, counterpart_org_id=counterpart.id,
                                   created_by=principal.user_id, created_at=now)
    session.add(standing)
    await session.flush()
    await append_event(
        session, actor=principal.actor, at=now, aggregate_type="entrustment",
        aggregate_id=standing.id, type="entrustment.registered",
        payload={"org_id": principal.org_id, "counterpart_org_id": counterpart.id,
                 "counterpart_credit_code": counterpart.credit_code})
    return standing, counterpart


async def list_standing(
    session: AsyncSession, principal: Principal
) -> list[tuple[StandingEntrustment, Organisation]]:
    """The caller's organisation's standing entrustments in force, newest first."""
    _require_party(principal)
    rows = await session.execute(
        select(StandingEntrustment, Organisation)
        .join(Organisation, Organisation.id == StandingEntrustment.counterpart_org_id)
        .where(StandingEntrustment.org_id == principal.org_id,
               StandingEntrustment.revoked_at.is_(None))
        .order_by(StandingEntrustment.id.desc())
    )
    return [(standing, org) for standing, org in rows]


async def revoke_standing(
    session: AsyncSession, principal: Principal, entrustment_id: int, now: datetime
) -> None:
    _require_party(principal)
    standing = (
        await session.execute(
            select(StandingEntrustment).where(
                StandingEntrustment.id == entrustment_id,
                StandingEntrustment.org_id == principal.org_id,
                StandingEntrustment.revoked_at.is_(None),
            ).with_for_update()
        )
    ).scalar_one_or_none()
    if standing is None:
        raise NotFound("entrustment_not_found", "长期委托不存在 (no such standing entrustment)")
    standing.revoked_at = now
    await append_event(session, actor=principal.actor, at=now, aggregate_type="entrustment",
                       aggregate_id=standing.id, type="entrustment.revoked", payload={})


async def requests_for(session: AsyncSession, principal: Principal) -> list[EntrustmentRequest]:
    """Projects that name the caller's organisation and await its answer, newest first."""
    _require_party(principal)
    grants = [grant.value for grant in ROLE_GRANTS[principal.role]]
    rows = (
        await session.execute(
            select(Project, ProjectGrant)
            .join(ProjectGrant, ProjectGrant.project_id == Project.id)
            .where(ProjectGrant.org_id == principal.org_id,
                   ProjectGrant.grant.in_(grants),
                   ProjectGrant.status == GrantStatus.PENDING.value,
                   Project.state != ProjectState.CANCELLED.value)
            .order_by(Project.id.desc())
        )
    ).all()
    out = []
    for project, grant in rows:
        other = project.agency_org_id if grant.grant == Grant.OWNER else project.procurer_org_id
        org = await session.get(Organisation, other)
        assert org is not None
        out.append(EntrustmentRequest(project, grant, org))
    return out


async def _pending_grant(
    session: AsyncSession, principal: Principal, project_id: int
) -> tuple[Project, ProjectGrant]:
    _require_party(principal)
    grants = [grant.value for grant in ROLE_GRANTS[principal.role]]
    row = (
        await session.execute(
            select(Project, ProjectGrant)
            .join(ProjectGrant, ProjectGrant.project_id == Project.id)
            .where(Project.id == project_id, ProjectGrant.org_id == principal.org_id,
                   ProjectGrant.grant.in_(grants),
                   ProjectGrant.status != GrantStatus.ACTIVE.value)
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        # Not named on it, or already accepted: nothing to answer (and nothing revealed).
        raise NotFound("entrustment_request_not_found",
                       "没有待处理的委托请求 (no entrustment request awaits your answer here)")
    project, grant = row
    if project.state == ProjectState.CANCELLED:
        raise Conflict("already_cancelled", "项目已终止 (the project is already cancelled)")
    if grant.status == GrantStatus.DECLINED:
        raise Conflict("entrustment_declined",
                       "已拒绝该委托，不能再更改 (the entrustment was declined; that is final)")
    return project, grant


async def accept(session: AsyncSession, principal: Principal, project_id: int,
                 now: datetime) -> Project:
    """The named organisation accepts: the grant becomes active, the project appears in its
    list and can be announced, and its registration is reported to the platform now."""
    project, grant = await _pending_grant(session, principal, project_id)
    grant.status = GrantStatus.ACTIVE.value
    grant.decided_at = now
    await append_event(session, actor=principal.actor, at=now, aggregate_type="project",
                       aggregate_id=project.id, project_id=project.id,
                       type="project.entrustment_accepted",
                       payload={"org_id": principal.org_id, "grant": grant.grant})
    registration = (
        await session.execute(
            select(Event).where(Event.aggregate_type == "project",
                                Event.aggregate_id == str(project.id),
                                Event.type == "project.registered")
        )
    ).scalar_one()
    await queue_report(session, registration, ReportSet.TENDER_PROJECT, now)
    return project


async def decline(session: AsyncSession, principal: Principal, project_id: int,
                  now: datetime) -> Project:
    """The named organisation refuses: final; the registering one can only cancel."""
    project, grant = await _pending_grant(session, principal, project_id)
    grant.status = GrantStatus.DECLINED.value
    grant.decided_at = now
    await append_event(session, actor=principal.actor, at=now, aggregate_type="project",
                       aggregate_id=project.id, project_id=project.id,
                       type="project.entrustment_declined",
                       payload={"org_id": principal.org_id, "grant": grant.grant})
    return project


async def entrustment_state(session: AsyncSession, project: Project) -> str | None:
    """``pending``, ``declined`` or ``accepted`` for a project that joins a procurer and an
    agency; None for a procurer's own tender (nobody else's consent is involved)."""
    if project.agency_org_id is None:
        return None
    grant = await unsettled_grant(session, project.id)
    return "accepted" if grant is None else grant.status
