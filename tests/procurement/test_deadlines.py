"""投标截止: the scheduler closes bidding at the deadline, from the database, after restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from starlette.applications import Starlette

from tests.support import Flow, Seed
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.events.models import Event
from tradesys.services import Services
from tradesys.settings import Settings


async def _section_states(client: httpx.AsyncClient, seed: Seed, project_id: int) -> set[str]:
    detail = (await client.get(f"/api/v1/projects/{project_id}", headers=seed.agency.auth)).json()
    return {section["state"] for section in detail["sections"]}


async def test_bidding_closes_exactly_at_the_deadline(client: httpx.AsyncClient, flow: Flow,
                                                      seed: Seed, app: Starlette,
                                                      clock: AdjustableClock,
                                                      services: Services) -> None:
    project = await flow.announced()
    clock.advance(timedelta(days=21) - timedelta(microseconds=1))
    await app.state.scheduler.run_once()
    assert await _section_states(client, seed, project["id"]) == {"tendering"}
    clock.advance(timedelta(microseconds=1))
    await app.state.scheduler.run_once()
    assert await _section_states(client, seed, project["id"]) == {"closed"}
    async with services.db.reading() as session:
        events = (await session.execute(
            select(Event).where(Event.type == "section.closed"))).scalars().all()
    assert len(events) == 2
    assert all(event.actor_user_id is None and event.occurred_at == clock.now()
               for event in events)


async def test_concurrent_passes_close_each_section_once(flow: Flow, app: Starlette,
                                                        clock: AdjustableClock,
                                                        services: Services) -> None:
    await flow.announced()
    clock.advance(timedelta(days=22))
    scheduler = app.state.scheduler
    await asyncio.gather(scheduler.run_once(), scheduler.run_once(), scheduler.run_once())
    async with services.db.reading() as session:
        closed = (await session.execute(
            select(Event).where(Event.type == "section.closed"))).scalars().all()
    assert len(closed) == 2


async def test_restart_catches_up_on_what_fell_due_while_down(
        flow: Flow, seed: Seed, app: Starlette, clock: AdjustableClock,
        settings: Settings) -> None:
    """Bidding closes on the first pass of a scheduler started after the deadline passed."""
    project = await flow.announced()
    await app.state.services.db.dispose()  # the server goes down
    clock.advance(timedelta(days=30))  # the deadline passes while nothing runs
    restarted = create_app(settings, clock=clock, run_scheduler=True)
    async with LifespanManager(restarted):
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for _ in range(500):  # wait for the background task's first pass, not a deadline
                if restarted.state.scheduler.passes:
                    break
                await asyncio.sleep(0.01)
            assert restarted.state.scheduler.passes >= 1
            assert await _section_states(client, seed, project["id"]) == {"closed"}


async def test_clock_jump_wakes_the_running_scheduler(flow: Flow, seed: Seed,
                                                     clock: AdjustableClock,
                                                     settings: Settings) -> None:
    running = create_app(settings, clock=clock, run_scheduler=True)
    async with LifespanManager(running):
        transport = httpx.ASGITransport(app=running)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            flow = Flow(client, seed, clock.now())
            project = await flow.announced()
            clock.advance(timedelta(days=21))  # interval is an hour: only the jump wakes it
            states: set[str] = set()
            for _ in range(500):  # bounded wait for the background task, not for a deadline
                states = await _section_states(client, seed, project["id"])
                if states == {"closed"}:
                    break
                await asyncio.sleep(0.01)
            assert states == {"closed"}
