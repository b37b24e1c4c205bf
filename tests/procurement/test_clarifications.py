"""澄清/修改: the 15-day rule for amendments that change bid content, and moved deadlines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support import Flow, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.events.models import OutboxRow
from tradesys.services import Services


def _url(project: dict[str, Any]) -> str:
    return f"/api/v1/projects/{project['id']}/clarifications"


async def test_clarification_without_content_change_any_time_before_deadline(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock) -> None:
    project = await flow.announced()
    clock.advance(timedelta(days=20, hours=23))
    response = await client.post(_url(project), headers=seed.agency.auth, json={
        "title": "澄清（一）", "content": "说明", "changes_bid_content": False})
    assert response.status_code == 201, response.text
    assert response.json()["number"] == 1
    async with services.db.reading() as session:
        topics = [r.topic for r in (await session.execute(select(OutboxRow))).scalars()]
    assert topics.count("TENDER_FILE_CLARI_MODI") == 1
    listed = (await client.get(_url(project), headers=seed.bidder1.auth)).json()["items"]
    assert [item["title"] for item in listed] == ["澄清（一）"]


async def test_amendment_with_enough_notice_keeps_the_deadline(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, clock: AdjustableClock) -> None:
    project = await flow.announced()
    clock.advance(timedelta(days=6))  # 15 days remain
    response = await client.post(_url(project), headers=seed.agency.auth, json={
        "title": "修改（一）", "content": "补充工程量", "changes_bid_content": True})
    assert response.status_code == 201, response.text
    assert response.json()["new_bid_deadline"] is None


async def test_late_amendment_is_refused_unless_the_deadline_moves(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock) -> None:
    project = await flow.announced()
    clock.advance(timedelta(days=8))  # 13 days remain
    now = clock.now()
    body = {"title": "修改（一）", "content": "补充工程量", "changes_bid_content": True}
    before = await table_counts(services)
    assert_error(await client.post(_url(project), headers=seed.agency.auth, json=body), 422,
                 "amendment_too_late")
    short = {**body, "new_bid_deadline": (now + timedelta(days=14)).isoformat()}
    assert_error(await client.post(_url(project), headers=seed.agency.auth, json=short), 422,
                 "amendment_too_late")
    assert await table_counts(services) == before
    moved = (now + timedelta(days=15)).isoformat()
    response = await client.post(_url(project), headers=seed.agency.auth,
                                 json={**body, "new_bid_deadline": moved})
    assert response.status_code == 201, response.text
    assert response.json()["previous_bid_deadline"] == "2026-03-23T01:00:00Z"
    detail = (await client.get(f"/api/v1/projects/{project['id']}",
                               headers=seed.agency.auth)).json()
    assert {s["bid_deadline"] for s in detail["sections"]} == {"2026-03-25T01:00:00Z"}
    notice = (await client.get(f"/api/v1/notices/{project['notice']['id']}")).json()
    assert notice["bid_deadline"] == "2026-03-25T01:00:00Z"


@pytest.mark.parametrize("days, body, status, code", [
    (1, {"new_bid_deadline": "2026-03-20T01:00:00Z"}, 422, "deadline_not_later"),
    (21, {}, 422, "deadline_passed"),
    (1, {"document_id": 999}, 422, "document_not_found"),
    (1, {"changes_bid_content": "yes"}, 422, "validation_failed"),
])
async def test_bad_clarifications_change_nothing(client: httpx.AsyncClient, flow: Flow,
                                                 seed: Seed, services: Services,
                                                 clock: AdjustableClock, days: int,
                                                 body: dict[str, Any], status: int,
                                                 code: str) -> None:
    project = await flow.announced()
    clock.advance(timedelta(days=days))
    before = await table_counts(services)
    full = {"title": "澄清", "content": "内容", "changes_bid_content": False, **body}
    assert_error(await client.post(_url(project), headers=seed.agency.auth, json=full), status,
                 code)
    assert await table_counts(services) == before


async def test_clarification_before_announcement_or_by_others_is_refused(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    registered = await flow.register()
    body = {"title": "澄清", "content": "内容", "changes_bid_content": False}
    before = await table_counts(services)
    assert_error(await client.post(_url(registered), headers=seed.agency.auth, json=body), 409,
                 "not_announced")
    announced = await flow.announced()
    before = await table_counts(services)
    assert_error(await client.post(_url(announced), headers=seed.bidder1.auth, json=body), 403,
                 "not_project_manager")
    assert_error(await client.post(_url(announced), headers=seed.procurer.auth, json=body), 403,
                 "not_project_manager")
    assert await table_counts(services) == before


async def test_out_of_range_document_id_is_a_validation_error(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    project = await flow.announced()
    before = await table_counts(services)
    for value in (0, 2**31, 2**63):
        response = await client.post(_url(project), headers=seed.agency.auth, json={
            "title": "澄清", "content": "内容", "changes_bid_content": False,
            "document_id": value})
        assert_error(response, 422, "validation_failed")
    assert await table_counts(services) == before
