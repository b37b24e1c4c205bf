"""GET /projects/{id}/timeline: the project's milestones, for its parties and supervisors only."""

from __future__ import annotations

import httpx
import pytest

from tests.support import Flow, Seed, assert_error, table_counts
from tradesys.procurement.timeline import MILESTONES
from tradesys.services import Services


async def test_supervisor_reads_the_timeline_of_an_announced_project(
        client: httpx.AsyncClient, flow: Flow, seed: Seed) -> None:
    project = await flow.announced()
    response = await client.get(f"/api/v1/projects/{project['id']}/timeline",
                                headers=seed.supervisor.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["project_id"] == project["id"]
    types = [item["type"] for item in body["items"]]
    assert types == ["project.registered", "document.uploaded", "notice.published"]
    assert [item["label"] for item in body["items"]] == ["项目登记", "上传招标文件", "发布公告"]
    seqs = [item["seq"] for item in body["items"]]
    assert seqs == sorted(seqs)
    # Nothing but the fixed fields: no payload, no actor.
    assert all(set(item) == {"seq", "type", "label", "occurred_at"} for item in body["items"])


@pytest.mark.parametrize("who", ["agency", "procurer", "admin"])
async def test_the_projects_parties_read_it_too(client: httpx.AsyncClient, flow: Flow,
                                                seed: Seed, who: str) -> None:
    project = await flow.announced()
    response = await client.get(f"/api/v1/projects/{project['id']}/timeline",
                                headers=seed.parties[who].auth)
    assert response.status_code == 200, response.text
    assert all(item["type"] in MILESTONES for item in response.json()["items"])


@pytest.mark.parametrize("who, status, code", [
    ("bidder1", 403, "not_project_party"),  # sees the public file, never the timeline
    ("agency2", 404, "project_not_found"),
    ("procurer2", 404, "project_not_found"),
    ("expert", 404, "project_not_found"),
])
async def test_others_are_refused_and_nothing_changes(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        who: str, status: int, code: str) -> None:
    project = await flow.announced()
    before = await table_counts(services)
    assert_error(await client.get(f"/api/v1/projects/{project['id']}/timeline",
                                  headers=seed.parties[who].auth), status, code)
    assert await table_counts(services) == before


async def test_anonymous_and_unknown_projects_are_refused(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    project = await flow.announced()
    before = await table_counts(services)
    assert_error(await client.get(f"/api/v1/projects/{project['id']}/timeline"), 401)
    assert_error(await client.get("/api/v1/projects/999999/timeline",
                                  headers=seed.supervisor.auth), 404, "project_not_found")
    assert await table_counts(services) == before


def test_no_milestone_can_reveal_a_bidder() -> None:
    # The events that name who bid or obtained the documents are never milestones.
    for kind in MILESTONES:
        assert not kind.startswith(("bid.", "bidder.", "security.", "opening_share"))
    assert "document.obtained" not in MILESTONES and "question.asked" not in MILESTONES
    assert "opening.price_read" not in MILESTONES
