"""Benchmark: report delivery to the reference receiver, against a bare loop of HTTP POSTs.

    .venv/bin/python bench/reporting.py [--events 10000] [--projects 20] [--database URL]

In one run, with the receiver in a separate process (``tradesys platform-receiver``, its own
SQLite file) on loopback:

1. **lag**: the relay runs in the background while a writer commits N reportable events
   (clarifications spread over the projects) as fast as it can; for each report, lag is the
   receiver's ``received_at`` minus the event's commit time. Prints p50/p99.
2. **rate**: N more events are committed with the relay stopped, then the relay drains them;
   reports per second. The baseline: the same number of signed bodies of the same size POSTed
   one after another by a bare httpx loop to a second, fresh receiver. Prints both and the
   ratio. (The relay is sequential per pass, like the baseline loop.)

The fixture data is written with the domain functions (registrations through
``register_project``, events through ``append_event``); nothing is mocked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tradesys.clock import SystemClock, isoformat_utc  # noqa: E402
from tradesys.db.database import Database  # noqa: E402
from tradesys.db.migrate import upgrade  # noqa: E402
from tradesys.demo.scenario import random_credit_code  # noqa: E402
from tradesys.events.log import Actor, append_event  # noqa: E402
from tradesys.identity.principal import Principal  # noqa: E402
from tradesys.identity.roles import Role  # noqa: E402
from tradesys.identity.service import create_user, register_organisation  # noqa: E402
from tradesys.procurement.commands import RegisterProject  # noqa: E402
from tradesys.procurement.projects import register_project  # noqa: E402
from tradesys.reporting.facts import ReportingSettings  # noqa: E402
from tradesys.reporting.relay import Relay  # noqa: E402
from tradesys.reporting.signing import sign_headers  # noqa: E402
from tradesys.signatures import load_or_create_key, public_pem  # noqa: E402

SETTINGS = ReportingSettings(platform_code="TS0000000001", pub_service_plat_code="PSP0000000001",
                             ocid_prefix="ocds-tsys01", public_base_url="http://127.0.0.1:8000",
                             publisher_name="bench")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_receiver(workdir: Path, name: str, pem: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tradesys.cli", "platform-receiver", "--port", str(port),
         "--database", f"sqlite+aiosqlite:///{workdir / name}",
         "--trust", f"{SETTINGS.platform_code}={pem}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/stats", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the receiver did not start")


async def seed_projects(db: Database, projects: int) -> list[tuple[int, list[str]]]:
    now = SystemClock().now()
    async with db.transaction() as session:
        procurer = await register_organisation(session, name="采购人",
                                               credit_code=random_credit_code(),
                                               actor=Actor(), at=now)
        user = await create_user(session, org_id=procurer.id, username="bench-procurer",
                                 display_name="bench", password=secrets.token_urlsafe(16),
                                 role=Role.PROCURER, actor=Actor(), at=now)
    principal = Principal(user_id=user.id, org_id=procurer.id, username="bench-procurer",
                          role=Role.PROCURER)
    made = []
    for index in range(projects):
        command = RegisterProject.model_validate_json(json.dumps({
            "name": f"基准测试项目{index}", "trade_type": "works", "category": "works",
            "procedure": "open", "region_code": "350100", "content": "基准测试",
            "owner_name": "采购人",
            "sections": [{"name": "施工", "content": "施工", "ceiling_price": "950000.00",
                          "bid_security": "10000.00"}]}))
        async with db.transaction() as session:
            project = await register_project(session, principal, command, now)
            made.append((project.id, [f"{project.code}001"]))
    return made


async def commit_events(db: Database, projects: list[tuple[int, list[str]]], count: int,
                        start_number: int) -> None:
    clock = SystemClock()
    deadline = isoformat_utc(clock.now() + timedelta(days=30))
    for index in range(count):
        project_id, sections = projects[index % len(projects)]
        async with db.transaction() as session:
            await append_event(
                session, actor=Actor(user_agent="bench"), at=clock.now(),
                aggregate_type="project", aggregate_id=project_id, project_id=project_id,
                type="clarification.published", report_as="TENDER_FILE_CLARI_MODI",
                payload={"clarification_id": start_number + index,
                         "number": start_number + index, "title": "澄清",
                         "content": "基准测试澄清内容" * 8, "project_code": sections[0][:-3],
                         "changes_bid_content": False, "previous_bid_deadline": deadline,
                         "bid_deadline": deadline, "document_id": None,
                         "opening_place": "网上开标大厅",
                         "sections": [{"code": code, "ceiling_price": "950000.00",
                                       "bid_security": "10000.00"} for code in sections]})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def lag_phase(db: Database, relay: Relay, projects: list[tuple[int, list[str]]],
                    events: int, receiver: str, rate: float) -> dict[str, float]:
    relay.start()
    writer_started = time.perf_counter()
    # Commits arrive at a steady offered rate; each wakes the relay, as the API's commit
    # listener does in the server.
    chunk = 10
    for start in range(0, events, chunk):
        await commit_events(db, projects, min(chunk, events - start), 1_000_000 + start)
        relay.wake()
        ahead = (start + chunk) / rate - (time.perf_counter() - writer_started)
        await asyncio.sleep(max(0.0, ahead))
    write_seconds = time.perf_counter() - writer_started
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(6000):
            stats = (await client.get(f"{receiver}/stats")).json()
            if stats["total"] >= events + len(projects):
                break
            await asyncio.sleep(0.05)
    await relay.stop()
    lags = []
    after = 0
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            items = (await client.get(f"{receiver}/reports", params={"after": after})).json()[
                "items"]
            if not items:
                break
            for item in items:
                if item["dataset"] != "TENDER_FILE_CLARI_MODI":
                    continue
                # DATA_TIMESTAMP and the release date have second precision: use the event's
                # commit time, which the record carries to the microsecond.
                committed = datetime.fromisoformat(item["report"]["committed_at"])
                received = datetime.fromisoformat(item["received_at"])
                lags.append((received - committed).total_seconds())
            after = items[-1]["arrival"]
    return {"p50": percentile(lags, 0.5), "p99": percentile(lags, 0.99), "count": len(lags),
            "write_rate": events / write_seconds}


async def rate_phase(db: Database, relay: Relay, projects: list[tuple[int, list[str]]],
                     events: int) -> float:
    await commit_events(db, projects, events, 2_000_000)
    started = time.perf_counter()
    delivered = 0
    while delivered < events:
        sent = await relay.run_once()
        if sent == 0:
            break
        delivered += sent
    elapsed = time.perf_counter() - started
    await relay.stop()
    return delivered / elapsed


async def baseline_phase(receiver: str, key: Any, bodies: list[tuple[str, bytes]]) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        for msg_id, body in bodies:
            headers = {"content-type": "application/json", "idempotency-key": msg_id,
                       **sign_headers(key, msg_id, datetime.now(UTC), body)}
            response = await client.post(f"{receiver}/reports", content=body, headers=headers)
            if response.status_code != 201:
                raise SystemExit(f"baseline POST refused: {response.status_code} {response.text}")
        return len(bodies) / (time.perf_counter() - started)


async def sample_bodies(db: Database, count: int) -> list[tuple[str, bytes]]:
    """Bodies exactly like the relay's, under fresh keys (a fresh receiver stores each once)."""
    from sqlalchemy import select

    from tradesys.events.models import OutboxRow
    from tradesys.reporting.report import report_for

    async with db.reading() as session:
        row = (await session.execute(
            select(OutboxRow).where(OutboxRow.topic == "TENDER_FILE_CLARI_MODI").limit(1)
        )).scalar_one()
        report = await report_for(session, row, SETTINGS)
    document = json.loads(report.body)
    bodies = []
    for index in range(count):
        release_id = f"9{index:011d}"
        document["release"]["id"] = release_id
        document["id"] = f"{document['release']['ocid']}/{release_id}"
        bodies.append((document["id"], json.dumps(document, ensure_ascii=False, sort_keys=True,
                                                  separators=(",", ":")).encode()))
    return bodies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--database", default="")
    parser.add_argument("--rate", type=float, default=100.0,
                        help="events committed per second during the lag phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tradesys-bench-") as tmp:
        workdir = Path(tmp)
        url = args.database or f"sqlite+aiosqlite:///{workdir / 'tradesys.db'}"
        await asyncio.to_thread(upgrade, url)
        key = load_or_create_key(workdir / "report.pem")
        pem = workdir / "report.pub.pem"
        pem.write_text(public_pem(key))
        receiver, receiver_url = start_receiver(workdir, "receiver.db", pem)
        baseline, baseline_url = start_receiver(workdir, "baseline.db", pem)
        db = Database(url)
        try:
            projects = await seed_projects(db, args.projects)
            endpoint = f"{receiver_url}/reports"
            lag = await lag_phase(db, Relay(db, SystemClock(), SETTINGS, endpoint, key,
                                            interval=0.05), projects, args.events, receiver_url,
                              args.rate)
            relay_rate = await rate_phase(db, Relay(db, SystemClock(), SETTINGS, endpoint, key),
                                          projects, args.events)
            bodies = await sample_bodies(db, args.events)
            bare_rate = await baseline_phase(baseline_url, key, bodies)
        finally:
            await db.dispose()
            for process in (receiver, baseline):
                process.terminate()
                process.wait(timeout=10)
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"reporting benchmark: {args.events} events over {args.projects} projects, "
          f"database {backend}, receiver in its own process, {os.cpu_count()} cores")
    print(f"  end-to-end lag (commit -> stored by receiver): p50 {lag['p50'] * 1000:.1f} ms, "
          f"p99 {lag['p99'] * 1000:.1f} ms over {lag['count']} reports "
          f"(offered {args.rate:.0f}/s, writer committed {lag['write_rate']:.0f} events/s)")
    print(f"  relay drain rate:        {relay_rate:8.1f} reports/s")
    print(f"  bare POST loop baseline: {bare_rate:8.1f} requests/s (same receiver code, "
          "same bodies)")
    print(f"  ratio relay/baseline:    {relay_rate / bare_rate:8.2f}")
    print(f"  per-report cost:         relay {1000 / relay_rate:.2f} ms, "
          f"baseline {1000 / bare_rate:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
