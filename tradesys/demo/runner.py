"""Runs the demo: a temporary system, an in-process server, the scenario, and the checks."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from archive.models import ArchiveVersion
from archive.verify import verify_archive
from contracts.timestamps import PkiEvidenceChecks
from tradesys.app import create_app
from tradesys.clock import AdjustableClock, SystemClock
from tradesys.db.database import Database
from tradesys.db.migrate import upgrade
from tradesys.demo import award, contract, evaluation
from tradesys.demo.scenario import DemoFailure, DemoState, Scenario, random_credit_code
from tradesys.demo.server import InProcessServer
from tradesys.events.models import Event
from tradesys.events.verify import verify_chain
from tradesys.identity.service import bootstrap_admin
from tradesys.receiver.app import create_receiver_app
from tradesys.reporting.validation import release_package_errors
from tradesys.settings import Settings, default_sqlite_url
from tradesys.signatures import load_or_create_key

#: How long the demo waits for the scheduler to archive the ended project (it passes every
#: 0.2 s; the build itself takes about a second).
ARCHIVE_WAIT_SECONDS = 120.0

#: How far before the real time the demo's server clock starts: more than the periods it moves
#: through (about 26 days to the end of the publicity).
HISTORY = timedelta(days=28)


async def bootstrap(url: str, username: str, password: str, *,
                    at: datetime | None = None) -> None:
    """The platform operator and its first admin, created ``at`` (default: now)."""
    db = Database(url, null_pool=True)
    try:
        async with db.transaction() as session:
            await bootstrap_admin(session, org_name="tradesys 平台运营方（演示）",
                                  credit_code=random_credit_code("110000"), username=username,
                                  password=password, at=at or SystemClock().now())
    finally:
        await db.dispose()


async def _verify_and_export(url: str, out_file: Path) -> dict[str, Any]:
    db = Database(url, null_pool=True)
    try:
        async with db.reading() as session:
            report = await verify_chain(session)
            rows = (await session.execute(select(Event).order_by(Event.seq))).scalars().all()
            with out_file.open("w", encoding="utf-8") as out:
                for row in rows:
                    out.write(json.dumps({
                        "seq": row.seq, "type": row.type, "aggregate": row.aggregate_type,
                        "aggregate_id": row.aggregate_id, "project_id": row.project_id,
                        "occurred_at": row.occurred_at.isoformat(), "hash": row.hash,
                        "prev_hash": row.prev_hash, "payload": json.loads(row.payload),
                    }, ensure_ascii=False) + "\n")
        return {"ok": report.ok, "checked": report.checked, "reason": report.reason}
    finally:
        await db.dispose()


async def _archive_path(url: str, project_id: int, out_dir: Path) -> Path:
    """The first version's bag, once the scheduler has built it (polled, bounded)."""
    db = Database(url, null_pool=True)
    try:
        deadline = time.monotonic() + ARCHIVE_WAIT_SECONDS
        while True:
            async with db.reading() as session:
                relative = (await session.execute(select(ArchiveVersion.path).where(
                    ArchiveVersion.project_id == project_id, ArchiveVersion.version == 1))
                ).scalar_one_or_none()
            if relative is not None:
                return (out_dir / relative).resolve()
            if time.monotonic() > deadline:
                raise DemoFailure("archive", "the scheduler did not archive the project in "
                                  f"{ARCHIVE_WAIT_SECONDS:.0f} s")
            await asyncio.sleep(0.05)
    finally:
        await db.dispose()


def _await_archive(url: str, state: DemoState, out_dir: Path) -> None:
    """The project has ended with its contract signed (its other section 流标 at the opening):
    the running scheduler archives it at its next pass, as it would any project (one bag, both
    sections). The demo waits for the bag and checks it as ``tradesys verify archive`` does."""
    path = asyncio.run(_archive_path(url, state.project["id"], out_dir))
    result = verify_archive(path, checks=PkiEvidenceChecks())
    if not result.ok:
        raise DemoFailure("archive", "; ".join(result.failures[:5]))
    state.artifacts["archive"] = str(path)
    state.results["archive"] = str(path)


def _await_reports(client: httpx.Client, receiver_url: str, state: DemoState, out_dir: Path,
                   summary: dict[str, Any]) -> None:
    """Wait (bounded) until the receiver holds every report the system owes, then keep its
    release package as an artifact."""
    expected = None
    for _ in range(300):
        feed = client.get("/api/v1/platform/releases", params={"limit": "200"}).json()
        expected = len(feed["releases"])
        stats = httpx.get(f"{receiver_url}/stats", timeout=10).json()
        if stats["total"] >= expected:
            summary["reports"] = stats["by_dataset"]
            package = httpx.get(f"{receiver_url}/releases", timeout=10).json()
            errors = release_package_errors(package)
            if errors:
                raise DemoFailure("reports", "; ".join(errors[:5]))
            path = out_dir / "releases.json"
            path.write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
            state.artifacts["releases"] = str(path)
            summary["releases"] = str(path)
            return
        time.sleep(0.05)
    raise DemoFailure("reports", f"the receiver did not get all {expected} reports in time")


def run_demo(out_dir: Path, database_url: str | None = None) -> dict[str, Any]:
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or default_sqlite_url(out_dir)
    upgrade(url)
    admin_name, admin_password = f"admin-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    # The tender's periods (documents, questions, bids, publicity) take four weeks of server
    # time: the demo starts that far back, so that the clock moved through them catches up
    # with the real time by the contract, which is signed today (docs/contracts.md).
    clock = AdjustableClock(SystemClock().now() - HISTORY)
    asyncio.run(bootstrap(url, admin_name, admin_password, at=clock.now()))
    receiver_settings = Settings(data_dir=out_dir, database_url=url)
    receiver_app = create_receiver_app(
        f"sqlite+aiosqlite:///{out_dir / 'receiver.db'}",
        platform_code=receiver_settings.pub_service_plat_code,
        trusted={receiver_settings.platform_code:
                 load_or_create_key(receiver_settings.report_key_file).public_key()},
        clock=clock)
    state = DemoState(base_url="", out_dir=out_dir)
    summary: dict[str, Any] = {"ok": False, "database": url, "steps": state.steps}
    try:
        with InProcessServer(receiver_app) as receiver, InProcessServer(create_app(
            Settings(data_dir=out_dir, database_url=url, scheduler_interval=0.2,
                     relay_interval=0.2, platform_url=f"{receiver.url}/reports"),
            clock=clock)) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            state.base_url = server.url
            scenario = Scenario(client, state, clock)
            admin = client.post("/api/v1/auth/tokens",
                                json={"username": admin_name, "password": admin_password})
            if admin.status_code != 201:
                raise DemoFailure("bootstrap", admin.text)
            state.steps.append("bootstrap")
            scenario.step("organisations", lambda: scenario.create_parties(admin.json()["token"]))
            scenario.step("experts", lambda: evaluation.create_experts(scenario))
            scenario.step("register", scenario.register)
            scenario.step("scheme", lambda: evaluation.set_scheme(scenario))
            scenario.step("upload_documents", scenario.upload_documents)
            scenario.step("announce", scenario.announce)
            scenario.step("obtain_documents", scenario.obtain_documents)
            scenario.step("questions", scenario.questions)
            scenario.step("clarify", scenario.clarify)
            scenario.step("bids", lambda: scenario.submit_bids(evaluation.PRICES))
            scenario.step("bid_deadline", lambda: scenario.reach_deadline(time.sleep))
            scenario.step("opening", scenario.open_bids)
            scenario.step("panel", lambda: evaluation.draw_panel(scenario))
            scenario.step("review", lambda: evaluation.review(scenario))
            scenario.step("explanation", lambda: evaluation.explain_low_price(scenario))
            scenario.step("scores", lambda: evaluation.score(scenario))
            scenario.step("report", lambda: evaluation.report(scenario))
            scenario.step("publicity", lambda: award.publish(scenario))
            scenario.step("objection", lambda: award.objection(scenario))
            scenario.step("publicity_end", lambda: award.end_publicity(scenario, time.sleep))
            scenario.step("award", lambda: award.award(scenario))
            scenario.step("contract", lambda: contract.contract(scenario))
            scenario.step("archive", lambda: _await_archive(url, state, out_dir))
            scenario.step("reports", lambda: _await_reports(
                client, receiver.url, state, out_dir, summary))
    except DemoFailure as failure:
        summary["error"] = str(failure)
        return summary
    events_file = out_dir / "events.jsonl"
    chain = asyncio.run(_verify_and_export(url, events_file))
    state.steps.append("verify_log")
    state.artifacts["events"] = str(events_file)
    if database_url is None:  # the SQLite file the demo made in DIR is one of its artifacts
        state.artifacts["database"] = url.split(":///", 1)[1]
    project = state.project
    summary.update(
        ok=chain["ok"],
        project_id=project.get("id"),
        project_code=project.get("code"),
        section_ids=[section["id"] for section in project.get("sections", [])],
        notice_id=state.notice.get("id"),
        events=chain["checked"],
        receipts=state.receipts,
        opening_record=state.artifacts.get("opening_record"),
        winner=state.results.get("winner"),
        award_notice=state.results.get("award_notice"),
        evaluation_report=state.results.get("evaluation_report"),
        contract=state.results.get("contract"),
        trust_root=state.results.get("trust_root"),
        archive=state.results.get("archive"),
        log=chain,
        artifacts=state.artifacts,
    )
    summary_file = out_dir / "summary.json"
    summary["artifacts"]["summary"] = str(summary_file)
    summary_file.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary
