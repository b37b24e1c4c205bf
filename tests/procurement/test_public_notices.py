"""The public notice list: no login, newest first, keyset cursor that never skips or repeats."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from tests.support import Flow, Seed, assert_error
from tradesys.clock import AdjustableClock
from tradesys.read_cache import ReadCache
from tradesys.services import Services


async def test_notices_page_newest_first_without_gaps(client: httpx.AsyncClient, flow: Flow,
                                                      seed: Seed,
                                                      clock: AdjustableClock) -> None:
    ids = []
    for _ in range(5):
        flow.now = clock.now()
        ids.append((await flow.announced())["notice"]["id"])
        clock.advance(timedelta(minutes=1))
    # Two notices in the same instant: the id breaks the tie.
    clock_now = clock.now()
    for _ in range(2):
        flow.now = clock_now
        ids.append((await flow.announced())["notice"]["id"])
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/notices", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_a_notice_published_while_paging_never_shifts_the_pages(
        client: httpx.AsyncClient, flow: Flow, clock: AdjustableClock) -> None:
    first = [(await flow.announced())["notice"]["id"] for _ in range(3)]
    page = (await client.get("/api/v1/notices", params={"limit": "2"})).json()
    clock.advance(timedelta(minutes=1))
    flow.now = clock.now()
    await flow.announced()
    rest = (await client.get("/api/v1/notices",
                             params={"limit": "2", "cursor": page["next_cursor"]})).json()
    assert [i["id"] for i in page["items"] + rest["items"]] == list(reversed(first))


async def test_bad_paging_parameters(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/notices", params={"cursor": "!!"}), 400,
                 "invalid_cursor")
    assert_error(await client.get("/api/v1/notices", params={"cursor": "WyJ4Il0"}), 400,
                 "invalid_cursor")
    assert_error(await client.get("/api/v1/notices", params={"limit": "0"}), 400,
                 "invalid_limit")
    assert_error(await client.get("/api/v1/notices", params={"limit": "201"}), 400,
                 "invalid_limit")
    assert_error(await client.get("/api/v1/notices/12345"), 404, "notice_not_found")


async def test_server_time_is_public(client: httpx.AsyncClient, clock: AdjustableClock) -> None:
    body = (await client.get("/api/v1/time")).json()
    assert body == {"now": "2026-03-02T01:00:00Z", "timezone": "Asia/Shanghai",
                    "display": "2026-03-02 09:00:00"}


async def test_a_cached_page_never_outlives_a_publication(
        client: httpx.AsyncClient, flow: Flow, clock: AdjustableClock,
        services: Services) -> None:
    """The list's pages are cached (bench/api.py); a commit drops them, so a new notice, or a
    cancellation, shows at once."""
    first = (await flow.announced())["notice"]["id"]
    # On PostgreSQL the notifications of our own commits reach the backplane a little later
    # (seconds on a loaded machine) and each drops the cache once; read until a page is served
    # from it, a bounded number of times.
    for _ in range(100):
        page = (await client.get("/api/v1/notices")).json()
        assert [item["id"] for item in page["items"]] == [first]
        if services.read_cache.hits:
            break
        await asyncio.sleep(0.05)
    assert services.read_cache.hits >= 1  # a later read came from the cache
    clock.advance(timedelta(minutes=1))
    flow.now = clock.now()
    second = (await flow.announced())["notice"]["id"]
    page = (await client.get("/api/v1/notices")).json()
    assert [item["id"] for item in page["items"]] == [second, first]


def test_a_read_that_began_before_a_commit_is_not_kept() -> None:
    cache = ReadCache()
    generation = cache.generation
    cache.invalidate()  # a commit lands while the read is at the database
    cache.put("page", generation, b"old")
    assert cache.get("page") is None
    cache.put("page", cache.generation, b"new")
    assert cache.get("page") == b"new"
    cache.invalidate()
    assert cache.get("page") is None


def test_cache_entries_expire_and_the_oldest_go_first() -> None:
    cache = ReadCache(max_entries=2, ttl=0.0)
    cache.put("a", cache.generation, b"a")
    assert cache.get("a") is None  # ttl 0: expired at once
    cache = ReadCache(max_entries=2)
    for key in ("a", "b", "c"):
        cache.put(key, cache.generation, key.encode())
    assert cache.get("a") is None and cache.get("b") == b"b" and cache.get("c") == b"c"
