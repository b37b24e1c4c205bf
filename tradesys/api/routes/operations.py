"""The operator console's operations (平台运维): readiness and background tasks, replaying dead
letters, and which supervising departments may see a project. Admin only.

The relay's backlog and dead letters themselves are ``GET /platform/status`` (routes/platform.py),
which the console reads as it is.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradesys.api.console_schemas import (
    BackgroundOut,
    OperationsStatusOut,
    ReadinessOut,
    RelayOut,
    ReplayOut,
    SupervisorGrantListOut,
    SupervisorGrantOut,
)
from tradesys.api.routing import Call, Result, Router
from tradesys.events.log import append_event
from tradesys.identity.commands import GrantSupervisor, Replay
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement import supervisors
from tradesys.reporting.relay import requeue_dead

router = Router()


def _admin(call: Call) -> Principal:
    assert call.principal is not None
    call.principal.require_role(Role.ADMIN)
    return call.principal


async def _readiness(call: Call) -> ReadinessOut:
    """What /readyz checks (the database answers, the event chain is there), with its head."""
    try:
        async with call.services.db.reading() as session:
            seq = (await session.execute(text("SELECT seq FROM event_chain_head"))).scalar()
    except Exception:  # any failure to reach the database is "not ready", never a 500
        return ReadinessOut(status="unavailable", database="unreachable", event_chain_seq=None)
    return ReadinessOut(status="ready", database="ok",
                        event_chain_seq=None if seq is None else int(seq))


@router.endpoint("GET", "/operations/status",
                 summary="运行状态 (readiness, the scheduler and the report relay; admin)",
                 tag="operations", response=OperationsStatusOut)
async def operations_status(call: Call) -> Result:
    _admin(call)
    state = call.request.app.state
    scheduler = getattr(state, "scheduler", None)
    relay = getattr(state, "relay", None)
    return OperationsStatusOut(
        checked_at=call.now,
        readiness=await _readiness(call),
        scheduler=BackgroundOut(
            configured=scheduler is not None,
            running=bool(scheduler is not None and scheduler.running),
            interval_seconds=None if scheduler is None else scheduler.interval,
            passes=None if scheduler is None else scheduler.passes,
            last_pass_at=None if scheduler is None else scheduler.last_pass_at),
        relay=RelayOut(
            configured=relay is not None,
            running=bool(relay is not None and relay.running),
            interval_seconds=None if relay is None else relay.interval,
            delivered=None if relay is None else relay.stats.delivered,
            dead_lettered=None if relay is None else relay.stats.dead_lettered,
            last_error=None if relay is None else relay.stats.last_error))


@router.endpoint("POST", "/operations/replay",
                 summary="重新报送死信 (re-queue dead-lettered reports, all or one project's; "
                 "admin)", tag="operations", body=Replay, response=ReplayOut)
async def replay_dead_letters(call: Call) -> Response:
    body: Replay = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        principal.require_role(Role.ADMIN)
        count = await requeue_dead(session, call.now, project_id=body.project_id)
        await append_event(session, actor=principal.actor, at=call.now,
                           aggregate_type="platform", aggregate_id=0,
                           type="platform.dead_letters_replayed",
                           payload={"project_id": body.project_id, "requeued": count})
        return ReplayOut(requeued=count)

    # After the commit the relay is woken (commit listeners): the rows go out at once.
    return await call.command(work)


def _grant_out(grant: supervisors.SupervisorGrant) -> SupervisorGrantOut:
    return SupervisorGrantOut(org_id=grant.org_id, name=grant.name,
                              credit_code=grant.credit_code, granted_at=grant.granted_at)


@router.endpoint("GET", "/projects/{project_id:int}/supervisors",
                 summary="项目监督授权 (the supervising departments that may see the project; "
                 "admin)", tag="operations", response=SupervisorGrantListOut)
async def list_supervisors(call: Call) -> Result:
    project_id = call.path_int("project_id")
    _admin(call)

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        grants = await supervisors.grants_of_project(session, project_id)
        return SupervisorGrantListOut(project_id=project_id,
                                      items=[_grant_out(g) for g in grants])

    return await call.read(work)


@router.endpoint("POST", "/projects/{project_id:int}/supervisors",
                 summary="授予监督部门查看项目 (let a supervising department see the project; "
                 "admin)", tag="operations", body=GrantSupervisor, response=SupervisorGrantOut,
                 status=201)
async def grant_supervisor(call: Call) -> Response:
    project_id = call.path_int("project_id")
    body: GrantSupervisor = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        principal.require_role(Role.ADMIN)
        grant = await supervisors.grant(session, project_id=project_id, org_id=body.org_id,
                                        actor=principal.actor, at=call.now)
        return _grant_out(grant)

    return await call.command(work, status=201)


@router.endpoint("DELETE", "/projects/{project_id:int}/supervisors/{org_id:int}",
                 summary="收回监督查看权 (take a supervising department's grant back; admin)",
                 tag="operations")
async def revoke_supervisor(call: Call) -> Response:
    project_id = call.path_int("project_id")
    org_id = call.path_int("org_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        principal.require_role(Role.ADMIN)
        await supervisors.revoke(session, project_id=project_id, org_id=org_id,
                                 actor=principal.actor, at=call.now)
        return {"ok": True}

    return await call.command(work)
