"""The contract deadline (法 Art. 46): an award whose contract is not signed within the rule
book's ``contract_days`` of the award notice gets one ``award.contract_overdue`` event from
the scheduler — not before the deadline, not twice, and not for a declined award."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from contracts.follow_up import OVERDUE
from tests.award.conftest import drafted_report
from tests.contracts.test_from_award import _published
from tests.evaluation.conftest import Pool, pool  # noqa: F401  (the fixture)
from tests.support import T0, Flow, Seed
from tradesys.clock import AdjustableClock, isoformat_utc
from tradesys.events.models import Event
from tradesys.formatting import parse_instant
from tradesys.services import Services


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock(T0, frozen=True)


async def _overdue(services: Services) -> list[dict[str, object]]:
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event.payload).where(Event.type == OVERDUE)
                                      .order_by(Event.seq))).scalars().all()
    return [json.loads(row) for row in rows]


async def test_an_unsigned_contract_is_overdue_once_after_its_deadline(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette) -> None:
    reported = await drafted_report(client, flow, seed, clock, app, pool)
    section = await _published(client, seed, app, clock, reported)
    first = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert first.status_code == 201, first.text
    # The first winner declines on day 10: its award is never overdue; the next one's period
    # starts at its own award.
    clock.advance(timedelta(days=10))
    declined = await client.post(f"{section}/award/decline", headers=seed.agency.auth,
                                 json={"reason": "放弃中标"})
    assert declined.status_code == 200, declined.text
    second = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert second.status_code == 201, second.text
    standing = next(a for a in second.json()["awards"] if a["status"] == "awarded")
    # A contract made but not signed does not stop the clock.
    made = await client.post(f"{section}/contract", headers=seed.procurer.auth)
    assert made.status_code == 201, made.text

    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    await app.state.scheduler.run_once()
    assert await _overdue(services) == []
    clock.advance(timedelta(seconds=1))
    await app.state.scheduler.run_once()
    await app.state.scheduler.run_once()  # and again: still one
    [event] = await _overdue(services)
    assert event["round"] == standing["round"] == 2
    assert event["award_id"] == f"{reported.opened.section_code}-2"
    assert event["credit_code"] == standing["credit_code"] and event["contract_days"] == 30
    due = parse_instant(str(event["awarded_at"])) + timedelta(days=30)
    assert event["due_at"] == isoformat_utc(due)
