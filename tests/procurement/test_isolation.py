"""Role and project isolation: each organisation sees and runs only its own projects."""

from __future__ import annotations

import httpx
import pytest

from tests.support import Flow, Seed, assert_error


@pytest.mark.parametrize("who, visible", [
    ("agency", True), ("procurer", True), ("supervisor", True), ("admin", True),
    ("agency2", False), ("procurer2", False), ("bidder1", False), ("expert", False),
])
async def test_registered_project_is_seen_only_by_its_parties(client: httpx.AsyncClient,
                                                             flow: Flow, seed: Seed, who: str,
                                                             visible: bool) -> None:
    project = await flow.register()
    response = await client.get(f"/api/v1/projects/{project['id']}",
                                headers=seed.parties[who].auth)
    if visible:
        assert response.status_code == 200 and response.json()["id"] == project["id"]
    else:
        assert_error(response, 404, "project_not_found")


async def test_announced_project_is_public_to_bidders(client: httpx.AsyncClient, flow: Flow,
                                                     seed: Seed) -> None:
    project = await flow.announced()
    response = await client.get(f"/api/v1/projects/{project['id']}", headers=seed.bidder2.auth)
    assert response.status_code == 200
    assert_error(await client.get(f"/api/v1/projects/{project['id']}",
                                  headers=seed.agency2.auth), 404, "project_not_found")


@pytest.mark.parametrize("who, sees", [
    ("agency", True), ("procurer", True), ("supervisor", True), ("admin", True),
    # A bidder's 我的项目 is every project with a public notice (never a registered one:
    # tests/procurement/test_documents.py), marked by its own involvement.
    ("bidder1", True),
    ("agency2", False), ("procurer2", False), ("expert", False),
])
async def test_project_list_holds_only_own_projects(client: httpx.AsyncClient, flow: Flow,
                                                   seed: Seed, who: str, sees: bool) -> None:
    project = await flow.announced()
    items = (await client.get("/api/v1/projects", headers=seed.parties[who].auth)).json()["items"]
    assert ([item["id"] for item in items] == [project["id"]]) is sees
    if not sees:
        assert items == []


async def test_project_list_pages_by_cursor(client: httpx.AsyncClient, flow: Flow,
                                            seed: Seed) -> None:
    ids = [(await flow.register())["id"] for _ in range(5)]
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/projects", headers=seed.agency.auth,
                                 params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


async def test_unauthenticated_requests_are_refused(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/projects"), 401, "login_required")
    assert_error(await client.post("/api/v1/projects", json={}), 401, "login_required")
