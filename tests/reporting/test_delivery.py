"""Push: every report arrives exactly once in effect, in order per project, whatever happens."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from tests.reporting.conftest import Receiver, make_relay
from tests.support import Flow, Seed
from tradesys.clock import AdjustableClock
from tradesys.events.models import OutboxRow
from tradesys.receiver.app import create_receiver_app
from tradesys.reporting.relay import Relay, replay
from tradesys.reporting.report import Report
from tradesys.services import Services


async def _busy_history(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                        clock: AdjustableClock) -> list[int]:
    """Two projects with several reportable steps each, interleaved."""
    first = await flow.announced()
    second = await flow.announced()
    clock.advance(timedelta(days=1))
    for project in (first, second, first):
        response = await client.post(
            f"/api/v1/projects/{project['id']}/clarifications", headers=seed.agency.auth,
            json={"title": "澄清", "content": "说明", "changes_bid_content": False})
        assert response.status_code == 201
    response = await client.post(f"/api/v1/projects/{second['id']}/cancel",
                                 headers=seed.agency.auth, json={"reason": "终止"})
    assert response.status_code == 200
    return [first["id"], second["id"]]


async def _outbox(services: Services) -> list[OutboxRow]:
    async with services.db.reading() as session:
        return list((await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())


def _assert_in_order_once(reports: list[dict[str, Any]], rows: list[OutboxRow]) -> None:
    keys = [item["key"] for item in reports]
    assert len(keys) == len(set(keys)) == len(rows)
    by_project: dict[str, list[int]] = defaultdict(list)
    for item in sorted(reports, key=lambda item: item["arrival"]):
        by_project[item["ocid"]].append(item["event_seq"])
    for sequence in by_project.values():
        assert sequence == sorted(sequence)
    assert {item["event_seq"] for item in reports} == {row.event_seq for row in rows}


async def test_every_step_is_delivered_once_in_order(client: httpx.AsyncClient, flow: Flow,
                                                     seed: Seed, clock: AdjustableClock,
                                                     services: Services,
                                                     receiver: Receiver) -> None:
    await _busy_history(client, flow, seed, clock)
    relay = make_relay(services, receiver.url)
    try:
        delivered = await relay.run_once()
        assert await relay.run_once() == 0
    finally:
        await relay.stop()
    rows = await _outbox(services)
    assert delivered == len(rows) == 8
    assert {row.status for row in rows} == {"delivered"}
    reports = receiver.reports()
    _assert_in_order_once(reports, rows)
    datasets = [item["dataset"] for item in sorted(reports, key=lambda i: i["event_seq"])]
    assert datasets.count("TENDER_PROJECT") == 2 and datasets.count("NOTICE") == 3
    assert datasets.count("TENDER_FILE_CLARI_MODI") == 3


async def test_receiver_down_then_failing_then_back(client: httpx.AsyncClient, flow: Flow,
                                                   seed: Seed, clock: AdjustableClock,
                                                   services: Services, tmp_path: Path) -> None:
    await _busy_history(client, flow, seed, clock)
    peer = Receiver(services, clock, tmp_path)  # its port is chosen but nothing listens yet
    relay = make_relay(services, peer.url, base_delay=1.0, max_attempts=50)
    try:
        for _ in range(3):  # connection refused
            assert await relay.run_once() == 0
            clock.advance(timedelta(minutes=10))
        rows = await _outbox(services)
        heads = [row for row in rows if row.attempts]
        assert heads and all(row.status == "pending" for row in rows)
        assert all("ConnectError" in (row.last_error or "") for row in heads)
        # Only the head of each project was tried: nothing later jumped the queue.
        assert sorted({row.project_id for row in heads}) == sorted(
            {row.project_id for row in rows}) and len(heads) == 2
        peer.switch.failing = True
        peer.start()
        for _ in range(3):  # up, but answering 500
            assert await relay.run_once() == 0
            clock.advance(timedelta(minutes=10))
        assert peer.switch.failures >= 2
        assert peer.reports() == []
        peer.switch.failing = False
        delivered = await relay.run_once()
        rows = await _outbox(services)
        assert delivered == len(rows)
        _assert_in_order_once(peer.reports(), rows)
    finally:
        await relay.stop()
        peer.stop()


class Killed(Exception):
    """The relay's process ends here: nothing after this point of the pass runs."""


class DiesAfterSending(Relay):
    """A relay process that dies right after the receiver took a report, before recording it."""

    def __init__(self, *args: Any, deaths_after: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.left = deaths_after

    async def _send(self, report: Report) -> tuple[bool, bool, str]:
        if self.left == 0:
            await super()._send(report)  # the receiver takes it, then the process is gone
            raise Killed("relay killed")
        self.left -= 1
        return await super()._send(report)


async def test_relay_killed_mid_batch_resends_without_duplicates(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, clock: AdjustableClock,
        services: Services, receiver: Receiver) -> None:
    await _busy_history(client, flow, seed, clock)
    dying = DiesAfterSending(services.db, services.clock, services.reporting,
                             f"{receiver.url}/reports", services.report_key, deaths_after=3,
                             parallel=1, settle_every=2)
    try:
        await dying.run_once()
    except* Killed:
        pass
    finally:
        await dying.stop()
    rows = await _outbox(services)
    # Acknowledgements are recorded two at a time: the third was acknowledged but not yet
    # recorded, the fourth arrived as the process died. Both will be sent again.
    assert sum(row.status == "delivered" for row in rows) == 2
    assert len(receiver.reports()) == 4
    clock.advance(timedelta(minutes=5))  # the dead relay's lease runs out
    relay = make_relay(services, receiver.url)
    try:
        await relay.run_once()
    finally:
        await relay.stop()
    rows = await _outbox(services)
    assert {row.status for row in rows} == {"delivered"}
    _assert_in_order_once(receiver.reports(), rows)


async def test_dead_letter_holds_its_project_until_replayed(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, clock: AdjustableClock,
        services: Services, receiver: Receiver) -> None:
    await _busy_history(client, flow, seed, clock)
    receiver.switch.failing = True
    relay = make_relay(services, receiver.url, max_attempts=3)
    try:
        for _ in range(4):
            await relay.run_once()
            clock.advance(timedelta(hours=1))
        rows = await _outbox(services)
        dead = [row for row in rows if row.status == "dead"]
        assert len(dead) == 2 and all(row.attempts == 3 for row in dead)
        assert not any(row.status == "delivered" for row in rows)
        receiver.switch.failing = False
        assert await relay.run_once() == 0  # dead heads hold their projects back
        assert await replay(services.db, clock) == 2
        await relay.run_once()
    finally:
        await relay.stop()
    rows = await _outbox(services)
    assert {row.status for row in rows} == {"delivered"}
    _assert_in_order_once(receiver.reports(), rows)


async def test_reports_hold_no_confidential_data(client: httpx.AsyncClient, flow: Flow,
                                                 seed: Seed, clock: AdjustableClock,
                                                 services: Services,
                                                 receiver: Receiver) -> None:
    project = await flow.announced()
    documents = (await client.get(f"/api/v1/projects/{project['id']}/documents",
                                  headers=seed.bidder1.auth)).json()["items"]
    await client.get(f"/api/v1/projects/{project['id']}/documents/{documents[0]['id']}/content",
                     headers={**seed.bidder1.auth, "User-Agent": "SecretAgent/1.0"})
    relay = make_relay(services, receiver.url)
    try:
        await relay.run_once()
    finally:
        await relay.stop()
    bodies = json.dumps(receiver.reports(), ensure_ascii=False)
    assert "203.0.113.7" not in bodies  # the callers' network address
    assert "SecretAgent" not in bodies and seed.bidder1.credit_code not in bodies
    assert "password" not in bodies.lower()


async def test_replay_cli_requeues_dead_letters(client: httpx.AsyncClient, flow: Flow,
                                                seed: Seed, clock: AdjustableClock,
                                                services: Services, receiver: Receiver,
                                                db_url: str) -> None:
    await flow.announced()
    receiver.switch.failing = True
    relay = make_relay(services, receiver.url, max_attempts=1)
    try:
        await relay.run_once()
        assert {row.status for row in await _outbox(services)} == {"dead", "pending"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tradesys.cli", "platform", "replay", "--database", db_url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
        assert process.returncode == 0, err
        assert out.decode().startswith("1 dead-lettered report(s) queued again")
        receiver.switch.failing = False
        # The CLI ran on the machine's clock, which is the server clock in production.
        clock.set(datetime.now(UTC) + timedelta(minutes=1))
        await relay.run_once()
    finally:
        await relay.stop()
    assert {row.status for row in await _outbox(services)} == {"delivered"}


async def test_timeouts_and_dropped_connections_are_retried_in_order(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, clock: AdjustableClock,
        services: Services, receiver: Receiver) -> None:
    await _busy_history(client, flow, seed, clock)

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()  # accept the connection, then close it without an answer

    dropper = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = dropper.sockets[0].getsockname()[1]
    dropping = make_relay(services, f"http://127.0.0.1:{port}", max_attempts=50)
    try:
        assert await dropping.run_once() == 0
    finally:
        await dropping.stop()
        dropper.close()
        await dropper.wait_closed()
    rows = await _outbox(services)
    assert all(row.status == "pending" for row in rows)
    assert sum(bool(row.attempts) for row in rows) == 2  # each project's head, no further
    receiver.switch.stall = 1.0  # answers after 1 s; the relay waits 0.2 s
    slow = Relay(services.db, services.clock, services.reporting, f"{receiver.url}/reports",
                 services.report_key, timeout=0.2, max_attempts=50)
    try:
        clock.advance(timedelta(minutes=10))
        assert await slow.run_once() == 0
        assert all("Timeout" in (row.last_error or "") for row in await _outbox(services)
                   if row.attempts >= 2)
    finally:
        await slow.stop()
    receiver.switch.stall = 0.0
    clock.advance(timedelta(minutes=10))
    patient = make_relay(services, receiver.url)  # a normal timeout: a busy CI machine is slow
    try:
        await patient.run_once()
    finally:
        await patient.stop()
    rows = await _outbox(services)
    assert {row.status for row in rows} == {"delivered"}
    # The timed-out attempts may have been stored by the receiver anyway: still once each.
    _assert_in_order_once(receiver.reports(), rows)


async def test_a_receiver_whose_clock_disagrees_is_retried_signed_afresh(
        client: httpx.AsyncClient, flow: Flow, clock: AdjustableClock, services: Services,
        tmp_path: Path) -> None:
    """401 ``stale_signature`` (the two clocks disagree) is retried, signed afresh. Found when
    the demo moved its clock while a report was in flight and the report was dead-lettered."""
    await flow.announced()
    receiver_clock = AdjustableClock(clock.now() + timedelta(hours=1), frozen=True)
    skewed = Receiver(services, receiver_clock, tmp_path)
    skewed.start()
    relay = make_relay(services, skewed.url)
    try:
        assert await relay.run_once() == 0
        head = (await _outbox(services))[0]
        assert head.status == "pending" and head.attempts == 1
        assert "stale_signature" in (head.last_error or "")
        clock.advance(timedelta(hours=1))  # the clocks agree again, after the backoff
        await relay.run_once()
    finally:
        await relay.stop()
        skewed.stop()
    assert {row.status for row in await _outbox(services)} == {"delivered"}


async def test_a_bad_signature_is_dead_at_once(flow: Flow, clock: AdjustableClock,
                                               services: Services, tmp_path: Path) -> None:
    await flow.announced()
    stranger = Receiver(services, clock, tmp_path)
    stranger.switch.app = create_receiver_app(
        f"sqlite+aiosqlite:///{tmp_path / 'other.db'}",
        platform_code=services.reporting.pub_service_plat_code,
        trusted={services.reporting.platform_code: Ed25519PrivateKey.generate().public_key()},
        clock=clock)
    stranger.start()
    relay = make_relay(services, stranger.url)
    try:
        await relay.run_once()
    finally:
        await relay.stop()
        stranger.stop()
    rows = await _outbox(services)
    assert rows[0].status == "dead" and rows[0].attempts == 1
    assert "bad_signature" in (rows[0].last_error or "")
