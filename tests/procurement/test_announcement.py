"""招标公告: key times checked against the rules of the procedure; states move together."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support import (
    Flow,
    Seed,
    announce_body,
    assert_error,
    holders,
    key_times,
    table_counts,
)
from tradesys.clock import AdjustableClock
from tradesys.events.models import OutboxRow
from tradesys.services import Services


async def test_announce_opens_tendering(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                        services: Services) -> None:
    project = await flow.announced()
    notice = project["notice"]
    assert notice["bid_deadline"] == "2026-03-23T01:00:00Z"
    project = (await client.get(f"/api/v1/projects/{project['id']}",
                                headers=seed.agency.auth)).json()
    assert project["state"] == "announced"
    assert {s["state"] for s in project["sections"]} == {"tendering"}
    assert {s["bid_deadline"] for s in project["sections"]} == {"2026-03-23T01:00:00Z"}
    async with services.db.reading() as session:
        topics = [row.topic for row in (await session.execute(
            select(OutboxRow).order_by(OutboxRow.id))).scalars()]
    assert topics == ["TENDER_PROJECT", "NOTICE"]
    public = await client.get(f"/api/v1/notices/{notice['id']}")
    assert public.status_code == 200 and public.json()["title"] == "测试招标公告"


async def test_times_in_beijing_time_are_the_same_instants(client: httpx.AsyncClient,
                                                          flow: Flow, seed: Seed) -> None:
    project = await flow.register()
    await flow.upload(project["id"])
    body = announce_body(flow.now, seed)
    body["bid_deadline"] = "2026-03-23T09:00:00+08:00"
    response = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                 headers=seed.agency.auth, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["bid_deadline"] == "2026-03-23T01:00:00Z"


@pytest.mark.parametrize("overrides, code", [
    (dict(deadline_days=-1), "impossible_dates"),  # deadline before the announcement
    (dict(deadline_days=19), "period_too_short"),
    (dict(doc_days=3), "period_too_short"),
    (dict(questions_days=15), "period_too_short"),
])
async def test_bad_key_times_change_nothing(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                            services: Services, overrides: dict[str, Any],
                                            code: str) -> None:
    project = await flow.register()
    await flow.upload(project["id"])
    before = await table_counts(services)
    body = {"title": "公告", "content": "内容", **key_times(flow.now, **overrides),
            "opening_key_holders": holders(seed)}
    response = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                 headers=seed.agency.auth, json=body)
    assert_error(response, 422, code)
    assert await table_counts(services) == before


async def test_naive_times_are_refused(client: httpx.AsyncClient, flow: Flow,
                                       seed: Seed, services: Services) -> None:
    project = await flow.register()
    await flow.upload(project["id"])
    before = await table_counts(services)
    body = announce_body(flow.now, seed, bid_deadline="2026-03-23T09:00:00")
    response = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                 headers=seed.agency.auth, json=body)
    error = assert_error(response, 422, "validation_failed")
    assert error["details"][0]["loc"] == ["bid_deadline"]
    assert await table_counts(services) == before


async def test_competitive_negotiation_allows_three_days(client: httpx.AsyncClient,
                                                         flow: Flow, seed: Seed) -> None:
    project = await flow.register(procedure="competitive_negotiation", trade_type="gov_procurement",
                                  category="goods")
    await flow.upload(project["id"])
    body = {"title": "谈判公告", "content": "内容",
            **key_times(flow.now, deadline_days=3, doc_days=3, questions_days=2),
            "opening_key_holders": holders(seed)}
    response = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                 headers=seed.agency.auth, json=body)
    assert response.status_code == 201, response.text


async def test_announce_needs_documents_and_happens_once(client: httpx.AsyncClient, flow: Flow,
                                                         seed: Seed, services: Services) -> None:
    project = await flow.register()
    before = await table_counts(services)
    url = f"/api/v1/projects/{project['id']}/announce"
    assert_error(await client.post(url, headers=seed.agency.auth,
                                   json=announce_body(flow.now, seed)), 409, "documents_missing")
    assert await table_counts(services) == before
    await flow.upload(project["id"])
    assert (await client.post(url, headers=seed.agency.auth,
                              json=announce_body(flow.now, seed))).status_code == 201
    before = await table_counts(services)
    assert_error(await client.post(url, headers=seed.agency.auth,
                                   json=announce_body(flow.now, seed)), 409, "not_registered")
    assert await table_counts(services) == before


@pytest.mark.parametrize("who, status, code", [
    ("procurer", 403, "not_project_manager"),  # entrusted: the agency runs it
    ("supervisor", 403, "not_project_manager"),
    ("agency2", 404, "project_not_found"),
    ("procurer2", 404, "project_not_found"),
    ("bidder1", 404, "project_not_found"),
    ("expert", 404, "project_not_found"),
])
async def test_only_the_host_announces(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                       services: Services, who: str, status: int,
                                       code: str) -> None:
    project = await flow.register()
    await flow.upload(project["id"])
    before = await table_counts(services)
    response = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                 headers=seed.parties[who].auth, json=announce_body(flow.now, seed))
    assert_error(response, status, code)
    assert await table_counts(services) == before


async def test_clock_drives_validation(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                       clock: AdjustableClock) -> None:
    """The server clock, not the client's, decides what 'past' means."""
    project = await flow.register()
    await flow.upload(project["id"])
    clock.advance(timedelta(days=30))
    response = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                 headers=seed.agency.auth, json=announce_body(flow.now, seed))
    assert_error(response, 422, "impossible_dates")
