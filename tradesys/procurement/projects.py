"""Registering (项目登记) and cancelling (终止) tender projects, and reading them back."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict, Invalid
from tradesys.events.log import append_event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import ROLE_GRANTS, Grant, Role
from tradesys.procurement.access import Action, authorize_project
from tradesys.procurement.commands import Cancel, RegisterProject
from tradesys.procurement.entrustment import GrantStatus, has_standing_consent, unsettled_grant
from tradesys.procurement.kinds import NoticeKind, ProjectState, ReportSet, SectionState
from tradesys.procurement.models import Notice, Project, ProjectGrant, Section


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


async def _org_by_code(session: AsyncSession, code: str, what: str) -> Organisation:
    org = (
        await session.execute(select(Organisation).where(Organisation.credit_code == code))
    ).scalar_one_or_none()
    if org is None:
        raise Invalid(
            f"unknown_{what}",
            f"未找到统一社会信用代码为 {code} 的机构 "
            f"(no registered organisation has the credit code {code})",
        )
    return org


def project_facts(
    project: Project, sections: list[Section], orgs: dict[int, Organisation]
) -> dict[str, Any]:
    """What registration records: everything TENDER_PROJECT reports, nothing confidential."""
    procurer = orgs[project.procurer_org_id]
    agency = orgs.get(project.agency_org_id) if project.agency_org_id else None
    return {
        "code": project.code,
        "name": project.name,
        "trade_type": project.trade_type,
        "category": project.category,
        "procedure": project.procedure,
        "region_code": project.region_code,
        "content": project.content,
        "owner_name": project.owner_name,
        "procurer": {"id": procurer.id, "name": procurer.name, "credit_code": procurer.credit_code},
        "agency": None
        if agency is None
        else {"id": agency.id, "name": agency.name, "credit_code": agency.credit_code},
        "approval_number": project.approval_number,
        "approval_dept_name": project.approval_dept_name,
        "supervise_dept_name": project.supervise_dept_name,
        "sections": [section_facts(section) for section in sections],
    }


def section_facts(section: Section) -> dict[str, Any]:
    return {
        "id": section.id,
        "code": section.code,
        "lot_no": section.lot_no,
        "name": section.name,
        "content": section.content,
        "budget": money(section.budget),
        "ceiling_price": money(section.ceiling_price),
        "bid_security": money(section.bid_security),
    }


async def register_project(
    session: AsyncSession, principal: Principal, command: RegisterProject, now: datetime
) -> Project:
    principal.require_role(Role.PROCURER, Role.AGENCY)
    if principal.role is Role.AGENCY:
        if command.procurer_credit_code is None:
            raise Invalid(
                "procurer_required",
                "代理机构登记项目须提供招标人的统一社会信用代码 "
                "(an agency must name the procurer by its credit code)",
            )
        if command.agency_credit_code is not None:
            raise Invalid(
                "agency_is_caller",
                "代理机构登记时不应再指定代理机构 (the registering agency is the project's agency)",
            )
        procurer = await _org_by_code(session, command.procurer_credit_code, "procurer")
        procurer_id, agency_id = procurer.id, principal.org_id
    else:
        if command.procurer_credit_code is not None:
            raise Invalid(
                "procurer_is_caller",
                "招标人登记时不应再指定招标人 (the registering procurer is the project's procurer)",
            )
        procurer_id = principal.org_id
        agency_id = None
        if command.agency_credit_code is not None:
            agency_id = (await _org_by_code(session, command.agency_credit_code, "agency")).id
    if procurer_id == agency_id:
        raise Invalid(
            "agency_is_procurer",
            "招标人与代理机构不能是同一机构 (the procurer and the agency must differ)",
        )
    project = Project(
        code=f"tmp-{uuid.uuid4().hex}",
        name=command.name,
        trade_type=command.trade_type.value,
        category=command.category.value,
        procedure=command.procedure.value,
        region_code=command.region_code,
        content=command.content,
        owner_name=command.owner_name,
        procurer_org_id=procurer_id,
        agency_org_id=agency_id,
        approval_number=command.approval_number,
        approval_dept_name=command.approval_dept_name,
        supervise_dept_name=command.supervise_dept_name,
        state=ProjectState.REGISTERED.value,
        created_by=principal.user_id,
        created_at=now,
    )
    session.add(project)
    await session.flush()
    # E + region + year + serial: unique, stable, and readable on the phone.
    project.code = f"E{command.region_code}{now.year:04d}{project.id:06d}"
    sections = []
    for lot_no, section_in in enumerate(command.sections, start=1):
        section = Section(
            project_id=project.id,
            code=f"{project.code}{lot_no:03d}",
            lot_no=lot_no,
            name=section_in.name,
            content=section_in.content,
            budget=section_in.budget,
            ceiling_price=section_in.ceiling_price,
            bid_security=section_in.bid_security,
            state=SectionState.REGISTERED.value,
        )
        session.add(section)
        sections.append(section)
    # The organisation the caller names has to agree (委托 is mutual): its grant stays pending
    # until it accepts, unless it has a standing entrustment for the caller's organisation.
    named_id = procurer_id if principal.role is Role.AGENCY else agency_id
    consent = None
    if named_id is not None:
        standing = await has_standing_consent(session, named_id, principal.org_id)
        consent = "standing" if standing else "pending"
    grant_status = {procurer_id: GrantStatus.ACTIVE, agency_id: GrantStatus.ACTIVE}
    if named_id is not None and consent == "pending":
        grant_status[named_id] = GrantStatus.PENDING
    session.add(
        ProjectGrant(
            project_id=project.id, org_id=procurer_id, grant=Grant.OWNER.value, created_at=now,
            status=grant_status[procurer_id].value,
        )
    )
    if agency_id is not None:
        session.add(
            ProjectGrant(
                project_id=project.id, org_id=agency_id, grant=Grant.HOST.value, created_at=now,
                status=grant_status[agency_id].value,
            )
        )
    await session.flush()
    org_ids = [procurer_id] + ([agency_id] if agency_id else [])
    orgs = {
        org.id: org
        for org in (
            await session.execute(select(Organisation).where(Organisation.id.in_(org_ids)))
        ).scalars()
    }
    await append_event(
        session,
        actor=principal.actor,
        at=now,
        aggregate_type="project",
        aggregate_id=project.id,
        project_id=project.id,
        type="project.registered",
        payload={**project_facts(project, sections, orgs), "entrustment": consent},
        # Reported once both organisations agree: at once with a standing entrustment (or none
        # needed), else when the named one accepts (entrustment.accept).
        report_as=ReportSet.TENDER_PROJECT if consent != "pending" else None,
    )
    return project


async def cancel_project(
    session: AsyncSession, principal: Principal, project_id: int, command: Cancel, now: datetime
) -> Notice:
    """Terminate the tender (终止招标) and publish a termination notice.

    Allowed until the bid deadline; after it, the opening decides (a later issue).
    """
    project = await authorize_project(
        session, principal, project_id, Action.CANCEL, for_update=True
    )
    if project.state == ProjectState.CANCELLED:
        raise Conflict("already_cancelled", "项目已终止 (the project is already cancelled)")
    sections = await sections_of(session, project.id)
    if any(section.state == SectionState.CLOSED for section in sections):
        raise Conflict(
            "bidding_closed",
            "投标已截止，不能在此终止 (bidding has closed; the opening decides what happens next)",
        )
    # A registration never reported (the named organisation did not accept) is not followed
    # by a report of its cancellation: the platform never heard of the project.
    reported = await unsettled_grant(session, project.id) is None
    project.state = ProjectState.CANCELLED.value
    project.cancelled_at = now
    project.cancel_reason = command.reason
    for section in sections:
        section.state = SectionState.CANCELLED.value
    notice = Notice(
        project_id=project.id,
        kind=NoticeKind.TERMINATION.value,
        title=f"{project.name} 终止公告",
        content=command.reason,
        published_at=now,
        published_by=principal.user_id,
        consortium_allowed=False,
    )
    session.add(notice)
    await session.flush()
    await append_event(
        session,
        actor=principal.actor,
        at=now,
        aggregate_type="project",
        aggregate_id=project.id,
        project_id=project.id,
        type="project.cancelled",
        payload={
            "code": project.code,
            "reason": command.reason,
            "notice_id": notice.id,
            "title": notice.title,
            "section_codes": [section.code for section in sections],
        },
        report_as=ReportSet.NOTICE if reported else None,
    )
    return notice


async def sections_of(session: AsyncSession, project_id: int) -> list[Section]:
    return list(
        (
            await session.execute(
                select(Section).where(Section.project_id == project_id).order_by(Section.lot_no)
            )
        ).scalars()
    )


async def get_project(
    session: AsyncSession, principal: Principal, project_id: int
) -> tuple[Project, list[Section]]:
    project = await authorize_project(session, principal, project_id, Action.VIEW)
    return project, await sections_of(session, project.id)


async def list_projects(
    session: AsyncSession, principal: Principal, *, after_id: int | None, limit: int
) -> list[Project]:
    """The projects the caller works on (by grant), newest first; all for the admin. A
    supervisor's are those its department was granted (procurement/supervisors.py).

    A bidder works on every project with a public notice (announced, or terminated after it):
    the ones it obtained documents for or bid on are among them, marked by the caller
    (``documents.obtained_projects``, ``bids.submission.bid_projects``)."""
    query = select(Project).order_by(Project.id.desc()).limit(limit)
    if after_id is not None:
        query = query.where(Project.id < after_id)
    if principal.role is Role.BIDDER:
        query = query.where(Project.state != ProjectState.REGISTERED.value)
    elif principal.role is not Role.ADMIN:
        grants = [grant.value for grant in ROLE_GRANTS[principal.role]]
        if not grants:
            return []
        query = query.where(
            Project.id.in_(
                select(ProjectGrant.project_id).where(
                    ProjectGrant.org_id == principal.org_id, ProjectGrant.grant.in_(grants),
                    ProjectGrant.status == GrantStatus.ACTIVE.value,
                )
            )
        )
    return list((await session.execute(query)).scalars())
