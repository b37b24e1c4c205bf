"""The event log's public tree heads and proofs, through HTTP, on both back ends.

What is proved: the head is signed by the archive key and its root is the RFC 9162 tree of
the events' hashes (recomputed here from the rows); it is published on the schedule only and
never moves inside an open bidding window (a bid does not change it); every proof it serves
verifies; bad parameters get a clear 400 and change nothing.
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from starlette.applications import Starlette

from archive import merkle
from archive.tree_head import verify_tree_head
from tests.bids.test_opening import _envelope
from tests.bids.test_submission import sealing, submit
from tests.events.test_chain import _tamper
from tests.support import T0, Flow, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock, isoformat_utc
from tradesys.events.models import Event
from tradesys.services import Services
from tradesys.signatures import load_public_pem


async def _event_hashes(services: Services) -> list[bytes]:
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event.hash).order_by(Event.seq))).scalars().all()
    return [bytes.fromhex(h) for h in rows]


async def _head(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/v1/log/tree-head")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _checked_head(client: httpx.AsyncClient) -> tuple[dict[str, Any], Any]:
    body = await _head(client)
    key = load_public_pem((await client.get("/api/v1/log/key")).text)
    head = verify_tree_head(key, body)
    assert head is not None, body
    return body, head


async def test_the_head_is_signed_scheduled_and_its_root_is_the_log(
        client: httpx.AsyncClient, services: Services, clock: AdjustableClock,
        settings: Any) -> None:
    key_file = settings.data_dir / "keys" / "archive-signing.pem"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    # At T0 (01:00 UTC) the newest scheduled instant a minute ago is 00:00: the seed's events
    # all occurred at T0, after it.
    body, head = await _checked_head(client)
    assert body["tree_head"]["timestamp"] == isoformat_utc(T0 - timedelta(hours=1))
    assert head.tree_size == 0 and head.root_hash == merkle.EMPTY_ROOT
    clock.advance(timedelta(hours=2))
    body, head = await _checked_head(client)
    assert head.timestamp == T0 + timedelta(hours=1)
    hashes = await _event_hashes(services)
    assert head.tree_size == len(hashes) > 10
    assert head.root_hash == merkle.root_of(hashes)
    assert set(body["tree_head"]) == {"type", "version", "platform_code", "tree_size",
                                      "root_hash", "timestamp"}
    # The same instant gives the very same signed head (Ed25519 is deterministic).
    clock.advance(timedelta(seconds=50))  # 03:00:50: 03:00 is not settled, 02:00 still is
    assert await _head(client) == body


async def test_the_head_does_not_move_inside_an_open_bidding_window(
        client: httpx.AsyncClient, services: Services, clock: AdjustableClock, flow: Flow,
        seed: Seed, app: Starlette) -> None:
    clock.advance(timedelta(hours=2))
    flow.now = clock.now()
    before, seeded = await _checked_head(client)
    project = await flow.announced()
    section = project["notice"]["sections"][0]
    clock.advance(timedelta(hours=5))
    frozen = await _head(client)
    assert frozen["tree_head"]["tree_size"] == seeded.tree_size
    # A bid made hours into the window changes nothing a competitor can see here.
    opening_key = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    response = await submit(client, section["id"], seed.bidder1,
                            _envelope(section, seed.bidder1, opening_key, "9100000.00"))
    assert response.status_code == 201, response.text
    clock.advance(timedelta(days=3))
    assert await _head(client) == frozen
    beyond = await client.get("/api/v1/log/consistency",
                              params={"from": 1, "to": seeded.tree_size + 1})
    assert_error(beyond, 400, "tree_size_not_published")
    assert beyond.json()["error"]["details"] == {"public_tree_size": seeded.tree_size}
    # Past the deadline (the scheduler closes the section) the head catches up at once.
    clock.advance(timedelta(days=19))
    await app.state.scheduler.run_once()
    clock.advance(timedelta(hours=2))  # the closing's events are before the newest instant
    _, later = await _checked_head(client)
    hashes = await _event_hashes(services)
    assert later.tree_size == len(hashes) > seeded.tree_size
    assert later.root_hash == merkle.root_of(hashes)
    proof = await client.get("/api/v1/log/consistency",
                             params={"from": seeded.tree_size, "to": later.tree_size})
    assert proof.status_code == 200, proof.text
    path = [bytes.fromhex(p) for p in proof.json()["consistency_path"]]
    assert merkle.verify_consistency(seeded.tree_size, later.tree_size, seeded.root_hash,
                                     later.root_hash, path)
    # The bid's receipt names its event by hash: that event is provably in the public tree.
    bid_hash = bytes.fromhex(response.json()["receipt"]["event_hash"])
    seq = hashes.index(bid_hash) + 1
    inclusion = await client.get("/api/v1/log/inclusion", params={"seq": seq})
    assert inclusion.status_code == 200, inclusion.text
    assert inclusion.json()["tree_size"] == later.tree_size
    path = [bytes.fromhex(p) for p in inclusion.json()["inclusion_path"]]
    assert merkle.verify_inclusion(merkle.leaf_hash(bid_hash), seq - 1, later.tree_size, path,
                                   later.root_hash)
    assert not merkle.verify_inclusion(merkle.leaf_hash(hashes[0]), seq - 1, later.tree_size,
                                       path, later.root_hash)
    assert before["tree_head"]["tree_size"] == seeded.tree_size


async def test_every_served_proof_verifies(client: httpx.AsyncClient, services: Services,
                                           clock: AdjustableClock) -> None:
    clock.advance(timedelta(hours=2))
    _, head = await _checked_head(client)
    hashes = await _event_hashes(services)
    n = head.tree_size
    roots = {size: merkle.root_of(hashes[:size]) for size in range(n + 1)}
    for first in (0, 1, 2, 3, n // 2, n - 1, n):
        for second in sorted({first, n - 1, n}):
            if second < first:
                continue
            response = await client.get("/api/v1/log/consistency",
                                        params={"from": first, "to": second})
            assert response.status_code == 200, response.text
            path = [bytes.fromhex(p) for p in response.json()["consistency_path"]]
            assert merkle.verify_consistency(first, second, roots[first], roots[second], path)
    for seq in range(1, n + 1):
        for size in sorted({seq, n}):
            response = await client.get("/api/v1/log/inclusion",
                                        params={"seq": seq, "size": size})
            assert response.status_code == 200, response.text
            path = [bytes.fromhex(p) for p in response.json()["inclusion_path"]]
            assert merkle.verify_inclusion(merkle.leaf_hash(hashes[seq - 1]), seq - 1, size,
                                           path, roots[size])


async def test_bad_parameters_are_400_and_change_nothing(
        client: httpx.AsyncClient, services: Services, clock: AdjustableClock,
        flow: Flow) -> None:
    clock.advance(timedelta(hours=2))
    await flow.register()  # events after the public instant
    n = (await _head(client))["tree_head"]["tree_size"]
    async with services.db.reading() as session:
        events = (await session.execute(select(func.count()).select_from(Event))).scalar_one()
    assert events > n  # the log is longer than the public head: the errors must not tell
    counts = await table_counts(services)
    cases = [
        ("consistency", {}, "invalid_from"),
        ("consistency", {"from": ""}, "invalid_from"),
        ("consistency", {"from": "abc"}, "invalid_from"),
        ("consistency", {"from": "-1"}, "invalid_from"),
        ("consistency", {"from": "+1"}, "invalid_from"),
        ("consistency", {"from": "1.0"}, "invalid_from"),
        ("consistency", {"from": " 1"}, "invalid_from"),
        ("consistency", {"from": "１"}, "invalid_from"),
        ("consistency", {"from": "9" * 40}, "invalid_from"),
        ("consistency", {"from": str(2**53)}, "invalid_from"),
        ("consistency", {"from": "1", "to": "x"}, "invalid_to"),
        ("consistency", {"from": "3", "to": "2"}, "invalid_from"),
        ("consistency", {"from": "1", "to": str(n + 1)}, "tree_size_not_published"),
        ("consistency", {"from": str(n + 1)}, "invalid_from"),
        ("consistency", {"from": "1", "to": str(events)}, "tree_size_not_published"),
        ("consistency", {"from": "1", "to": str(2**53 - 1)}, "tree_size_not_published"),
        ("inclusion", {}, "invalid_seq"),
        ("inclusion", {"seq": "0"}, "invalid_seq"),
        ("inclusion", {"seq": "1e3"}, "invalid_seq"),
        ("inclusion", {"seq": str(n + 1)}, "invalid_seq"),
        ("inclusion", {"seq": "2", "size": "1"}, "invalid_seq"),
        ("inclusion", {"seq": "1", "size": "0"}, "invalid_size"),
        ("inclusion", {"seq": "1", "size": "²"}, "invalid_size"),
        ("inclusion", {"seq": "1", "size": str(n + 1)}, "tree_size_not_published"),
        ("inclusion", {"seq": "1", "size": str(events)}, "tree_size_not_published"),
    ]
    for endpoint, params, code in cases:
        response = await client.get(f"/api/v1/log/{endpoint}", params=params)
        error = assert_error(response, 400, code)
        if code == "tree_size_not_published":
            assert error["details"] == {"public_tree_size": n}
    assert await table_counts(services) == counts


async def test_a_log_with_a_gap_is_a_clear_503_not_a_500(
        client: httpx.AsyncClient, services: Services, clock: AdjustableClock) -> None:
    """What a database superuser could do (tests/events/test_chain.py): the tree refuses to
    cover a log with a hole, and says so."""
    await _tamper(services, "DELETE FROM events WHERE seq = 5")
    clock.advance(timedelta(hours=2))
    for path, params in (("tree-head", {}), ("consistency", {"from": "1", "to": "1"}),
                         ("inclusion", {"seq": "1"})):
        response = await client.get(f"/api/v1/log/{path}", params=params)
        assert_error(response, 503, "log_broken")
        assert "event 5" in response.json()["error"]["message"]


async def test_a_malformed_hash_is_a_clear_503(
        client: httpx.AsyncClient, services: Services, clock: AdjustableClock) -> None:
    await _tamper(services, "UPDATE events SET hash = 'not hex' WHERE seq = 3")
    clock.advance(timedelta(hours=2))
    assert_error(await client.get("/api/v1/log/tree-head"), 503, "log_broken")


async def test_the_earliest_open_window_holds_the_head(
        client: httpx.AsyncClient, services: Services, clock: AdjustableClock, flow: Flow,
        app: Starlette) -> None:
    clock.advance(timedelta(hours=2))
    flow.now = clock.now()
    _, seeded = await _checked_head(client)
    await flow.announced()  # window one opens at 03:00, its deadline 21 days later
    clock.advance(timedelta(days=10))
    flow.now = two_opens = clock.now()
    await flow.announced()  # window two opens ten days later
    clock.advance(timedelta(days=12))
    # Window one's deadline has passed, but its sections are tendering until closed.
    assert (await _head(client))["tree_head"]["tree_size"] == seeded.tree_size
    await app.state.scheduler.run_once()  # closes window one only
    clock.advance(timedelta(hours=2))
    _, head = await _checked_head(client)
    assert head.timestamp == two_opens  # held at the start of the window still open
    async with services.db.reading() as session:
        before_two = (await session.execute(select(func.count()).select_from(Event).where(
            Event.occurred_at < two_opens))).scalar_one()
    assert head.tree_size == before_two > seeded.tree_size
    assert head.root_hash == merkle.root_of((await _event_hashes(services))[:before_two])
    # The server clock never goes back, but the publisher asked about an earlier instant than
    # its last computes that head afresh rather than extending its state past it.
    publisher = services.tree_heads
    assert publisher is not None
    async with services.db.reading() as session:
        earlier = await publisher.current(session, T0 + timedelta(minutes=30))
        seeded_again = await publisher.current(session, T0 + timedelta(hours=2))
    assert (earlier.head.tree_size, earlier.head.root_hash) == (0, merkle.EMPTY_ROOT)
    assert seeded_again.head == seeded
