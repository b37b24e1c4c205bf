"""项目登记: who may register, what is recorded and reported, and what is refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support import Flow, Seed, assert_error, project_body, section_in, table_counts
from tradesys.events.models import Event, OutboxRow
from tradesys.procurement.models import ProjectGrant
from tradesys.services import Services


async def test_agency_registers_for_a_procurer(client: httpx.AsyncClient, flow: Flow,
                                               seed: Seed, services: Services) -> None:
    # Unsupervised: registration itself grants only the owner and the host.
    project = await flow.register(supervised=False)
    assert project["state"] == "registered"
    assert project["procurer_org_id"] == seed.procurer.org_id
    assert project["agency_org_id"] == seed.agency.org_id
    assert project["code"].startswith("E3501002026")
    assert [s["code"] for s in project["sections"]] == [project["code"] + "001",
                                                        project["code"] + "002"]
    assert {s["state"] for s in project["sections"]} == {"registered"}
    async with services.db.reading() as session:
        grants = {(g.org_id, g.grant) for g in (await session.execute(
            select(ProjectGrant).where(ProjectGrant.project_id == project["id"]))).scalars()}
        event = (await session.execute(select(Event).where(
            Event.type == "project.registered"))).scalar_one()
        outbox = (await session.execute(select(OutboxRow).where(
            OutboxRow.event_seq == event.seq))).scalar_one()
    assert grants == {(seed.procurer.org_id, "owner"), (seed.agency.org_id, "host")}
    assert event.actor_user_id == seed.agency.user_id and event.ip == "203.0.113.7"
    assert outbox.topic == "TENDER_PROJECT" and outbox.project_id == project["id"]


async def test_procurer_registers_its_own_tender(client: httpx.AsyncClient, seed: Seed) -> None:
    body = project_body(seed.procurer)
    del body["procurer_credit_code"]
    response = await client.post("/api/v1/projects", headers=seed.procurer.auth, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["agency_org_id"] is None
    body["agency_credit_code"] = seed.agency.credit_code
    response = await client.post("/api/v1/projects", headers=seed.procurer.auth, json=body)
    assert response.status_code == 201
    assert response.json()["agency_org_id"] == seed.agency.org_id


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


@pytest.mark.parametrize("who, mutate, status, code", [
    ("bidder1", lambda b, s: b, 403, "role_forbidden"),
    ("supervisor", lambda b, s: b, 403, "role_forbidden"),
    ("admin", lambda b, s: b, 403, "role_forbidden"),
    ("agency", lambda b, s: _without(b, "procurer_credit_code"), 422, "procurer_required"),
    ("agency", lambda b, s: {**b, "procurer_credit_code": "91350100M000100Y43"}, 422,
     "unknown_procurer"),
    ("agency", lambda b, s: {**b, "agency_credit_code": s.agency2.credit_code}, 422,
     "agency_is_caller"),
    ("procurer", lambda b, s: b, 422, "procurer_is_caller"),
    ("agency", lambda b, s: {**b, "sections": []}, 422, "validation_failed"),
    ("agency", lambda b, s: {**b, "region_code": "35010"}, 422, "validation_failed"),
    ("agency", lambda b, s: {**b, "procedure": "auction"}, 422, "validation_failed"),
    ("agency", lambda b, s: {**b, "sections": [section_in(budget="-1")]}, 422,
     "validation_failed"),
    ("agency", lambda b, s: {**b, "sections": [section_in(budget=1000000.5)]}, 422,
     "validation_failed"),
    ("agency", lambda b, s: {**b, "name": ""}, 422, "validation_failed"),
    ("agency", lambda b, s: {**b, "surprise": 1}, 422, "validation_failed"),
])
async def test_bad_registrations_change_nothing(client: httpx.AsyncClient, seed: Seed,
                                                services: Services, who: str, mutate: Any,
                                                status: int, code: str) -> None:
    before = await table_counts(services)
    body = mutate(project_body(seed.procurer), seed)
    response = await client.post("/api/v1/projects", headers=seed.parties[who].auth, json=body)
    assert_error(response, status, code)
    assert await table_counts(services) == before


async def test_credit_codes_are_matched_whatever_their_case(client: httpx.AsyncClient,
                                                           seed: Seed) -> None:
    body = project_body(seed.procurer, procurer_credit_code=seed.procurer.credit_code.lower())
    response = await client.post("/api/v1/projects", headers=seed.agency.auth, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["procurer_org_id"] == seed.procurer.org_id
