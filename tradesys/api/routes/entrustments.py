"""Entrustment (委托): standing entrustments, and answering the projects that name us."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradesys.api.routing import Call, Result, Router
from tradesys.api.schemas import (
    EntrustmentRequestList,
    EntrustmentRequestOut,
    OrganisationRef,
    ProjectOut,
    StandingEntrustmentList,
    StandingEntrustmentOut,
)
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.procurement import entrustment
from tradesys.procurement.commands import RegisterStandingEntrustment
from tradesys.procurement.models import StandingEntrustment
from tradesys.procurement.projects import sections_of

router = Router()


def _standing_out(standing: StandingEntrustment, org: Organisation) -> StandingEntrustmentOut:
    return StandingEntrustmentOut(
        id=standing.id, created_at=standing.created_at,
        counterpart=OrganisationRef(name=org.name, credit_code=org.credit_code))


def _standing_list(rows: list[tuple[StandingEntrustment, Organisation]]
                   ) -> StandingEntrustmentList:
    return StandingEntrustmentList(items=[_standing_out(standing, org) for standing, org in rows])


@router.endpoint(
    "POST",
    "/entrustments",
    summary="登记长期委托 (consent in advance to the projects an organisation registers "
            "naming yours)",
    tag="entrustment",
    body=RegisterStandingEntrustment,
    response=StandingEntrustmentOut,
    status=201,
)
async def register_standing(call: Call) -> Response:
    async def work(session: AsyncSession, principal: Principal) -> Result:
        standing, org = await entrustment.register_standing(
            session, principal, call.body.counterpart_credit_code, call.now)
        return _standing_out(standing, org)

    return await call.command(work, status=201)


@router.endpoint(
    "GET",
    "/entrustments",
    summary="本机构的长期委托 (the caller's organisation's standing entrustments in force)",
    tag="entrustment",
    response=StandingEntrustmentList,
)
async def list_standing(call: Call) -> Result:
    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await entrustment.list_standing(session, principal)
        return _standing_list(rows)

    return await call.read(work)


@router.endpoint(
    "POST",
    "/entrustments/{entrustment_id:int}/revoke",
    summary="撤销长期委托 (revoke a standing entrustment; projects already registered keep "
            "their grants)",
    tag="entrustment",
    response=StandingEntrustmentList,
)
async def revoke_standing(call: Call) -> Response:
    entrustment_id = call.path_int("entrustment_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        await entrustment.revoke_standing(session, principal, entrustment_id, call.now)
        rows = await entrustment.list_standing(session, principal)
        return _standing_list(rows)

    return await call.command(work)


@router.endpoint(
    "GET",
    "/entrustment-requests",
    summary="待确认的委托 (projects naming the caller's organisation that await its answer)",
    tag="entrustment",
    response=EntrustmentRequestList,
)
async def list_requests(call: Call) -> Result:
    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        requests = await entrustment.requests_for(session, principal)
        return EntrustmentRequestList(items=[
            EntrustmentRequestOut(
                project_id=item.project.id, project_code=item.project.code,
                project_name=item.project.name, grant=item.grant.grant,
                registered_at=item.project.created_at,
                requested_by=OrganisationRef(name=item.requested_by.name,
                                             credit_code=item.requested_by.credit_code))
            for item in requests])

    return await call.read(work)


async def _answer(call: Call, decide: entrustment.Decision) -> Response:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        project = await decide(session, principal, project_id, call.now)
        return ProjectOut.of(project, await sections_of(session, project.id),
                             await entrustment.entrustment_state(session, project))

    return await call.command(work)


@router.endpoint(
    "POST",
    "/projects/{project_id:int}/entrustment/accept",
    summary="接受委托 (accept the entrustment: the project becomes yours to see and can be "
            "announced)",
    tag="entrustment",
    response=ProjectOut,
)
async def accept_entrustment(call: Call) -> Response:
    return await _answer(call, entrustment.accept)


@router.endpoint(
    "POST",
    "/projects/{project_id:int}/entrustment/decline",
    summary="拒绝委托 (decline the entrustment: final; the project can only be cancelled)",
    tag="entrustment",
    response=ProjectOut,
)
async def decline_entrustment(call: Call) -> Response:
    return await _answer(call, entrustment.decline)
