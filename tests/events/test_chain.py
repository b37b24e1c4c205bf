"""The event log: hash chain, append-only triggers, and ``tradesys verify log``."""

from __future__ import annotations

import asyncio
import itertools
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tradesys.clock import AdjustableClock
from tradesys.events.log import GENESIS_HASH, Actor, append_event
from tradesys.events.models import Event, OutboxRow
from tradesys.events.verify import ChainReport, verify_chain
from tradesys.services import Services


async def _append(services: Services, clock: AdjustableClock, n: int) -> None:
    for index in range(n):
        clock.advance(timedelta(seconds=1))
        async with services.db.transaction() as session:
            await append_event(session, actor=Actor(user_id=1, org_id=1, ip="198.51.100.1"),
                               at=clock.now(), aggregate_type="probe",
                               aggregate_id="p1", type="probe.ticked",
                               payload={"index": index, "text": "开标"})


async def _tamper(services: Services, statement: str) -> None:
    """What a database superuser could do: bypass the append-only trigger."""
    async with services.db.transaction() as session:
        connection = await session.connection()
        if services.db.dialect == "postgresql":
            await connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            await connection.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_update")
            await connection.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_delete")
        await connection.exec_driver_sql(statement)


async def _verify(services: Services) -> ChainReport:
    async with services.db.reading() as session:
        return await verify_chain(session)


async def test_events_chain_in_commit_order(services: Services, clock: AdjustableClock) -> None:
    await _append(services, clock, 5)
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event).where(Event.aggregate_type == "probe")
                                      .order_by(Event.seq))).scalars().all()
        all_rows = (await session.execute(select(Event).order_by(Event.seq))).scalars().all()
    assert [row.aggregate_seq for row in rows] == [1, 2, 3, 4, 5]
    assert all_rows[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(all_rows):
        assert after.prev_hash == before.hash and after.seq == before.seq + 1
    report = await _verify(services)
    assert report.ok and report.checked == len(all_rows)


async def test_update_and_delete_are_refused_by_the_database(services: Services,
                                                            clock: AdjustableClock) -> None:
    await _append(services, clock, 1)
    for statement in ("UPDATE events SET type = 'x'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.db.transaction() as session:
                await session.execute(text(statement))
    if services.db.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.db.transaction() as session:
                await session.execute(text("TRUNCATE events CASCADE"))
    assert (await _verify(services)).ok


@pytest.mark.parametrize("statement, reason", [
    ("UPDATE events SET payload = '{\"index\":9}' WHERE seq = {mid}", "altered"),
    ("UPDATE events SET ip = '192.0.2.1' WHERE seq = {mid}", "altered"),
    ("UPDATE events SET occurred_at = occurred_at WHERE seq = {mid}", None),
    ("DELETE FROM events WHERE seq = {mid}", "missing"),
    ("DELETE FROM events WHERE seq = {last}", "removed from the end"),
])
async def test_any_edit_is_found_and_named(services: Services, clock: AdjustableClock,
                                           statement: str, reason: str | None) -> None:
    await _append(services, clock, 4)
    async with services.db.reading() as session:
        last = (await session.execute(text("SELECT max(seq) FROM events"))).scalar_one()
    mid = last - 2
    await _tamper(services, statement.replace("{mid}", str(mid)).replace("{last}", str(last)))
    report = await _verify(services)
    if reason is None:  # a no-op "edit" changes nothing and must not be flagged
        assert report.ok
        return
    assert not report.ok and reason in report.reason
    assert report.bad_seq == (last if "end" in reason else mid)


async def test_swapped_rows_are_found(services: Services, clock: AdjustableClock) -> None:
    await _append(services, clock, 3)
    async with services.db.reading() as session:
        last = (await session.execute(text("SELECT max(seq) FROM events"))).scalar_one()
    # Reorder: give two events each other's position.
    await _tamper(services, f"UPDATE events SET seq = -1 WHERE seq = {last - 1}")
    await _tamper(services, f"UPDATE events SET seq = {last - 1} WHERE seq = {last}")
    await _tamper(services, f"UPDATE events SET seq = {last} WHERE seq = -1")
    report = await _verify(services)
    assert not report.ok and report.bad_seq == last - 1


async def test_reportable_event_writes_its_outbox_row_in_the_same_transaction(
        services: Services, clock: AdjustableClock) -> None:
    with pytest.raises(RuntimeError):
        async with services.db.transaction() as session:
            await append_event(session, actor=Actor(), at=clock.now(), aggregate_type="probe",
                               aggregate_id="x", type="probe.reported", payload={},
                               report_as="NOTICE")
            raise RuntimeError("the command fails after the event")
    async with services.db.reading() as session:
        assert (await session.execute(select(OutboxRow))).scalars().all() == []
        assert (await session.execute(
            select(Event).where(Event.type == "probe.reported"))).scalars().all() == []
    async with services.db.transaction() as session:
        event = await append_event(session, actor=Actor(), at=clock.now(),
                                   aggregate_type="probe", aggregate_id="x",
                                   type="probe.reported", payload={}, report_as="NOTICE")
    async with services.db.reading() as session:
        row = (await session.execute(select(OutboxRow))).scalar_one()
    assert row.event_seq == event.seq and row.topic == "NOTICE" and row.status == "pending"


async def _run_cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradesys.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_verify_log_cli_exit_codes(services: Services, clock: AdjustableClock,
                                         db_url: str) -> None:
    await _append(services, clock, 3)
    code, out, _ = await _run_cli("verify", "log", "--database", db_url)
    assert code == 0 and "chain intact" in out
    await _tamper(services, "UPDATE events SET type = 'probe.forged' WHERE seq = 2")
    code, _, err = await _run_cli("verify", "log", "--database", db_url)
    assert code == 1 and "event 2" in err
