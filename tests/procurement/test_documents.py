"""招标文件: upload by the host, obtaining by bidders within the document period (logged)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.bids.test_submission import seal_bid, sealing, submit
from tests.support import Flow, Party, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.events.models import Event
from tradesys.procurement.models import DocumentObtain
from tradesys.services import Services


def _content_url(project: dict, document_id: int) -> str:  # type: ignore[type-arg]
    return f"/api/v1/projects/{project['id']}/documents/{document_id}/content"


async def test_upload_is_content_addressed(flow: Flow, services: Services) -> None:
    project = await flow.register()
    data = "招标文件正文".encode() * 1000
    document = await flow.upload(project["id"], data)
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert document["size"] == len(data)
    assert services.documents.open(document["sha256"]).read_bytes() == data


async def test_bidder_obtains_documents_in_the_period_and_it_is_logged(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock) -> None:
    project = await flow.announced()
    documents = (await client.get(f"/api/v1/projects/{project['id']}/documents",
                                  headers=seed.bidder1.auth)).json()["items"]
    clock.advance(timedelta(hours=1))
    response = await client.get(_content_url(project, documents[0]["id"]),
                                headers=seed.bidder1.auth)
    assert response.status_code == 200
    assert response.content == b"tender documents v1"
    assert response.headers["x-content-sha256"] == documents[0]["sha256"]
    assert "attachment" in response.headers["content-disposition"]
    async with services.db.reading() as session:
        obtain = (await session.execute(select(DocumentObtain))).scalar_one()
        event = (await session.execute(
            select(Event).where(Event.type == "document.obtained"))).scalar_one()
    assert obtain.org_id == seed.bidder1.org_id and obtain.obtained_at == clock.now()
    assert event.actor_user_id == seed.bidder1.user_id and event.occurred_at == clock.now()


@pytest.mark.parametrize("shift, code", [
    (timedelta(days=7, seconds=1), "outside_document_period"),
])
async def test_obtaining_outside_the_period_is_refused(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock, shift: timedelta, code: str) -> None:
    project = await flow.announced()
    document_id = (await client.get(f"/api/v1/projects/{project['id']}/documents",
                                    headers=seed.bidder1.auth)).json()["items"][0]["id"]
    clock.advance(shift)
    before = await table_counts(services)
    assert_error(await client.get(_content_url(project, document_id),
                                  headers=seed.bidder1.auth), 403, code)
    assert await table_counts(services) == before


async def test_documents_of_an_unannounced_project_are_hidden_from_bidders(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    project = await flow.register()
    document = await flow.upload(project["id"])
    before = await table_counts(services)
    assert_error(await client.get(_content_url(project, document["id"]),
                                  headers=seed.bidder1.auth), 404, "project_not_found")
    assert_error(await client.get(f"/api/v1/projects/{project['id']}/documents",
                                  headers=seed.bidder1.auth), 404, "project_not_found")
    assert await table_counts(services) == before


async def test_a_document_of_another_project_is_not_found(client: httpx.AsyncClient,
                                                         flow: Flow, seed: Seed) -> None:
    first = await flow.announced()
    other = await flow.register()
    foreign = await flow.upload(other["id"], b"other project")
    assert_error(await client.get(_content_url(first, foreign["id"]),
                                  headers=seed.bidder1.auth), 404, "document_not_found")


@pytest.mark.parametrize("who, content_type, data, filename, status, code", [
    ("bidder1", "application/pdf", b"x", "a.pdf", 404, "project_not_found"),
    ("procurer", "application/pdf", b"x", "a.pdf", 403, "not_project_manager"),
    ("agency", "application/pdf", b"", "a.pdf", 422, "empty_file"),
    ("agency", "text/html", b"<script>", "a.html", 422, "unsupported_type"),
    ("agency", "application/pdf", b"x", "../etc/passwd", 422, "invalid_filename"),
    ("agency", "application/pdf", b"x", "", 422, "invalid_filename"),
])
async def test_bad_uploads_change_nothing(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                          services: Services, who: str, content_type: str,
                                          data: bytes, filename: str, status: int,
                                          code: str) -> None:
    project = await flow.register()
    before = await table_counts(services)
    response = await client.post(f"/api/v1/projects/{project['id']}/documents",
                                 params={"filename": filename},
                                 headers={**seed.parties[who].auth, "Content-Type": content_type},
                                 content=data)
    assert_error(response, status, code)
    assert await table_counts(services) == before


async def test_oversize_upload_is_refused_and_leaves_no_file(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    project = await flow.register()
    limit = services.settings.max_document_bytes
    object.__setattr__(services.settings, "max_document_bytes", 1024)
    try:
        before = await table_counts(services)
        response = await client.post(f"/api/v1/projects/{project['id']}/documents",
                                     params={"filename": "big.pdf"},
                                     headers={**seed.agency.auth,
                                              "Content-Type": "application/pdf"},
                                     content=b"x" * 4096)
        assert_error(response, 422, "file_too_large")
        assert await table_counts(services) == before
        root = services.documents.root
        assert not root.exists() or [p for p in root.rglob("*") if p.is_file()] == []
    finally:
        object.__setattr__(services.settings, "max_document_bytes", limit)


async def test_no_upload_after_the_deadline(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                            services: Services, clock: AdjustableClock) -> None:
    project = await flow.announced()
    clock.advance(timedelta(days=21))
    before = await table_counts(services)
    response = await client.post(f"/api/v1/projects/{project['id']}/documents",
                                 params={"filename": "late.pdf"},
                                 headers={**seed.agency.auth, "Content-Type": "application/pdf"},
                                 content=b"late")
    assert_error(response, 409, "deadline_passed")
    assert await table_counts(services) == before


async def test_the_download_log_shows_a_bidder_only_its_own_and_the_parties_all(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock) -> None:
    """获取招标文件记录: who obtained the documents is not told to the other bidders (法 Art. 22),
    so a bidder reads its own downloads and the host, the procurer and supervisors all."""
    project = await flow.announced()
    log_url = f"/api/v1/projects/{project['id']}/downloads"
    documents = (await client.get(f"/api/v1/projects/{project['id']}/documents",
                                  headers=seed.bidder1.auth)).json()["items"]
    assert (await client.get(log_url, headers=seed.bidder1.auth)).json() == {"items": []}
    clock.advance(timedelta(hours=1))
    first = clock.now()
    assert (await client.get(_content_url(project, documents[0]["id"]),
                             headers=seed.bidder1.auth)).status_code == 200
    clock.advance(timedelta(hours=2))
    assert (await client.get(_content_url(project, documents[0]["id"]),
                             headers=seed.bidder2.auth)).status_code == 200
    own = (await client.get(log_url, headers=seed.bidder1.auth)).json()["items"]
    assert own == [{"document_id": documents[0]["id"], "filename": documents[0]["filename"],
                    "org_name": "bidder1 有限公司", "credit_code": seed.bidder1.credit_code,
                    "obtained_at": first.isoformat().replace("+00:00", "Z")}]
    for viewer in (seed.agency, seed.procurer, seed.supervisor):
        everyone = (await client.get(log_url, headers=viewer.auth)).json()["items"]
        assert [item["credit_code"] for item in everyone] == [seed.bidder1.credit_code,
                                                              seed.bidder2.credit_code]
    # A project's log is no one else's business: another agency does not see the project.
    before = await table_counts(services)
    assert_error(await client.get(log_url, headers=seed.agency2.auth), 404, "project_not_found")
    assert_error(await client.get("/api/v1/projects/999999/downloads",
                                  headers=seed.bidder1.auth), 404, "project_not_found")
    assert_error(await client.get(log_url), 401, "login_required")
    assert await table_counts(services) == before


async def test_a_bidders_projects_are_the_public_ones_marked_by_its_own_involvement(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, clock: AdjustableClock) -> None:
    """我的项目 for a bidder: every project with a public notice (never a registered one), each
    marked ``obtained`` / ``bid`` by the caller's own involvement only."""
    hidden = await flow.register()
    project = await flow.announced()
    section = project["sections"][0]
    documents = (await client.get(f"/api/v1/projects/{project['id']}/documents",
                                  headers=seed.bidder1.auth)).json()["items"]
    clock.advance(timedelta(hours=1))
    assert (await client.get(_content_url(project, documents[0]["id"]),
                             headers=seed.bidder1.auth)).status_code == 200
    info = await sealing(client, section["id"], seed.bidder3)
    sealed = seal_bid(section, seed.bidder3, info["opening_public_key"])
    assert (await submit(client, section["id"], seed.bidder3, sealed)).status_code == 201

    async def marks(party: Party) -> dict[int, list[str]]:
        response = await client.get("/api/v1/projects", headers=party.auth)
        assert response.status_code == 200, response.text
        return {item["id"]: item["marks"] for item in response.json()["items"]}

    obtained, bid, neither = (await marks(seed.bidder1), await marks(seed.bidder3),
                              await marks(seed.bidder2))
    assert hidden["id"] not in obtained | bid | neither
    assert obtained[project["id"]] == ["obtained"]
    assert bid[project["id"]] == ["bid"]
    assert neither[project["id"]] == []
    hosts = await marks(seed.agency)
    assert hosts[project["id"]] == [] and hidden["id"] in hosts
