"""The award step reported to the public service platform: the evaluation report
(EVALUATION_REPORT) and the candidates' publicity (TENDER_CANDIDATE) together, the result
announcement (WIN_RESULT_ANNO) and the award notice
(BID_WINNING_NOTICE), each a data-spec record and a valid OCDS release, delivered in order."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from tests.award.conftest import drafted_report, sign_all
from tests.evaluation.conftest import Pool
from tests.reporting.conftest import Receiver, make_relay, receiver  # noqa: F401
from tests.support import Flow, Seed
from tradesys.clock import AdjustableClock
from tradesys.events.models import OutboxRow
from tradesys.reporting.report import report_for
from tradesys.reporting.validation import release_errors
from tradesys.services import Services

TOPICS = ("EVALUATION_REPORT", "TENDER_CANDIDATE", "WIN_RESULT_ANNO", "BID_WINNING_NOTICE")


async def test_candidates_result_and_award_notice_are_reported(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,
        clock: AdjustableClock, app: Starlette,
        receiver: Receiver) -> None:  # noqa: F811 (the fixture)
    reported = await drafted_report(client, flow, seed, clock, app, pool)
    await sign_all(client, reported)
    section = f"/api/v1/sections/{reported.section_id}"
    candidates = reported.report["candidates"]
    names = {b["credit_code"]: b["name"] for b in reported.report["bidders"]}
    published = await client.post(f"{section}/publicity", headers=seed.agency.auth)
    assert published.status_code == 201, published.text
    clock.advance(timedelta(days=3))
    await app.state.scheduler.run_once()
    awarded = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert awarded.status_code == 201, awarded.text
    winner = candidates[0]["credit_code"]
    award_notice = next(n for n in awarded.json()["awards"][0]["notices"]
                        if n["kind"] == "award")

    async with services.db.reading() as session:
        rows = (await session.execute(select(OutboxRow).where(OutboxRow.topic.in_(TOPICS))
                                      .order_by(OutboxRow.id))).scalars().all()
        reports = {row.topic: await report_for(session, row, services.reporting)
                   for row in rows}
    assert [row.topic for row in rows] == list(TOPICS)
    for report in reports.values():
        assert release_errors(report.document["release"]) == []
        assert report.document["record"]["BID_SECTION_CODES"] == [reported.opened.section_code]

    record = reports["EVALUATION_REPORT"].document["record"]
    final = await client.get(f"{section}/evaluation/report", headers=seed.agency.auth)
    assert record["REPORT_SHA256"] == final.json()["sha256"]
    assert (record["BID_COUNT"], record["COMPLIANT_COUNT"]) == (4, 4)
    assert record["EVALUATION_RESULT"] == "；".join(
        f"第{c['rank']}名 {names[c['credit_code']]}" for c in candidates)
    assert record["SUBMIT_TIME"] and record["END_TIME"] and "综合评估法" in record[
        "EVALUATION_CONTENT"]
    release = reports["EVALUATION_REPORT"].document["release"]
    assert release["tag"] == ["tenderUpdate"]
    assert release["tender"]["documents"][0]["documentType"] == "evaluationReports"

    committee = [m["name"] for m in reported.report["committee"] if m["seat"] == "expert"]
    for topic in ("EVALUATION_REPORT", "TENDER_CANDIDATE"):  # before the award: no names
        assert not any(name in reports[topic].body.decode() for name in committee)

    record = reports["TENDER_CANDIDATE"].document["record"]
    assert [(c["WIN_CANDIDATE_ORDER"], c["WIN_CANDIDATE_CODE"], c["WIN_CANDIDATE_NAME"])
            for c in record["CANDIDATES"]] == [
        (c["rank"], c["credit_code"], names[c["credit_code"]]) for c in candidates]
    release = reports["TENDER_CANDIDATE"].document["release"]
    assert release["tag"] == ["award"]
    assert {a["status"] for a in release["awards"]} == {"pending"}

    record = reports["WIN_RESULT_ANNO"].document["record"]
    assert (record["WIN_BIDDER_CODE"], record["WIN_BIDDER_NAME"]) == (winner, names[winner])
    assert record["BID_AMOUNT"] == next(b["price"]["amount"] for b in reported.report["bidders"]
                                        if b["credit_code"] == winner)
    assert all(name in record["NOTICE_CONTENT"] for name in committee)
    release = reports["WIN_RESULT_ANNO"].document["release"]
    assert {a["id"].rsplit("-", 1)[1]: a["status"] for a in release["awards"]} == {
        c["credit_code"]: "active" if c["credit_code"] == winner else "unsuccessful"
        for c in candidates}

    record = reports["BID_WINNING_NOTICE"].document["record"]
    assert record["WIN_NOTICE_CODE"] == award_notice["document_id"]
    assert record["WIN_NOTICE_SHA256"] == award_notice["sha256"]
    assert record["WIN_BIDDER_CODE"] == winner and record["CONTRACT_DAYS"] == 30
    assert reports["BID_WINNING_NOTICE"].document["release"]["tag"] == ["awardUpdate"]

    # Delivered with every step before them, in order, and accepted.
    relay = make_relay(services, receiver.url)
    try:
        delivered = await relay.run_once()
    finally:
        await relay.stop()
    async with services.db.reading() as session:
        every = (await session.execute(select(OutboxRow))).scalars().all()
    assert delivered == len(every) and {r.status for r in every} == {"delivered"}
    ocid = reports["TENDER_CANDIDATE"].document["release"]["ocid"]
    arrived = sorted((r for r in receiver.reports() if r["ocid"] == ocid),
                     key=lambda item: item["arrival"])
    assert [item["dataset"] for item in arrived][-4:] == list(TOPICS)
    # The public pull feed carries them too, as valid releases.
    feed = await client.get("/api/v1/platform/releases", params={"limit": 100})
    assert feed.status_code == 200
    tags = [r["tag"] for r in feed.json()["releases"] if r["ocid"] == ocid]
    assert tags[-4:] == [["tenderUpdate"], ["award"], ["award"], ["awardUpdate"]]
