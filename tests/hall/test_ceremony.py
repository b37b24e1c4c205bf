"""A whole opening over the hall's WebSocket: every step is an event every client sees live,
in the same order; the record is published as JSON and PDF and reported."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from tests.bids.test_opening import bidder_share
from tests.hall.signing import register_signing_key
from tests.hall.support import HallClient
from tests.support import Seed, table_counts
from tradesys.bids.models import Bid
from tradesys.bids.receipts import verify_receipt_file
from tradesys.bids.shamir import unwrap_holder_share
from tradesys.clock import AdjustableClock
from tradesys.events.canonical import canonical_json
from tradesys.events.models import Event, OutboxRow
from tradesys.opening import confirmation
from tradesys.services import Services


def bid_references(value: Any) -> list[Any]:
    """Every value named ``bid_id`` anywhere in a message (nested objects and lists)."""
    if isinstance(value, dict):
        found = [value["bid_id"]] if "bid_id" in value else []
        return found + [ref for item in value.values() for ref in bid_references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in bid_references(item)]
    return []


async def holder_share(client: httpx.AsyncClient, section_id: int, holder: Any) -> dict[str, Any]:
    wrapped = (await client.get(f"/api/v1/sections/{section_id}/opening/my-share",
                                headers=holder.auth)).json()
    share: dict[str, Any] = unwrap_holder_share(wrapped, holder.private_key).to_json()
    return share


async def test_a_whole_opening_in_the_hall(
        client: httpx.AsyncClient, seed: Seed, app: Starlette, services: Services,
        clock: AdjustableClock, published: dict[str, Any], base: str) -> None:
    section_id = published["section_id"]
    host = await HallClient.open(base, section_id, token=seed.agency.token)
    observer = await HallClient.open(base, section_id)
    bidders = {key: await HallClient.open(base, section_id, token=seed.parties[key].token)
               for key in ("bidder1", "bidder2", "bidder3")}
    supervisor = await HallClient.open(base, section_id, token=seed.supervisor.token)
    assert host.welcome["audience"] == "host"
    assert observer.welcome["audience"] == "observer" and observer.welcome["you"] is None
    assert {c.welcome["audience"] for c in bidders.values()} == {"bidder"}
    assert supervisor.welcome["audience"] == "supervisor"
    assert host.welcome["state"]["phase"] == "published"
    assert len(host.welcome["state"]["bidders"]) == 3
    # Catch-up: the bid list was published before anyone came in.
    await observer.until_seq(1)
    assert observer.types() == ["opening.bids_published"]

    assert (await host.command("start_decryption"))["type"] == "ack"
    for holder, connection in ((seed.agency, host), (seed.supervisor, supervisor)):
        share = await holder_share(client, section_id, holder)
        reply = await connection.command("release_holder_share", share=share)
        assert reply["type"] == "ack", reply
    release_acks = []
    for key, connection in bidders.items():
        assert (await connection.command("sign_in"))["type"] == "ack"
        share = await bidder_share(client, section_id, seed.parties[key])
        reply = await connection.command("release_share", share=share)
        assert reply["type"] == "ack", reply
        release_acks.append(reply["result"]["bid_id"])
    await app.state.scheduler.run_once()  # the scheduler opens the bids (woken by releases)
    await host.until("opening.decryption_ended")
    for _ in range(3):
        assert (await host.command("read_next"))["type"] == "ack"
    assert (await host.command("read_next"))["code"] == "nothing_to_read"
    assert (await host.command("generate_record"))["type"] == "ack"
    record_event = await bidders["bidder1"].until("opening.record_generated")
    record_sha = record_event["event"]["data"]["record_sha256"]

    objection = await bidders["bidder2"].command("raise_objection", text="报价唱读有误？")
    assert objection["type"] == "ack"
    assert (await host.command("close"))["code"] == "objections_unanswered"
    assert (await host.command("answer_objection", objection=1,
                               text="经核对，唱标无误。"))["type"] == "ack"
    keys = {key: await register_signing_key(client, seed.parties[key]) for key in bidders}
    code = published["section"]["code"]
    before = await table_counts(services)
    # A signature by another bidder's key, a signature over another record, an unknown key.
    stolen = {**keys["bidder2"].confirm(code, record_sha), "key_id": keys["bidder1"].key_id}
    for fields, error in (
            ({**keys["bidder1"].confirm(code, record_sha), "key_id": keys["bidder2"].key_id},
             "no_signing_key"),
            (stolen, "bad_signature"),
            ({**keys["bidder1"].confirm(code, "1" * 64), "record_sha256": record_sha},
             "bad_signature"),
            (keys["bidder1"].confirm(code, "1" * 64), "record_mismatch")):
        reply = await bidders["bidder1"].command("confirm_record", **fields)
        assert reply["type"] == "error" and reply["code"] == error, (error, reply)
    assert await table_counts(services) == before
    for key, connection in bidders.items():
        reply = await connection.command("confirm_record", **keys[key].confirm(code, record_sha))
        assert reply["type"] == "ack", reply
        # The bidder keeps the platform's countersignature of what it confirmed.
        receipt = reply["result"]["receipt"]
        assert receipt["receipt"]["record_sha256"] == record_sha
        assert receipt["receipt"]["org_id"] == seed.parties[key].org_id
        assert verify_receipt_file(canonical_json(receipt),
                                   services.receipt_key.public_key()) == (True, "genuine")
        forged = {**receipt, "receipt": {**receipt["receipt"], "record_sha256": "0" * 64}}
        genuine, _ = verify_receipt_file(canonical_json(forged),
                                         services.receipt_key.public_key())
        assert not genuine
    closed = await host.command("close")
    assert closed["type"] == "ack", closed
    final = await observer.until("opening.closed")

    # Every client saw the same room events in the same order, numbered 1..n without gaps.
    await host.until_seq(final["seq"])
    for connection in (observer, *bidders.values(), supervisor):
        await connection.until_seq(final["seq"])
    participant = host.seqs()
    assert participant == list(range(1, final["seq"] + 1))
    for connection in (*bidders.values(), supervisor):
        assert connection.seqs() == participant
        assert [m["event"] for m in connection.events] == [m["event"] for m in host.events]
    # The public sees the same steps (no chat was sent here), without actor details.
    assert observer.seqs() == participant
    for message in observer.events:
        text = json.dumps(message)
        assert '"ip"' not in text and '"user_agent"' not in text
        assert "127.0.0.1" not in text and "203.0.113" not in text
    prices = [m["event"]["data"]["price"] for m in observer.events
              if m["event"]["type"] == "opening.price_read"]
    assert sorted(prices) == ["9050000.00", "9100000.00", "9200000.00"]
    # No price travels before its reading: the decryption events carry no bid content.
    decrypted = [m for m in observer.events if m["event"]["type"] == "bid.decrypted"]
    assert len(decrypted) == 3 and all("summary" not in m["event"]["data"] for m in decrypted)

    # The room's events are exactly the log's (aggregate "opening").
    async with services.db.reading() as session:
        logged = (await session.execute(select(Event.aggregate_seq, Event.type).where(
            Event.aggregate_type == "opening", Event.aggregate_id == str(section_id))
            .order_by(Event.aggregate_seq))).all()
        reports = (await session.execute(select(OutboxRow.topic).where(
            OutboxRow.topic == "BID_OPENING_RECORD"))).scalars().all()
    assert [(seq, type_) for seq, type_ in logged] == list(zip(participant, host.types(),
                                                               strict=True))
    assert reports == ["BID_OPENING_RECORD"]

    # The published record: JSON whose hash is the one announced, and its PDF.
    data = final["event"]["data"]
    record = await client.get(data["record_url"])
    assert record.status_code == 200
    assert hashlib.sha256(record.content).hexdigest() == data["record_sha256"]
    body = record.json()
    assert body["version"] == "final" and body["draft_sha256"] == record_sha
    assert [c["record_sha256"] for c in body["confirmations"]] == [record_sha] * 3
    # Each confirmation is the bidder's own signature: checked here from the record alone.
    for item in body["confirmations"]:
        signed = canonical_json(item["signed"])
        assert signed == confirmation.message(code, record_sha, item["credit_code"])
        assert confirmation.verify(item["public_key"], signed, item["signature"])
        assert not confirmation.verify(item["public_key"], signed.replace(b"tradesys",
                                       b"Tradesys"), item["signature"])
    assert body["objections"][0]["answer"] == "经核对，唱标无误。"
    pdf = await client.get(data["pdf_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    state = (await client.get(f"/api/v1/sections/{section_id}/opening")).json()
    assert state["phase"] == "closed"

    # Every bid reference that left the server is the bid's random public id (the one the
    # bids API takes), never its sequential row id: frames, acks, the HTTP view, the record.
    public_ids = set()
    for key in bidders:
        own = (await client.get(f"/api/v1/sections/{section_id}/bids",
                                headers=seed.parties[key].auth)).json()["items"]
        public_ids |= {bid["id"] for bid in own if bid["status"] == "valid"}
    async with services.db.reading() as session:
        row_ids = set((await session.execute(select(Bid.id).where(
            Bid.section_id == section_id))).scalars())
    assert len(public_ids) == 3 and not public_ids & {str(row) for row in row_ids}
    named = []
    for connection in (host, observer, supervisor, *bidders.values()):
        named += bid_references(connection.welcome) + bid_references(connection.messages)
    named += release_acks + bid_references(state)
    assert set(named) == public_ids, named
    for connection in (host, observer):
        events = {m["event"]["type"]: m["event"]["data"] for m in connection.events}
        assert events["opening.price_read"]["bid_id"] in public_ids
        assert events["bid.decrypted"]["bid_id"] in public_ids
        assert {b["bid_id"] for b in events["opening.bids_published"]["bidders"]} == public_ids
    assert set(state["read"]) == public_ids
    assert "bid_id" not in record.text and "public_id" not in record.text
    clock.advance(timedelta(seconds=1))
    for connection in (host, observer, supervisor, *bidders.values()):
        await connection.close()


async def test_a_supervisor_without_the_projects_grant_watches_as_the_public(
        client: httpx.AsyncClient, seed: Seed, published: dict[str, Any], base: str) -> None:
    """Supervision follows jurisdiction: with the grant taken back, the supervisor is an
    observer (no participants' chat, no actions)."""
    section_id, project_id = published["section_id"], published["project"]["id"]
    revoked = await client.delete(
        f"/api/v1/projects/{project_id}/supervisors/{seed.supervisor.org_id}",
        headers=seed.admin.auth)
    assert revoked.status_code in (200, 204), revoked.text
    supervisor = await HallClient.open(base, section_id, token=seed.supervisor.token)
    try:
        assert supervisor.welcome["audience"] == "observer"
    finally:
        await supervisor.close()
