"""Pull: OCDS release packages in commit order; the cursor never skips a committed release."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.bids.test_submission import seal_bid, sealing, submit
from tests.support import Flow, Seed, announce_body, assert_error
from tradesys.clock import AdjustableClock
from tradesys.events.models import Event, OutboxRow
from tradesys.reporting.validation import release_errors, release_package_errors
from tradesys.services import Services


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
    # The other project was registered and cancelled, never announced: never public.
    assert tags == [["planning"], ["tender"], ["tenderAmendment"]]
    # A release is named by its log entry's hash: unique, and no count of anything.
    ids = [release["id"] for release in package["releases"]]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[0-9a-f]{64}", i) for i in ids)
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
    assert len(seen) == 3 and len(set(seen)) == 3
    assert seen == [r["id"] for r in (await client.get("/api/v1/platform/releases")).json()[
        "releases"]]
    assert_error(await client.get("/api/v1/platform/releases", params={"cursor": "-1"}), 400,
                 "invalid_cursor")


async def test_paging_during_concurrent_writes_never_skips(client: httpx.AsyncClient,
                                                          flow: Flow) -> None:
    """Writers commit while a reader pages; at the end the reader has every release."""
    writers_left = [3]
    done = asyncio.Event()

    async def writer() -> None:
        try:
            for _ in range(6):  # each announced project: a planning and a tender release
                await flow.announced()
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


async def test_registered_unannounced_projects_are_in_no_public_feed(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    """Nothing of a project is public before its notice: the API hides it from bidders and
    other agencies (404), and so do the release feed and the record endpoint."""
    hidden = await flow.register(name="尚未公告的秘密项目")
    await flow.upload(hidden["id"])
    ocid = f"{services.reporting.ocid_prefix}-{hidden['code']}"
    assert (await client.get(f"/api/v1/projects/{hidden['id']}", headers=seed.bidder1.auth)
            ).status_code == 404
    feed = await client.get("/api/v1/platform/releases")
    assert feed.status_code == 200
    assert feed.json()["releases"] == []
    assert hidden["code"] not in feed.text and "尚未公告的秘密项目" not in feed.text
    assert_error(await client.get(f"/api/v1/platform/records/{ocid}"), 404, "record_not_found")
    # The platform is still told at registration (push), as the data spec wants.
    async with services.db.reading() as session:
        assert (await session.execute(select(OutboxRow.topic).where(
            OutboxRow.project_id == hidden["id"]))).scalars().all() == ["TENDER_PROJECT"]
    # A reader that has passed the registration meanwhile still gets it, at the notice.
    cursor = feed.json()["next_cursor"]
    shown = await flow.announced(title="公开的招标公告")
    announced = await client.post(
        f"/api/v1/projects/{hidden['id']}/announce", headers=seed.agency.auth,
        json=announce_body(flow.now, seed))
    assert announced.status_code == 201, announced.text
    page = (await client.get("/api/v1/platform/releases", params={"cursor": cursor})).json()
    assert release_package_errors({k: v for k, v in page.items()
                                   if k not in ("links", "next_cursor")}) == []
    order = [(release["ocid"].rsplit("-", 1)[1], release["tag"]) for release in page["releases"]]
    assert order == [(shown["code"], ["planning"]), (shown["code"], ["tender"]),
                     (hidden["code"], ["planning"]), (hidden["code"], ["tender"])]
    record = (await client.get(f"/api/v1/platform/records/{ocid}")).json()
    assert [r["tag"] for r in record["records"][0]["releases"]] == [["planning"], ["tender"]]
    # Paging one release at a time: the same releases, none twice, none skipped.
    seen: list[str] = []
    cursor, pages = "0", 0
    while pages < 20:
        pages += 1
        page = (await client.get("/api/v1/platform/releases",
                                 params={"cursor": cursor, "limit": "1"})).json()
        if not page["releases"]:
            break
        seen += [f"{r['ocid']}/{r['id']}" for r in page["releases"]]
        cursor = page["next_cursor"]
    everything = (await client.get("/api/v1/platform/releases")).json()["releases"]
    assert seen == [f"{r['ocid']}/{r['id']}" for r in everything] and len(seen) == 4


async def test_a_project_cancelled_before_its_notice_never_appears(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    project = await flow.register()
    cancelled = await client.post(f"/api/v1/projects/{project['id']}/cancel",
                                  headers=seed.agency.auth, json={"reason": "取消"})
    assert cancelled.status_code in (200, 201), cancelled.text
    assert (await client.get("/api/v1/platform/releases")).json()["releases"] == []
    ocid = f"{services.reporting.ocid_prefix}-{project['code']}"
    assert_error(await client.get(f"/api/v1/platform/records/{ocid}"), 404, "record_not_found")


async def test_what_happens_between_two_public_releases_does_not_show_in_the_feed(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock) -> None:
    """Issue 10: the feed's cursor and ids were event sequence numbers, so the gap between
    two public releases counted the platform's events in between, bids before the deadline
    included. Now consecutive public releases are one apart whatever happened between them,
    and a release is named by its log entry's hash."""
    project = await flow.announced()
    section = project["notice"]["sections"][0]
    url = "/api/v1/platform/releases"

    async def clarify(title: str) -> None:
        response = await client.post(
            f"/api/v1/projects/{project['id']}/clarifications", headers=seed.agency.auth,
            json={"title": title, "content": "补充说明", "changes_bid_content": False})
        assert response.status_code == 201, response.text

    async def page_after(cursor: str) -> dict[str, Any]:
        page: dict[str, Any] = (await client.get(url, params={"cursor": cursor})).json()
        return page

    start = (await page_after("0"))["next_cursor"]
    await clarify("第一次澄清")
    first = await page_after(start)
    [one] = first["releases"]
    assert int(first["next_cursor"]) == int(start) + 1

    # Between two publications: three bids (one a replacement), a bid withdrawn and a
    # project registered but not announced — many events, nothing public.
    async with services.db.reading() as session:
        head_before = (await session.execute(select(Event.seq).order_by(
            Event.seq.desc()).limit(1))).scalar_one()
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    for party in (seed.bidder1, seed.bidder2, seed.bidder1):
        response = await submit(client, section["id"], party, seal_bid(section, party, opening))
        assert response.status_code == 201, response.text
    withdrawn = await client.post(f"/api/v1/sections/{section['id']}/bids/withdraw",
                                  headers=seed.bidder2.auth)
    assert withdrawn.status_code == 200, withdrawn.text
    await flow.register(name="尚未公告的项目")
    async with services.db.reading() as session:
        head_after = (await session.execute(select(Event.seq).order_by(
            Event.seq.desc()).limit(1))).scalar_one()
    assert head_after - head_before >= 5  # the log moved on; the feed must not show it
    assert (await page_after(first["next_cursor"]))["releases"] == []

    await clarify("第二次澄清")
    second = await page_after(first["next_cursor"])
    [two] = second["releases"]
    assert int(second["next_cursor"]) == int(first["next_cursor"]) + 1
    # The ids name log entries by hash: no number to subtract.
    async with services.db.reading() as session:
        hashes = set((await session.execute(select(Event.hash).where(
            Event.type == "clarification.published"))).scalars())
    assert {one["id"], two["id"]} <= hashes
    for release in (one, two):
        assert re.fullmatch(r"[0-9a-f]{64}", release["id"])
    # The whole feed is numbered 1, 2, 3, … with no gaps.
    async with services.db.reading() as session:
        numbers = list((await session.execute(select(OutboxRow.public_seq).where(
            OutboxRow.public_seq.is_not(None)).order_by(OutboxRow.public_seq))).scalars())
    assert numbers == list(range(1, len(numbers) + 1))
    assert int(second["next_cursor"]) == numbers[-1]
