"""开标记录 (BID_OPENING_RECORD): an opening driven to its close over HTTP, and a 流标, are
reported as a data-spec record and a valid OCDS release, and delivered to the platform."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from tests.bids.test_opening import _envelope, release_bidder, release_holder
from tests.bids.test_submission import sealing, submit
from tests.hall.conftest import (
    PRICES,
    published,  # noqa: F401  (the fixture: three bids, list out)
)
from tests.hall.signing import register_signing_key
from tests.reporting.conftest import Receiver, make_relay
from tests.support import Flow, Party, Seed, announce_body, section_in
from tradesys.bids.models import Bid
from tradesys.clock import AdjustableClock
from tradesys.events.models import Event, OutboxRow
from tradesys.reporting.facts import EventFacts
from tradesys.reporting.feed import compile_record
from tradesys.reporting.ocds import build_release
from tradesys.reporting.report import Report, make_report, registration_of, report_for
from tradesys.reporting.validation import release_errors
from tradesys.services import Services


async def command(client: httpx.AsyncClient, section_id: int, party: Party,
                  **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/sections/{section_id}/opening/commands",
                                  headers=party.auth, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def opening_report(services: Services) -> tuple[Report, OutboxRow]:
    async with services.db.reading() as session:
        rows = (await session.execute(select(OutboxRow).where(
            OutboxRow.topic == "BID_OPENING_RECORD"))).scalars().all()
        assert len(rows) == 1
        return await report_for(session, rows[0], services.reporting), rows[0]


async def test_a_closed_opening_is_reported_and_delivered(
        client: httpx.AsyncClient, seed: Seed, app: Starlette, services: Services,
        clock: AdjustableClock, published: dict[str, Any],  # noqa: F811 (fixture)
        receiver: Receiver) -> None:
    section_id, section = published["section_id"], published["section"]
    project = published["project"]
    bidders = [seed.parties[key] for key, _price in PRICES]
    for bidder in bidders[:2]:  # bidder3 never signs in, but takes part by decrypting
        await command(client, section_id, bidder, type="sign_in")
    await command(client, section_id, seed.agency, type="start_decryption")
    for holder in (seed.agency, seed.supervisor):
        assert (await release_holder(client, section_id, holder)).status_code == 200
    for bidder in bidders:
        assert (await release_bidder(client, section_id, bidder)).status_code == 200
    await app.state.scheduler.run_once()  # opens the bids, ends the window
    for _ in range(3):
        await command(client, section_id, seed.agency, type="read_next")
    await command(client, section_id, seed.agency, type="generate_record")
    state = (await client.get(f"/api/v1/sections/{section_id}/opening")).json()
    draft = state["record_sha256"]
    await command(client, section_id, seed.bidder2, type="raise_objection",
                  text="第三名报价唱读有误？")
    await command(client, section_id, seed.agency, type="answer_objection", objection=1,
                  text="经核对，唱标无误。")
    for bidder in bidders[:2]:  # bidder3 lets the confirmation window run out (视为无异议)
        key = await register_signing_key(client, bidder)
        await command(client, section_id, bidder, type="confirm_record",
                      **key.confirm(section["code"], draft))
    clock.advance(timedelta(minutes=31))
    await command(client, section_id, seed.agency, type="close")

    report, row = await opening_report(services)
    assert (await opening_report(services))[0].body == report.body  # a resend: the same bytes
    closed = (await client.get(f"/api/v1/sections/{section_id}/opening")).json()["closed"]
    async with services.db.reading() as session:
        event = await session.get_one(Event, row.event_seq)
        assert event.type == "opening.closed"
        record_in_event = EventFacts.of(event).payload["record"]

    # The data-spec face: the fields of PLATFORM-DATASPEC.md's BID_OPENING_RECORD row.
    record = report.document["record"]
    base = services.reporting.public_base_url
    assert report.document["dataset"] == "BID_OPENING_RECORD"
    assert record["TENDER_PROJECT_CODE"] == project["code"]
    assert record["UNIFIED_DEAL_CODE"] == project["code"]
    assert record["BID_SECTION_CODES"] == [section["code"]]
    bidder_names = [b["name"] for b in record_in_event["bidders"]]
    assert record["BID_OPENING_ACTOR"] == "、".join(bidder_names)
    assert record["BID_OPENING_ADDRESS"] == record_in_event["place"]
    assert record["BID_OPENING_TIME"] == "2026-03-23 09:00:00"  # decryption began (Beijing)
    assert record["BID_OPENING_END_TIME"] == "2026-03-23 09:31:00"
    assert record["NOTICE_NAME"] == f"{project['name']}（{section['name']}）开标记录"
    assert record["URL"] == f"{base}/api/v1/sections/{section_id}/opening/record.json"
    assert record["PDF_URL"] == f"{base}/api/v1/sections/{section_id}/opening/record.pdf"
    assert record["RECORD_SHA256"] == closed["record_sha256"]
    assert record["PDF_SHA256"] == closed["pdf_sha256"]
    host = record_in_event["host"]
    assert record["OPEN_COMPERE"] == host["name"] and host["name"]
    assert record["TENDER_AGENCY_PERSON"] == host["name"]  # the agency hosts
    assert record["TENDERER_PERSON"] is None
    assert record["IS_FAILED"] == "0" and record["FAILED_REASON"] is None
    content = record["BID_OPENING_CONTENT"]
    for price in ("9100000.00 元", "9050000.00 元", "9200000.00 元"):
        assert price in content
    assert "递交投标文件 3 份，解密成功 3 份" in content
    assert "工期 300 日历天" in content and "项目经理 李四" in content
    assert "第三名报价唱读有误？" in content and "经核对，唱标无误。" in content
    confirmed = "、".join(bidder_names[:2])
    assert f"确认开标记录的投标人：{confirmed}。" in content
    assert f"视为无异议的投标人：{bidder_names[2]}。" in content
    # The published files are the ones the report names.
    json_file = await client.get(record["URL"].removeprefix(base))
    assert hashlib.sha256(json_file.content).hexdigest() == record["RECORD_SHA256"]
    pdf_file = await client.get(record["PDF_URL"].removeprefix(base))
    assert hashlib.sha256(pdf_file.content).hexdigest() == record["PDF_SHA256"]

    # The OCDS face: a valid tenderUpdate with the record as tender documents.
    release = report.document["release"]
    assert release_errors(release) == []
    assert release["tag"] == ["tenderUpdate"]
    assert release["tender"]["status"] == "active"
    documents = {d["format"]: d for d in release["tender"]["documents"]}
    assert documents["application/json"]["url"] == record["URL"]
    assert documents["application/pdf"]["url"] == record["PDF_URL"]
    assert {d["documentType"] for d in documents.values()} == {"bidOpeningRecord"}
    assert record["RECORD_SHA256"] in documents["application/json"]["description"]
    assert record["PDF_SHA256"] in documents["application/pdf"]["description"]
    statistics = {s["measure"]: s["value"] for s in release["bids"]["statistics"]}
    assert statistics == {"bids": 3, "validBids": 3}
    assert "details" not in release["bids"]  # TENDER_LIST reported each bid already

    # Delivered to the platform with the steps before it, in order, and accepted.
    relay = make_relay(services, receiver.url)
    try:
        delivered = await relay.run_once()
    finally:
        await relay.stop()
    async with services.db.reading() as session:
        rows = (await session.execute(select(OutboxRow))).scalars().all()
    assert delivered == len(rows) and {r.status for r in rows} == {"delivered"}
    arrived = sorted(receiver.reports(), key=lambda item: item["arrival"])
    ours = [item for item in arrived if item["ocid"] == release["ocid"]]
    assert [item["dataset"] for item in ours][-2:] == ["TENDER_LIST", "BID_OPENING_RECORD"]
    assert ours[-1]["key"] == report.key


async def public_feeds(client: httpx.AsyncClient, ocid: str) -> str:
    """Everything anyone may pull about the project: the release feed and its record."""
    feed = await client.get("/api/v1/platform/releases", params={"limit": 100})
    record = await client.get(f"/api/v1/platform/records/{ocid}")
    assert feed.status_code == 200 and record.status_code == 200
    return feed.text + record.text


def price_forms(price: str) -> list[str]:
    whole = price.split(".")[0]
    return [price, whole, f"{whole}.0", f"{int(whole):,}"]


async def test_prices_reach_the_public_feeds_only_once_read_out_and_recorded(
        client: httpx.AsyncClient, seed: Seed, app: Starlette, services: Services,
        clock: AdjustableClock, published: dict[str, Any],  # noqa: F811 (fixture)
        ) -> None:
    section_id = published["section_id"]
    bidders = [seed.parties[key] for key, _price in PRICES]
    ocid = f"{services.reporting.ocid_prefix}-{published['project']['code']}"
    await command(client, section_id, seed.agency, type="start_decryption")
    for holder in (seed.agency, seed.supervisor):
        assert (await release_holder(client, section_id, holder)).status_code == 200
    for bidder in bidders:
        assert (await release_bidder(client, section_id, bidder)).status_code == 200
    await app.state.scheduler.run_once()  # opens the bids, ends the window
    state = (await client.get(f"/api/v1/sections/{section_id}/opening")).json()
    assert state["phase"] == "decrypted"
    # Decryption is over, the host has not read a single price: none is public anywhere.
    seen = await public_feeds(client, ocid)
    for _key, price in PRICES:
        for form in price_forms(price):
            assert form not in seen, form
    async with services.db.reading() as session:
        assert (await session.execute(select(OutboxRow).where(
            OutboxRow.topic == "TENDER_LIST"))).scalars().all() == []
    # 唱标 of the first two: still nothing in the feeds until the record is closed.
    for _ in range(2):
        await command(client, section_id, seed.agency, type="read_next")
    seen = await public_feeds(client, ocid)
    for _key, price in PRICES:
        assert not any(form in seen for form in price_forms(price)), price
    await command(client, section_id, seed.agency, type="read_next")
    await command(client, section_id, seed.agency, type="generate_record")
    clock.advance(timedelta(minutes=31))  # nobody confirms: 视为无异议
    await command(client, section_id, seed.agency, type="close")

    # Closed: the list with every price read out is public, valid OCDS, in the record too.
    async with services.db.reading() as session:
        [row] = (await session.execute(select(OutboxRow).where(
            OutboxRow.topic == "TENDER_LIST"))).scalars().all()
        report = await report_for(session, row, services.reporting)
        closing = (await session.execute(select(OutboxRow).where(
            OutboxRow.topic == "BID_OPENING_RECORD"))).scalar_one()
    assert row.event_seq < closing.event_seq  # the list comes before the record it backs
    release = report.document["release"]
    assert release_errors(release) == []
    assert release["tag"] == ["tenderUpdate"]
    assert [bid["status"] for bid in release["bids"]["details"]] == ["valid"] * 3
    # Bids are named by their public ids, not the platform-wide sequence.
    async with services.db.reading() as session:
        public = {bid.public_id for bid in (await session.execute(select(Bid))).scalars()}
    assert {bid["id"].removeprefix("bid-") for bid in release["bids"]["details"]} == public
    assert sorted(b["value"]["amount"] for b in release["bids"]["details"]) == sorted(
        int(price.split(".")[0]) for _key, price in PRICES)
    assert sorted(b["BID_PRICE"] for b in report.document["record"]["BIDDERS"]) == sorted(
        price for _key, price in PRICES)
    pulled = (await client.get(f"/api/v1/platform/records/{ocid}")).json()
    compiled = pulled["records"][0]["compiledRelease"]
    assert release_errors(compiled) == []
    assert sorted(b["value"]["amount"] for b in compiled["bids"]["details"]) == sorted(
        int(price.split(".")[0]) for _key, price in PRICES)


async def test_a_failed_tender_is_reported_as_such(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, app: Starlette, services: Services,
        clock: AdjustableClock, receiver: Receiver) -> None:
    project = await flow.register(sections=[section_in("施工")])
    await flow.upload(project["id"])
    announced = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                  headers=seed.agency.auth, json=announce_body(flow.now, seed))
    assert announced.status_code == 201, announced.text
    section = announced.json()["sections"][0]
    opening_key = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    response = await submit(client, section["id"], seed.bidder1,
                            _envelope(section, seed.bidder1, opening_key, "9100000.00"))
    assert response.status_code == 201, response.text
    await command(client, section["id"], seed.bidder1, type="sign_in")  # before the deadline
    clock.advance(timedelta(days=21))
    await app.state.scheduler.run_once()  # the list is out: one bid, fewer than three
    state = (await client.get(f"/api/v1/sections/{section['id']}/opening")).json()
    assert state["phase"] == "too_few"
    reason = "递交投标文件的投标人少于三个，依法不予开标。"
    await command(client, section["id"], seed.agency, type="declare_failed", reason=reason)

    report, row = await opening_report(services)
    record = report.document["record"]
    bidder_name = state["bidders"][0]["name"]
    assert record["BID_SECTION_CODES"] == [section["code"]]
    assert record["NOTICE_NAME"] == f"{project['name']}（施工）开标记录（流标）"
    assert record["IS_FAILED"] == "1" and record["FAILED_REASON"] == reason
    content = record["BID_OPENING_CONTENT"]
    assert content.startswith("流标：递交投标文件 1 份，少于 3 份")
    assert reason in content and f"1. {bidder_name}：投标文件未开启" in content
    assert "9100000.00" not in content  # nothing was opened
    assert record["BID_OPENING_ACTOR"] == bidder_name  # it signed in
    assert record["BID_OPENING_TIME"] == "2026-03-23 09:00:00"  # the deadline
    assert record["URL"].endswith(f"/api/v1/sections/{section['id']}/opening/record.json")
    json_file = await client.get(record["URL"].removeprefix(services.reporting.public_base_url))
    assert hashlib.sha256(json_file.content).hexdigest() == record["RECORD_SHA256"]

    release = report.document["release"]
    assert release_errors(release) == []
    assert release["tag"] == ["tenderUpdate"]
    assert release["tender"]["status"] == "unsuccessful"  # its only section failed
    assert release["bids"]["statistics"] == [
        {"id": f"{section['code']}-bids", "measure": "bids", "value": 1,
         "date": release["date"]}]
    [bid] = release["bids"]["details"]
    assert bid["status"] == "pending" and bid["tenderers"][0]["name"] == bidder_name
    assert {p["id"] for p in release["parties"] if "tenderer" in p["roles"]} == {
        bid["tenderers"][0]["id"]}

    # A project with other sections goes on: only its failed section is unsuccessful.
    async with services.db.reading() as session:
        event = EventFacts.of(await session.get_one(Event, row.event_seq))
        registration = await registration_of(session, project["id"])
    project_facts = registration.payload
    two = replace(registration, payload={
        **project_facts, "sections": [*project_facts["sections"],
                                      {**project_facts["sections"][0], "code": "X",
                                       "name": "监理"}]})
    other = build_release("BID_OPENING_RECORD", event, two, services.reporting)
    assert other["tender"]["status"] == "active" and release_errors(other) == []
    # A section nobody bid for: no empty bids.details (it would wipe the project's other bids
    # from the compiled record), and the content says so.
    failed_record = event.payload["record"]
    empty = replace(event, payload={
        **event.payload, "bids": 0, "record": {**failed_record, "bidders": [],
                                               "failed": {**failed_record["failed"], "bids": 0}}})
    nobody = make_report("BID_OPENING_RECORD", empty, two, services.reporting, project["id"])
    assert release_errors(nobody.document["release"]) == []
    assert "details" not in nobody.document["release"]["bids"]
    assert nobody.document["record"]["BID_OPENING_ACTOR"] is None
    assert nobody.document["record"]["BID_OPENING_CONTENT"].startswith(
        "流标：无投标人递交投标文件（至少需要 3 份）")
    compiled = compile_record(release["ocid"], [
        {**release, "bids": {"details": [{"id": "bid-1", "status": "valid"}]}},
        nobody.document["release"]])["compiledRelease"]
    assert compiled["bids"]["details"] == [{"id": "bid-1", "status": "valid"}]

    relay = make_relay(services, receiver.url)
    try:
        assert await relay.run_once() >= 1
    finally:
        await relay.stop()
    arrived = [item for item in receiver.reports() if item["key"] == report.key]
    assert [item["dataset"] for item in arrived] == ["BID_OPENING_RECORD"]
