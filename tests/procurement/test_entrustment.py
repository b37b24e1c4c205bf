"""委托 is mutual: a project names another organisation only once that organisation agrees.

An agency names the procurer (or a procurer its agency) by a public credit code; until the named
organisation accepts, or a standing entrustment of its own covers the registering one, the
project is not in its list, cannot be announced, and is not reported to the platform.

The seeded parties have standing entrustments both ways (tests/conftest.py); each test here
first revokes the ones it is about, through the API, so consent is really missing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support import (
    Flow,
    Party,
    Seed,
    announce_body,
    assert_error,
    grant_supervisor,
    project_body,
    table_counts,
)
from tradesys.events.models import Event, OutboxRow
from tradesys.services import Services


async def revoke_all(client: httpx.AsyncClient, party: Party) -> None:
    listed = await client.get("/api/v1/entrustments", headers=party.auth)
    assert listed.status_code == 200, listed.text
    for item in listed.json()["items"]:
        revoked = await client.post(f"/api/v1/entrustments/{item['id']}/revoke",
                                    headers=party.auth)
        assert revoked.status_code == 200, revoked.text
    assert (await client.get("/api/v1/entrustments", headers=party.auth)).json()["items"] == []


@pytest.fixture
async def no_standing(client: httpx.AsyncClient, seed: Seed) -> None:
    """procurer and agency (and their second organisations) hold no standing entrustment."""
    for party in (seed.procurer, seed.agency, seed.parties["procurer2"],
                  seed.parties["agency2"]):
        await revoke_all(client, party)


async def my_project_ids(client: httpx.AsyncClient, party: Party) -> list[int]:
    response = await client.get("/api/v1/projects", headers=party.auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def reports_of(services: Services, project_id: int) -> list[tuple[str, str]]:
    async with services.db.reading() as session:
        rows = (await session.execute(
            select(Event.type, OutboxRow.topic).join(OutboxRow, OutboxRow.event_seq == Event.seq)
            .where(OutboxRow.project_id == project_id).order_by(OutboxRow.id))).all()
    return [(type_, topic) for type_, topic in rows]


async def register_by_agency(client: httpx.AsyncClient, seed: Seed) -> dict[str, Any]:
    response = await client.post("/api/v1/projects", headers=seed.agency.auth,
                                 json=project_body(seed.procurer))
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    # The supervisor holds an opening-key share (announce_body): its department is granted
    # the project, as the admin would.
    await grant_supervisor(client, seed, project["id"])
    return project


async def upload(client: httpx.AsyncClient, seed: Seed, project_id: int) -> None:
    response = await client.post(
        f"/api/v1/projects/{project_id}/documents", params={"filename": "招标文件.pdf"},
        headers={**seed.agency.auth, "Content-Type": "application/pdf"}, content=b"docs")
    assert response.status_code == 201, response.text


async def test_a_project_naming_a_procurer_waits_for_its_consent(
        client: httpx.AsyncClient, seed: Seed, flow: Flow, services: Services,
        no_standing: None) -> None:
    project = await register_by_agency(client, seed)
    assert project["entrustment"] == "pending"
    # The named procurer neither sees it nor has it in its list: it has a request to answer.
    assert project["id"] not in await my_project_ids(client, seed.procurer)
    assert_error(await client.get(f"/api/v1/projects/{project['id']}",
                                  headers=seed.procurer.auth), 404, "project_not_found")
    requests = await client.get("/api/v1/entrustment-requests", headers=seed.procurer.auth)
    assert requests.status_code == 200
    [request] = requests.json()["items"]
    assert request["project_id"] == project["id"] and request["grant"] == "owner"
    assert request["requested_by"]["credit_code"] == seed.agency.credit_code
    # Nothing about it has been reported to the platform.
    assert await reports_of(services, project["id"]) == []
    # The agency may prepare it, but not announce it.
    await upload(client, seed, project["id"])
    before = await table_counts(services)
    refused = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                headers=seed.agency.auth, json=announce_body(flow.now, seed))
    assert_error(refused, 409, "entrustment_pending")
    assert await table_counts(services) == before

    accepted = await client.post(f"/api/v1/projects/{project['id']}/entrustment/accept",
                                 headers=seed.procurer.auth)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["entrustment"] == "accepted"
    assert project["id"] in await my_project_ids(client, seed.procurer)
    assert (await client.get("/api/v1/entrustment-requests",
                             headers=seed.procurer.auth)).json()["items"] == []
    # Reported once both agree: the registration itself, as TENDER_PROJECT.
    assert await reports_of(services, project["id"]) == [("project.registered", "TENDER_PROJECT")]
    announced = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                  headers=seed.agency.auth, json=announce_body(flow.now, seed))
    assert announced.status_code == 201, announced.text
    assert [type_ for type_, _ in await reports_of(services, project["id"])] == [
        "project.registered", "notice.published"]


async def test_a_declined_entrustment_can_only_be_cancelled_and_is_never_reported(
        client: httpx.AsyncClient, seed: Seed, flow: Flow, services: Services,
        no_standing: None) -> None:
    project = await register_by_agency(client, seed)
    declined = await client.post(f"/api/v1/projects/{project['id']}/entrustment/decline",
                                 headers=seed.procurer.auth)
    assert declined.status_code == 200, declined.text
    assert declined.json()["entrustment"] == "declined"
    assert project["id"] not in await my_project_ids(client, seed.procurer)
    await upload(client, seed, project["id"])
    before = await table_counts(services)
    assert_error(await client.post(f"/api/v1/projects/{project['id']}/announce",
                                   headers=seed.agency.auth, json=announce_body(flow.now, seed)),
                 409, "entrustment_declined")
    assert_error(await client.post(f"/api/v1/projects/{project['id']}/entrustment/accept",
                                   headers=seed.procurer.auth), 409, "entrustment_declined")
    assert await table_counts(services) == before
    cancelled = await client.post(f"/api/v1/projects/{project['id']}/cancel",
                                  headers=seed.agency.auth, json={"reason": "招标人未接受委托"})
    assert cancelled.status_code == 200, cancelled.text
    assert await reports_of(services, project["id"]) == []


async def test_a_procurer_naming_an_agency_waits_for_the_agency(
        client: httpx.AsyncClient, seed: Seed, no_standing: None) -> None:
    body = project_body(seed.procurer)
    del body["procurer_credit_code"]
    body["agency_credit_code"] = seed.agency.credit_code
    response = await client.post("/api/v1/projects", headers=seed.procurer.auth, json=body)
    assert response.status_code == 201, response.text
    project = response.json()
    assert project["entrustment"] == "pending"
    assert project["id"] not in await my_project_ids(client, seed.agency)
    # The procurer owns it and sees it; the agency cannot act on it until it accepts.
    assert project["id"] in await my_project_ids(client, seed.procurer)
    assert_error(await client.post(
        f"/api/v1/projects/{project['id']}/documents", params={"filename": "a.pdf"},
        headers={**seed.agency.auth, "Content-Type": "application/pdf"}, content=b"x"),
        404, "project_not_found")
    [request] = (await client.get("/api/v1/entrustment-requests",
                                  headers=seed.agency.auth)).json()["items"]
    assert request["grant"] == "host"
    accepted = await client.post(f"/api/v1/projects/{project['id']}/entrustment/accept",
                                 headers=seed.agency.auth)
    assert accepted.status_code == 200, accepted.text
    assert project["id"] in await my_project_ids(client, seed.agency)


async def test_a_standing_entrustment_covers_registrations_while_in_force(
        client: httpx.AsyncClient, seed: Seed, services: Services, no_standing: None) -> None:
    standing = await client.post("/api/v1/entrustments", headers=seed.procurer.auth,
                                 json={"counterpart_credit_code": seed.agency.credit_code})
    assert standing.status_code == 201, standing.text
    assert standing.json()["counterpart"]["credit_code"] == seed.agency.credit_code
    covered = await register_by_agency(client, seed)
    assert covered["entrustment"] == "accepted"
    assert covered["id"] in await my_project_ids(client, seed.procurer)
    assert await reports_of(services, covered["id"]) == [("project.registered", "TENDER_PROJECT")]
    # It is the procurer's consent to this agency only.
    other = await client.post("/api/v1/projects", headers=seed.parties["agency2"].auth,
                              json=project_body(seed.procurer))
    assert other.json()["entrustment"] == "pending"
    # Revoked: later registrations wait again; the covered project keeps its grant.
    await revoke_all(client, seed.procurer)
    later = await register_by_agency(client, seed)
    assert later["entrustment"] == "pending"
    assert covered["id"] in await my_project_ids(client, seed.procurer)


@pytest.mark.parametrize("who, body, status, code", [
    ("procurer", {"counterpart_credit_code": "91350100M000100Y43"}, 422, "unknown_counterpart"),
    ("procurer", {"counterpart_credit_code": "short"}, 422, None),
    ("procurer", {"counterpart_credit_code": "91350100M000100Y43", "extra": 1}, 422, None),
    ("procurer", {}, 422, None),
    ("procurer", "self", 422, "counterpart_is_caller"),
    ("procurer", "agency", 409, "already_entrusted"),
    ("bidder1", "agency", 403, "role_forbidden"),
    ("supervisor", "agency", 403, "role_forbidden"),
])
async def test_bad_standing_entrustments_are_refused_and_change_nothing(
        client: httpx.AsyncClient, seed: Seed, services: Services, who: str, body: Any,
        status: int, code: str | None) -> None:
    party = seed.parties[who]
    if body == "self":
        body = {"counterpart_credit_code": party.credit_code}
    elif body == "agency":
        body = {"counterpart_credit_code": seed.agency.credit_code}
    before = await table_counts(services)
    assert_error(await client.post("/api/v1/entrustments", headers=party.auth, json=body),
                 status, code)
    assert await table_counts(services) == before


async def test_only_the_named_organisation_can_answer(
        client: httpx.AsyncClient, seed: Seed, services: Services, no_standing: None) -> None:
    project = await register_by_agency(client, seed)
    before = await table_counts(services)
    for party, status, code in [
        (seed.agency, 404, "entrustment_request_not_found"),   # the requester itself
        (seed.parties["procurer2"], 404, "entrustment_request_not_found"),
        (seed.parties["agency2"], 404, "entrustment_request_not_found"),
        (seed.parties["bidder1"], 403, "role_forbidden"),
    ]:
        for verb in ("accept", "decline"):
            assert_error(await client.post(
                f"/api/v1/projects/{project['id']}/entrustment/{verb}", headers=party.auth),
                status, code)
    assert_error(await client.post("/api/v1/projects/999999/entrustment/accept",
                                   headers=seed.procurer.auth),
                 404, "entrustment_request_not_found")
    assert_error(await client.post("/api/v1/entrustments/999999/revoke",
                                   headers=seed.procurer.auth), 404, "entrustment_not_found")
    assert await table_counts(services) == before
    # Answered once: a second answer finds nothing pending.
    assert (await client.post(f"/api/v1/projects/{project['id']}/entrustment/accept",
                              headers=seed.procurer.auth)).status_code == 200
    assert_error(await client.post(f"/api/v1/projects/{project['id']}/entrustment/decline",
                                   headers=seed.procurer.auth),
                 404, "entrustment_request_not_found")


async def test_a_cancelled_project_leaves_the_request_list(
        client: httpx.AsyncClient, seed: Seed, no_standing: None) -> None:
    project = await register_by_agency(client, seed)
    cancelled = await client.post(f"/api/v1/projects/{project['id']}/cancel",
                                  headers=seed.agency.auth, json={"reason": "登记有误"})
    assert cancelled.status_code == 200, cancelled.text
    assert (await client.get("/api/v1/entrustment-requests",
                             headers=seed.procurer.auth)).json()["items"] == []
    assert_error(await client.post(f"/api/v1/projects/{project['id']}/entrustment/accept",
                                   headers=seed.procurer.auth), 409, "already_cancelled")
