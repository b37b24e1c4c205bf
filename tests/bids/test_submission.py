"""投标: sealed bids reach the server as ciphertext only, before the deadline only, with a
signed receipt; replace and withdraw until the deadline."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from tests.support import Flow, Party, Seed, assert_error, table_counts
from tradesys.bids.keys import generate_private_key
from tradesys.bids.models import Bid
from tradesys.bids.receipts import verify_receipt_file
from tradesys.bids.seal import seal
from tradesys.clock import AdjustableClock
from tradesys.events.models import Event
from tradesys.services import Services

MARKER = "绝密报价MARKER-7f3a9c"


def seal_bid(section: dict[str, Any], bidder: Party, opening_key: str, *,
             plaintext: bytes = b"", summary: dict[str, Any] | None = None,
             section_code: str | None = None, bidder_code: str | None = None,
             chunk_size: int = 4096) -> bytes:
    assert bidder.private_key is not None
    data = plaintext or f"投标文件正文 {MARKER} ".encode() * 300
    out = io.BytesIO()
    seal(io.BytesIO(data), len(data), out, section_code=section_code or section["code"],
         bidder_code=bidder_code or bidder.credit_code,
         bidder_public_key=bidder.private_key.public_key(), opening_public_key=opening_key,
         summary=summary or {"price": "9100000.00", "currency": "CNY", "duration_days": 365,
                             "quality": "合格", "project_manager": f"张三{MARKER}"},
         chunk_size=chunk_size)
    return out.getvalue()


async def sealing(client: httpx.AsyncClient, section_id: int, bidder: Party) -> dict[str, Any]:
    response = await client.get(f"/api/v1/sections/{section_id}/sealing", headers=bidder.auth)
    assert response.status_code == 200, response.text
    info: dict[str, Any] = response.json()
    return info


async def submit(client: httpx.AsyncClient, section_id: int, bidder: Party, envelope: bytes,
                 *, piece: int = 5000) -> httpx.Response:
    started = await client.post(f"/api/v1/sections/{section_id}/uploads", headers=bidder.auth,
                                json={"size": len(envelope)})
    assert started.status_code == 201, started.text
    upload_id = started.json()["id"]
    offset = 0
    while offset < len(envelope):
        part = envelope[offset:offset + piece]
        response = await client.patch(
            f"/api/v1/uploads/{upload_id}", content=part,
            headers={**bidder.auth, "Upload-Offset": str(offset),
                     "Content-Type": "application/offset+octet-stream"})
        if response.status_code != 200:
            return response
        offset = response.json()["offset"]
    return await client.post(f"/api/v1/uploads/{upload_id}/complete", headers=bidder.auth)


@pytest.fixture
async def tendering(flow: Flow) -> dict[str, Any]:
    return await flow.announced()


async def test_sealed_bid_is_accepted_with_a_verifiable_receipt(
        client: httpx.AsyncClient, seed: Seed, services: Services, tendering: dict[str, Any],
        tmp_path: Path) -> None:
    section = tendering["notice"]["sections"][0]
    info = await sealing(client, section["id"], seed.bidder1)
    assert info["bidder_code"] == seed.bidder1.credit_code
    envelope = seal_bid(section, seed.bidder1, info["opening_public_key"])
    response = await submit(client, section["id"], seed.bidder1, envelope)
    assert response.status_code == 201, response.text
    document = response.json()
    receipt = document["receipt"]
    assert receipt["envelope_sha256"] == hashlib.sha256(envelope).hexdigest()
    assert receipt["size"] == len(envelope) and receipt["section_code"] == section["code"]
    assert receipt["received_at"] == "2026-03-02T01:00:00.000000Z"
    raw = response.content  # the receipt file exactly as issued
    pinned = services.receipt_key.public_key()
    assert verify_receipt_file(raw, pinned) == (True, "genuine")
    tampered = json.dumps({**document, "receipt": {**receipt, "size": receipt["size"] + 1}})
    assert verify_receipt_file(tampered.encode(), pinned)[0] is False
    stored = services.uploads.store.path_of(receipt["envelope_sha256"])
    assert stored.read_bytes() == envelope
    assert list(services.uploads.root.glob("*.part")) == []


async def test_no_plaintext_anywhere_after_submission(
        client: httpx.AsyncClient, seed: Seed, services: Services, tendering: dict[str, Any],
        db_url: str) -> None:
    section = tendering["notice"]["sections"][0]
    info = await sealing(client, section["id"], seed.bidder1)
    envelope = seal_bid(section, seed.bidder1, info["opening_public_key"])
    assert (await submit(client, section["id"], seed.bidder1, envelope)).status_code == 201
    marker = MARKER.encode()
    files = [p for p in services.settings.data_dir.rglob("*") if p.is_file()]
    assert files and not any(marker in path.read_bytes() for path in files)
    if db_url.startswith("sqlite"):
        database = Path(db_url.split(":///", 1)[1])
        for path in database.parent.glob(database.name + "*"):
            assert marker not in path.read_bytes()
    async with services.db.reading() as session:
        for table in ("events", "bids", "bid_uploads", "outbox"):
            from sqlalchemy import text

            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
            assert MARKER not in repr(rows)
    # And no API shows it before the deadline, to anyone.
    for who in ("agency", "procurer", "supervisor", "admin", "bidder1"):
        for path in (f"/api/v1/sections/{section['id']}/bids",
                     f"/api/v1/projects/{tendering['id']}",
                     "/api/v1/platform/releases"):
            body = (await client.get(path, headers=seed.parties[who].auth)).text
            assert MARKER not in body


async def test_replace_then_withdraw_until_the_deadline(
        client: httpx.AsyncClient, seed: Seed, tendering: dict[str, Any],
        clock: AdjustableClock, services: Services) -> None:
    section = tendering["notice"]["sections"][0]
    info = await sealing(client, section["id"], seed.bidder1)
    first = await submit(client, section["id"], seed.bidder1,
                         seal_bid(section, seed.bidder1, info["opening_public_key"]))
    second = await submit(client, section["id"], seed.bidder1,
                          seal_bid(section, seed.bidder1, info["opening_public_key"]))
    assert first.status_code == second.status_code == 201
    own = (await client.get(f"/api/v1/sections/{section['id']}/bids",
                            headers=seed.bidder1.auth)).json()["items"]
    assert [bid["status"] for bid in own] == ["replaced", "valid"]
    withdrawn = await client.post(f"/api/v1/sections/{section['id']}/bids/withdraw",
                                  headers=seed.bidder1.auth)
    assert withdrawn.status_code == 200
    assert_error(await client.post(f"/api/v1/sections/{section['id']}/bids/withdraw",
                                   headers=seed.bidder1.auth), 409, "no_bid")
    # Hosts see nothing before the deadline, and the valid bids after it.
    assert_error(await client.get(f"/api/v1/sections/{section['id']}/bids",
                                  headers=seed.agency.auth), 403, "sealed_until_deadline")
    third = await submit(client, section["id"], seed.bidder2,
                         seal_bid(section, seed.bidder2,
                                  (await sealing(client, section["id"],
                                                 seed.bidder2))["opening_public_key"]))
    assert third.status_code == 201
    clock.advance(timedelta(days=21))
    listed = (await client.get(f"/api/v1/sections/{section['id']}/bids",
                               headers=seed.agency.auth)).json()["items"]
    assert [(bid["org_id"], bid["status"]) for bid in listed] == [
        (seed.bidder2.org_id, "valid")]
    before = await table_counts(services)
    assert_error(await client.post(f"/api/v1/sections/{section['id']}/bids/withdraw",
                                   headers=seed.bidder2.auth), 409, "deadline_passed")
    assert await table_counts(services) == before


OPAQUE = re.compile(r"^[A-Za-z0-9_-]{22}$")


async def test_bid_ids_and_receipts_do_not_count_others_bids(
        client: httpx.AsyncClient, seed: Seed, tendering: dict[str, Any],
        services: Services) -> None:
    """A bidder that replaces its bid must not learn how many others bid in between: bids are
    named by random public ids, and a receipt names its log entry by hash, not by number."""
    section = tendering["notice"]["sections"][0]
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    first = await submit(client, section["id"], seed.bidder1,
                         seal_bid(section, seed.bidder1, opening))
    for other in (seed.bidder2, seed.bidder3):  # the competitors bid meanwhile
        assert (await submit(client, section["id"], other,
                             seal_bid(section, other, opening))).status_code == 201
    second = await submit(client, section["id"], seed.bidder1,
                          seal_bid(section, seed.bidder1, opening))
    assert first.status_code == second.status_code == 201
    receipts = [first.json()["receipt"], second.json()["receipt"]]
    # Uploads are named by random ids too (192 bits), never a counter.
    started = await client.post(f"/api/v1/sections/{section['id']}/uploads",
                                headers=seed.bidder1.auth, json={"size": 1000})
    assert started.status_code == 201, started.text
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", started.json()["id"])
    for receipt in receipts:
        assert receipt["version"] == 2
        assert "event_seq" not in receipt
        assert isinstance(receipt["bid_id"], str) and OPAQUE.match(receipt["bid_id"])
        assert not receipt["bid_id"].isdigit()
    own = (await client.get(f"/api/v1/sections/{section['id']}/bids",
                            headers=seed.bidder1.auth)).json()["items"]
    assert [bid["id"] for bid in own] == [r["bid_id"] for r in receipts]
    async with services.db.reading() as session:
        events = {e.hash: e for e in (await session.execute(
            select(Event).where(Event.type == "bid.submitted"))).scalars()}
        rows = {bid.public_id: bid for bid in (await session.execute(select(Bid))).scalars()}
    for receipt in receipts:
        # The hash names exactly one entry of the log: the submission of this very bid.
        entry = events[receipt["event_hash"]]
        assert json.loads(entry.payload)["bid_id"] == rows[receipt["bid_id"]].id
        assert json.loads(entry.payload)["envelope_sha256"] == receipt["envelope_sha256"]
    # The internal integer ids are not addresses: only the public id is.
    internal = rows[receipts[1]["bid_id"]].id
    for path in (f"{internal}/receipt", f"{internal}/header", "%20/receipt",
                 f"{receipts[1]['bid_id']}x/receipt", "' OR 1=1 --/receipt"):
        assert_error(await client.get(f"/api/v1/sections/{section['id']}/bids/{path}",
                                      headers=seed.bidder1.auth), 404, "bid_not_found")
    again = await client.get(
        f"/api/v1/sections/{section['id']}/bids/{receipts[1]['bid_id']}/receipt",
        headers=seed.bidder1.auth)
    assert again.status_code == 200 and again.content == second.content


async def test_the_receipts_log_position_is_disclosed_only_after_the_deadline(
        client: httpx.AsyncClient, seed: Seed, tendering: dict[str, Any], services: Services,
        clock: AdjustableClock) -> None:
    """Before the deadline the bid list gives no log sequence number (it would count others'
    events between two submissions); once the deadline has passed each bid has the ``seq`` of
    the very entry its receipt names by hash, for its bidder and for the host."""
    section = tendering["notice"]["sections"][0]
    url = f"/api/v1/sections/{section['id']}/bids"
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    receipts = {}
    for party in (seed.bidder1, seed.bidder2, seed.bidder1):
        response = await submit(client, section["id"], party, seal_bid(section, party, opening))
        assert response.status_code == 201, response.text
        receipts[response.json()["receipt"]["bid_id"]] = response.json()["receipt"]
    before = (await client.get(url, headers=seed.bidder1.auth)).json()["items"]
    assert len(before) == 2 and all(bid["event_seq"] is None for bid in before)

    clock.advance(timedelta(days=21))  # past the deadline (tests/support.py key_times)
    async with services.db.reading() as session:
        seq_of = {e.hash: e.seq for e in (await session.execute(
            select(Event).where(Event.type == "bid.submitted"))).scalars()}
    own = (await client.get(url, headers=seed.bidder1.auth)).json()["items"]
    assert [bid["id"] for bid in own] == [bid["id"] for bid in before]
    for bid in own:
        assert bid["event_seq"] == seq_of[receipts[bid["id"]]["event_hash"]]
        assert isinstance(bid["event_seq"], int)
    hosts = (await client.get(url, headers=seed.agency.auth)).json()["items"]
    assert {bid["id"]: bid["event_seq"] for bid in hosts} == {
        bid_id: seq_of[receipt["event_hash"]] for bid_id, receipt in receipts.items()
        if bid_id in {bid["id"] for bid in hosts}}
    assert len(hosts) == 2  # the valid bids: bidder1's latest and bidder2's


@pytest.mark.parametrize("case, code", [
    ("other_section", "envelope_mismatch"),
    ("other_bidder", "envelope_mismatch"),
    ("unregistered_key", "envelope_mismatch"),
    ("other_opening_key", "envelope_mismatch"),
    ("not_an_envelope", "bad_magic"),
    ("size_lie", "envelope_mismatch"),
])
async def test_bad_envelopes_are_refused_on_arrival_and_leave_nothing(
        client: httpx.AsyncClient, seed: Seed, services: Services, tendering: dict[str, Any],
        case: str, code: str) -> None:
    section = tendering["notice"]["sections"][0]
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    envelope: bytes
    if case == "other_section":
        other = tendering["notice"]["sections"][1]
        envelope = seal_bid(section, seed.bidder1, opening, section_code=other["code"])
    elif case == "other_bidder":
        envelope = seal_bid(section, seed.bidder1, opening, bidder_code=seed.bidder2.credit_code)
    elif case == "unregistered_key":
        stranger = Party("x", "bidder", "x", "x", credit_code=seed.bidder1.credit_code,
                         private_key=generate_private_key())
        envelope = seal_bid(section, stranger, opening)
    elif case == "other_opening_key":
        from tradesys.bids.keys import public_key_text

        envelope = seal_bid(section, seed.bidder1, public_key_text(generate_private_key()))
    elif case == "not_an_envelope":
        envelope = b"%PDF-1.7 plain text bid " * 400
    else:
        envelope = seal_bid(section, seed.bidder1, opening)
    before = await table_counts(services)
    size = len(envelope) + (10 if case == "size_lie" else 0)
    started = await client.post(f"/api/v1/sections/{section['id']}/uploads",
                                headers=seed.bidder1.auth, json={"size": size})
    upload_id = started.json()["id"]
    response = await client.patch(f"/api/v1/uploads/{upload_id}", content=envelope[:8192],
                                  headers={**seed.bidder1.auth, "Upload-Offset": "0"})
    assert_error(response, 422, code)
    status = (await client.get(f"/api/v1/uploads/{upload_id}", headers=seed.bidder1.auth)).json()
    assert status["status"] == "aborted"
    after = await table_counts(services)
    assert {k: v for k, v in after.items() if k != "bid_uploads"} == {
        k: v for k, v in before.items() if k != "bid_uploads"}
    assert list(services.uploads.root.glob("*.part")) == []


async def test_resume_after_a_broken_connection(client: httpx.AsyncClient, seed: Seed,
                                                tendering: dict[str, Any]) -> None:
    section = tendering["notice"]["sections"][0]
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    envelope = seal_bid(section, seed.bidder1, opening)
    started = await client.post(f"/api/v1/sections/{section['id']}/uploads",
                                headers=seed.bidder1.auth, json={"size": len(envelope)})
    upload_id = started.json()["id"]
    url = f"/api/v1/uploads/{upload_id}"
    first = await client.patch(url, content=envelope[:6000],
                               headers={**seed.bidder1.auth, "Upload-Offset": "0"})
    assert first.json()["offset"] == 6000 and first.json()["header_checked"] is True
    wrong = await client.patch(url, content=envelope[100:200],
                               headers={**seed.bidder1.auth, "Upload-Offset": "100"})
    assert assert_error(wrong, 409, "offset_mismatch")["details"] == {"offset": 6000}
    incomplete = await client.post(f"{url}/complete", headers=seed.bidder1.auth)
    assert_error(incomplete, 409, "upload_incomplete")
    resumed = (await client.get(url, headers=seed.bidder1.auth)).json()["offset"]
    rest = await client.patch(url, content=envelope[resumed:],
                              headers={**seed.bidder1.auth, "Upload-Offset": str(resumed)})
    assert rest.json()["offset"] == len(envelope)
    done = await client.post(f"{url}/complete", headers=seed.bidder1.auth)
    assert done.status_code == 201
    assert done.json()["receipt"]["envelope_sha256"] == hashlib.sha256(envelope).hexdigest()
    assert_error(await client.post(f"{url}/complete", headers=seed.bidder1.auth), 409,
                 "upload_closed")
    other = await client.get(url, headers=seed.bidder2.auth)
    assert_error(other, 404, "upload_not_found")


async def test_a_bid_completing_after_the_deadline_is_refused(
        client: httpx.AsyncClient, seed: Seed, services: Services, tendering: dict[str, Any],
        clock: AdjustableClock) -> None:
    section = tendering["notice"]["sections"][0]
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    envelope = seal_bid(section, seed.bidder1, opening)
    started = await client.post(f"/api/v1/sections/{section['id']}/uploads",
                                headers=seed.bidder1.auth, json={"size": len(envelope)})
    upload_id = started.json()["id"]
    await client.patch(f"/api/v1/uploads/{upload_id}", content=envelope,
                       headers={**seed.bidder1.auth, "Upload-Offset": "0"})
    clock.advance(timedelta(days=21))  # the upload began in time; it completes too late
    before = await table_counts(services)
    late = await client.post(f"/api/v1/uploads/{upload_id}/complete", headers=seed.bidder1.auth)
    assert_error(late, 409, "deadline_passed")
    after = await table_counts(services)
    assert {k: v for k, v in after.items() if k != "bid_uploads"} == {
        k: v for k, v in before.items() if k != "bid_uploads"}
    assert not services.uploads.store.path_of(hashlib.sha256(envelope).hexdigest()).exists()
    assert list(services.uploads.root.glob("*.part")) == []


async def test_deadline_race(client: httpx.AsyncClient, seed: Seed, services: Services,
                             tendering: dict[str, Any], clock: AdjustableClock) -> None:
    """Many completions around the deadline: every accepted bid was received before it."""
    section = tendering["notice"]["sections"][0]
    bidders = [seed.bidder1, seed.bidder2, seed.bidder3]
    uploads = []
    for index in range(12):
        bidder = bidders[index % 3]
        opening = (await sealing(client, section["id"], bidder))["opening_public_key"]
        envelope = seal_bid(section, bidder, opening, plaintext=f"bid {index}".encode() * 50)
        started = await client.post(f"/api/v1/sections/{section['id']}/uploads",
                                    headers=bidder.auth, json={"size": len(envelope)})
        upload_id = started.json()["id"]
        await client.patch(f"/api/v1/uploads/{upload_id}", content=envelope,
                           headers={**bidder.auth, "Upload-Offset": "0"})
        uploads.append((bidder, upload_id))
    deadline = clock.now() + timedelta(days=21)

    async def complete(bidder: Party, upload_id: str) -> httpx.Response:
        return await client.post(f"/api/v1/uploads/{upload_id}/complete", headers=bidder.auth)

    # Every read of the server clock now sees a later instant (1 ms on), so the concurrent
    # completions meet the deadline in the order they really read the time.
    clock.step_per_read = timedelta(milliseconds=1)
    reads_before = clock.now()
    first = await complete(*uploads[0])  # how many clock reads does one completion make?
    per_completion = int((clock.now() - reads_before) / timedelta(milliseconds=1))
    assert first.status_code == 201
    # Let the deadline fall about halfway through the concurrent completions.
    clock.step_per_read = timedelta(0)
    clock.advance(deadline - clock.now() - timedelta(milliseconds=per_completion * 5))
    clock.step_per_read = timedelta(milliseconds=1)
    try:
        results = [first, *await asyncio.gather(*(complete(b, u) for b, u in uploads[1:]))]
    finally:
        clock.step_per_read = timedelta(0)
    accepted = [r.json()["receipt"] for r in results if r.status_code == 201]
    refused = [r for r in results if r.status_code != 201]
    assert accepted and refused
    assert all(r.json()["error"]["code"] == "deadline_passed" for r in refused)
    assert all(receipt["received_at"] < deadline.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
               for receipt in accepted)
    async with services.db.reading() as session:
        bids = (await session.execute(select(Bid))).scalars().all()
        events = (await session.execute(
            select(Event).where(Event.type == "bid.submitted"))).scalars().all()
    assert len(bids) == len(events) == len(accepted)
    assert all(bid.received_at < deadline for bid in bids)


def _public(services: Services) -> Ed25519PublicKey:
    return services.receipt_key.public_key()


async def test_key_holder_candidates_are_the_projects_parties_with_keys(
        client: httpx.AsyncClient, seed: Seed, flow: Flow) -> None:
    project = await flow.register()
    url = f"/api/v1/projects/{project['id']}/key-holder-candidates"
    items = (await client.get(url, headers=seed.agency.auth)).json()["items"]
    assert {item["user_id"] for item in items} == {
        seed.agency.user_id, seed.procurer.user_id, seed.supervisor.user_id}
    assert_error(await client.get(url, headers=seed.bidder1.auth), 404, "project_not_found")
    assert_error(await client.get(url, headers=seed.agency2.auth), 404, "project_not_found")
    # A supervisor whose department is not granted the project holds no share of it.
    ungranted = await flow.register(supervised=False)
    url = f"/api/v1/projects/{ungranted['id']}/key-holder-candidates"
    items = (await client.get(url, headers=seed.agency.auth)).json()["items"]
    assert {item["user_id"] for item in items} == {seed.agency.user_id, seed.procurer.user_id}


async def test_a_supervisor_without_the_grant_cannot_hold_a_share(
        client: httpx.AsyncClient, seed: Seed, flow: Flow, services: Services) -> None:
    from tests.support import announce_body

    project = await flow.register(supervised=False)
    await flow.upload(project["id"])
    before = await table_counts(services)
    body = announce_body(flow.now, seed, opening_threshold=2, opening_key_holders=[
        seed.agency.user_id, seed.procurer.user_id, seed.supervisor.user_id])
    response = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                 headers=seed.agency.auth, json=body)
    assert_error(response, 422, "key_holder_not_party")
    assert await table_counts(services) == before


@pytest.mark.parametrize("holders, threshold, code", [
    (["agency", "agency2"], 2, "key_holder_not_party"),
    (["agency", "bidder1"], 2, "key_holder_not_party"),
    (["agency", "expert"], 2, "key_holder_not_party"),
    (["agency", "admin"], 2, "key_holder_not_party"),
    (["agency", "agency"], 2, "duplicate_key_holder"),
    (["agency", "procurer"], 3, "bad_threshold"),
])
async def test_bad_key_holders_change_nothing(client: httpx.AsyncClient, seed: Seed, flow: Flow,
                                              services: Services, holders: list[str],
                                              threshold: int, code: str) -> None:
    from tests.support import announce_body

    project = await flow.register()
    await flow.upload(project["id"])
    before = await table_counts(services)
    body = announce_body(flow.now, seed, opening_threshold=threshold,
                         opening_key_holders=[seed.parties[k].user_id for k in holders])
    response = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                 headers=seed.agency.auth, json=body)
    assert_error(response, 422, code)
    assert await table_counts(services) == before


async def test_a_lost_receipt_is_replayed_or_fetched_again(client: httpx.AsyncClient,
                                                          seed: Seed, services: Services,
                                                          tendering: dict[str, Any]) -> None:
    section = tendering["notice"]["sections"][0]
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    envelope = seal_bid(section, seed.bidder1, opening)
    started = await client.post(f"/api/v1/sections/{section['id']}/uploads",
                                headers=seed.bidder1.auth, json={"size": len(envelope)})
    upload_id = started.json()["id"]
    await client.patch(f"/api/v1/uploads/{upload_id}", content=envelope,
                       headers={**seed.bidder1.auth, "Upload-Offset": "0"})
    headers = {**seed.bidder1.auth, "Idempotency-Key": "complete-once"}
    first = await client.post(f"/api/v1/uploads/{upload_id}/complete", headers=headers)
    again = await client.post(f"/api/v1/uploads/{upload_id}/complete", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    bid_id = first.json()["receipt"]["bid_id"]
    fetched = await client.get(f"/api/v1/sections/{section['id']}/bids/{bid_id}/receipt",
                               headers=seed.bidder1.auth)
    assert fetched.content == first.content
    assert verify_receipt_file(fetched.content, services.receipt_key.public_key())[0]
    assert_error(await client.get(f"/api/v1/sections/{section['id']}/bids/{bid_id}/receipt",
                                  headers=seed.bidder2.auth), 404, "bid_not_found")


async def test_oversize_uploads_are_refused(client: httpx.AsyncClient, seed: Seed,
                                            services: Services,
                                            tendering: dict[str, Any]) -> None:
    section = tendering["notice"]["sections"][0]
    before = await table_counts(services)
    limit = services.settings.max_bid_bytes
    too_big = await client.post(f"/api/v1/sections/{section['id']}/uploads",
                                headers=seed.bidder1.auth, json={"size": limit + 1})
    assert_error(too_big, 422, "bid_too_large")
    assert await table_counts(services) == before
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    envelope = seal_bid(section, seed.bidder1, opening)
    started = await client.post(f"/api/v1/sections/{section['id']}/uploads",
                                headers=seed.bidder1.auth, json={"size": len(envelope)})
    upload_id = started.json()["id"]
    more = await client.patch(f"/api/v1/uploads/{upload_id}", content=envelope + b"extra",
                              headers={**seed.bidder1.auth, "Upload-Offset": "0"})
    assert_error(more, 422, "upload_too_large")
    status = (await client.get(f"/api/v1/uploads/{upload_id}", headers=seed.bidder1.auth)).json()
    assert status["offset"] == 0  # nothing of the refused body was kept
    part = services.uploads.path(upload_id)
    assert not part.exists() or part.stat().st_size == 0


async def test_the_same_envelope_twice_is_one_valid_bid(client: httpx.AsyncClient, seed: Seed,
                                                        services: Services,
                                                        tendering: dict[str, Any]) -> None:
    section = tendering["notice"]["sections"][0]
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    envelope = seal_bid(section, seed.bidder1, opening)
    first = await submit(client, section["id"], seed.bidder1, envelope)
    second = await submit(client, section["id"], seed.bidder1, envelope)
    assert first.status_code == second.status_code == 201
    bids = (await client.get(f"/api/v1/sections/{section['id']}/bids",
                             headers=seed.bidder1.auth)).json()["items"]
    assert [bid["status"] for bid in bids] == ["replaced", "valid"]
    stored = services.uploads.store.path_of(first.json()["receipt"]["envelope_sha256"])
    assert stored.read_bytes() == envelope  # stored once, still whole
