"""终止招标: by the owner or the host before the deadline; a termination notice is public."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from tests.support import Flow, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.events.models import OutboxRow
from tradesys.services import Services


@pytest.mark.parametrize("who", ["agency", "procurer"])
async def test_owner_or_host_cancels(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                     services: Services, who: str) -> None:
    project = await flow.announced()
    response = await client.post(f"/api/v1/projects/{project['id']}/cancel",
                                 headers=seed.parties[who].auth, json={"reason": "项目取消"})
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "termination"
    detail = (await client.get(f"/api/v1/projects/{project['id']}",
                               headers=seed.agency.auth)).json()
    assert detail["state"] == "cancelled"
    assert {s["state"] for s in detail["sections"]} == {"cancelled"}
    kinds = [n["kind"] for n in (await client.get("/api/v1/notices")).json()["items"]]
    assert kinds == ["termination", "tender"]
    async with services.db.reading() as session:
        topics = [r.topic for r in (await session.execute(
            select(OutboxRow).order_by(OutboxRow.id))).scalars()]
    assert topics == ["TENDER_PROJECT", "NOTICE", "NOTICE"]


async def test_cancelled_project_takes_no_more_steps(client: httpx.AsyncClient, flow: Flow,
                                                    seed: Seed, services: Services) -> None:
    project = await flow.announced()
    url = f"/api/v1/projects/{project['id']}"
    assert (await client.post(f"{url}/cancel", headers=seed.agency.auth,
                              json={"reason": "取消"})).status_code == 200
    before = await table_counts(services)
    assert_error(await client.post(f"{url}/cancel", headers=seed.agency.auth,
                                   json={"reason": "再取消"}), 409, "already_cancelled")
    assert_error(await client.post(f"{url}/clarifications", headers=seed.agency.auth, json={
        "title": "澄清", "content": "内容", "changes_bid_content": False}), 409, "not_announced")
    assert_error(await client.post(f"{url}/documents", params={"filename": "a.pdf"},
                                   headers={**seed.agency.auth, "Content-Type": "application/pdf"},
                                   content=b"x"), 409, "project_cancelled")
    assert await table_counts(services) == before


async def test_cancel_refused_after_bidding_closed_or_by_strangers(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock, app: Starlette) -> None:
    project = await flow.announced()
    url = f"/api/v1/projects/{project['id']}/cancel"
    before = await table_counts(services)
    assert_error(await client.post(url, headers=seed.bidder1.auth, json={"reason": "x"}), 403,
                 "not_project_manager")
    assert_error(await client.post(url, headers=seed.agency2.auth, json={"reason": "x"}), 404,
                 "project_not_found")
    assert_error(await client.post(url, headers=seed.agency.auth, json={"reason": ""}), 422,
                 "validation_failed")
    assert await table_counts(services) == before
    clock.advance(timedelta(days=21))
    await app.state.scheduler.run_once()
    before = await table_counts(services)
    assert_error(await client.post(url, headers=seed.agency.auth, json={"reason": "晚了"}), 409,
                 "bidding_closed")
    assert await table_counts(services) == before
