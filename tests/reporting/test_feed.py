"""Pull: OCDS release packages in commit order; the cursor never skips a committed release."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from tests.support import Flow, Seed, assert_error, project_body
from tradesys.clock import AdjustableClock
from tradesys.reporting.validation import release_errors, release_package_errors


async def _history(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                   clock: AdjustableClock) -> None:
    project = await flow.announced()
    clock.advance(timedelta(days=8))
    response = await client.post(
        f"/api/v1/projects/{project['id']}/clarifications", headers=seed.agency.auth,
        json={"title": "修改", "content": "补充", "changes_bid_content": True,
              "new_bid_deadline": (clock.now() + timedelta(days=15)).isoformat()})
    assert response.status_code == 201
    other = await flow.register(by=seed.procurer, procurer_credit_code=None,
                                agency_credit_code=None)
    await client.post(f"/api/v1/projects/{other['id']}/cancel", headers=seed.procurer.auth,
                      json={"reason": "取消"})


async def test_feed_serves_valid_packages_in_commit_order(client: httpx.AsyncClient,
                                                          flow: Flow, seed: Seed,
                                                          clock: AdjustableClock) -> None:
    await _history(client, flow, seed, clock)
    package = (await client.get("/api/v1/platform/releases")).json()
    assert release_package_errors({k: v for k, v in package.items()
                                   if k not in ("links", "next_cursor")}) == []
    tags = [release["tag"] for release in package["releases"]]
    assert tags == [["planning"], ["tender"], ["tenderAmendment"], ["planning"],
                    ["tenderCancellation"]]
    ids = [int(release["id"]) for release in package["releases"]]
    assert ids == sorted(ids)
    for release in package["releases"]:
        assert release["ocid"].startswith("ocds-tsys01-E350100")
        assert {party["roles"][0] for party in release["parties"]} <= {
            "buyer", "procuringEntity"}


async def test_record_compiles_the_releases(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                            clock: AdjustableClock) -> None:
    await _history(client, flow, seed, clock)
    first = (await client.get("/api/v1/platform/releases")).json()["releases"][0]
    record = (await client.get(f"/api/v1/platform/records/{first['ocid']}")).json()
    [entry] = record["records"]
    compiled = entry["compiledRelease"]
    assert release_errors(compiled) == []
    assert compiled["tag"] == ["compiled"]
    assert compiled["tender"]["status"] == "active"
    assert compiled["tender"]["tenderPeriod"]["endDate"] == "2026-03-25T01:00:00Z"
    assert [a["id"] for a in compiled["tender"]["amendments"]] == ["clarification-1"]
    assert len(entry["releases"]) == 3
    assert_error(await client.get("/api/v1/platform/records/ocds-tsys01-NOPE"), 404,
                 "record_not_found")
    assert_error(await client.get("/api/v1/platform/records/other-prefix"), 404,
                 "record_not_found")


async def test_cursor_pages_and_bad_cursors(client: httpx.AsyncClient, flow: Flow,
                                            seed: Seed, clock: AdjustableClock) -> None:
    await _history(client, flow, seed, clock)
    seen: list[str] = []
    cursor = "0"
    for _ in range(10):
        page = (await client.get("/api/v1/platform/releases",
                                 params={"cursor": cursor, "limit": "2"})).json()
        if not page["releases"]:
            break
        seen += [release["id"] for release in page["releases"]]
        cursor = page["next_cursor"]
    assert len(seen) == 5 and seen == sorted(seen)
    assert_error(await client.get("/api/v1/platform/releases", params={"cursor": "-1"}), 400,
                 "invalid_cursor")


async def test_paging_during_concurrent_writes_never_skips(client: httpx.AsyncClient,
                                                          seed: Seed) -> None:
    """Writers commit while a reader pages; at the end the reader has every release."""
    body = project_body(seed.procurer)
    writers_left = [3]
    done = asyncio.Event()

    async def writer() -> None:
        try:
            for _ in range(12):
                response = await client.post("/api/v1/projects", headers=seed.agency.auth,
                                             json=body)
                assert response.status_code == 201
        finally:
            writers_left[0] -= 1
            if writers_left[0] == 0:
                done.set()

    async def reader() -> list[str]:
        seen: list[str] = []
        cursor = "0"
        while True:
            finished = done.is_set()
            page = (await client.get("/api/v1/platform/releases",
                                     params={"cursor": cursor, "limit": "3"})).json()
            seen += [release["id"] for release in page["releases"]]
            cursor = page["next_cursor"]
            if not page["releases"]:
                if finished:
                    return seen
                await asyncio.sleep(0)

    results: list[Any] = await asyncio.gather(writer(), writer(), writer(), reader())
    seen = results[-1]
    everything = (await client.get("/api/v1/platform/releases",
                                   params={"limit": "200"})).json()["releases"]
    assert len(everything) == 36
    assert seen == [release["id"] for release in everything]
