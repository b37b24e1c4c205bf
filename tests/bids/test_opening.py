"""解密: both halves are needed; every release and outcome is an event; failures are sorted
into the bidder's fault (撤销 revoked) and not the bidder's fault (撤回 withdrawn)."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from tests.bids.test_submission import sealing, submit
from tests.support import Flow, Party, Seed, assert_error, table_counts
from tradesys.bids.encoding import b64u, unb64u
from tradesys.bids.envelope import ROLE_BIDDER, parse_header
from tradesys.bids.models import Bid
from tradesys.bids.open import unwrap_share
from tradesys.bids.seal import seal
from tradesys.bids.shamir import unwrap_holder_share
from tradesys.clock import AdjustableClock
from tradesys.events.models import Event, OutboxRow
from tradesys.services import Services


def _plaintext(bidder: Party) -> bytes:
    return f"{bidder.key} 的投标文件 ".encode() * 5000


def _envelope(section: dict[str, Any], bidder: Party, opening_key: str, price: str) -> bytes:
    assert bidder.private_key is not None
    data = _plaintext(bidder)
    out = io.BytesIO()
    seal(io.BytesIO(data), len(data), out, section_code=section["code"],
         bidder_code=bidder.credit_code, bidder_public_key=bidder.private_key.public_key(),
         opening_public_key=opening_key,
         summary={"price": price, "currency": "CNY", "duration_days": 300, "quality": "合格",
                  "project_manager": "李四"}, chunk_size=8192)
    return out.getvalue()


@pytest.fixture
async def closed(client: httpx.AsyncClient, flow: Flow, seed: Seed, clock: AdjustableClock,
                 app: Starlette) -> dict[str, Any]:
    """A section with three sealed bids, past its deadline."""
    project = await flow.announced()
    section = project["notice"]["sections"][0]
    opening_key = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    envelopes = {}
    for bidder, price in ((seed.bidder1, "9100000.00"), (seed.bidder2, "9050000.00"),
                          (seed.bidder3, "9200000.00")):
        envelopes[bidder.key] = _envelope(section, bidder, opening_key, price)
        response = await submit(client, section["id"], bidder, envelopes[bidder.key])
        assert response.status_code == 201, response.text
    clock.advance(timedelta(days=21))
    await app.state.scheduler.run_once()  # closes the section and publishes the bid list
    started = await client.post(f"/api/v1/sections/{section['id']}/opening/commands",
                                headers=seed.agency.auth, json={"type": "start_decryption"})
    assert started.status_code == 200, started.text
    return {"project": project, "section": section, "envelopes": envelopes}


async def release_holder(client: httpx.AsyncClient, section_id: int, holder: Party
                         ) -> httpx.Response:
    assert holder.private_key is not None
    wrapped = (await client.get(f"/api/v1/sections/{section_id}/opening/my-share",
                                headers=holder.auth)).json()
    share = unwrap_holder_share(wrapped, holder.private_key)
    return await client.post(f"/api/v1/sections/{section_id}/opening/holder-share",
                             headers=holder.auth, json={"share": share.to_json()})


async def bidder_share(client: httpx.AsyncClient, section_id: int, bidder: Party) -> str:
    assert bidder.private_key is not None
    bid = (await client.get(f"/api/v1/sections/{section_id}/bids",
                            headers=bidder.auth)).json()["items"][-1]
    header = (await client.get(f"/api/v1/sections/{section_id}/bids/{bid['id']}/header",
                               headers=bidder.auth)).json()["header"]
    return b64u(unwrap_share(parse_header(unb64u(header)), ROLE_BIDDER, bidder.private_key))


async def release_bidder(client: httpx.AsyncClient, section_id: int, bidder: Party
                         ) -> httpx.Response:
    share = await bidder_share(client, section_id, bidder)
    return await client.post(f"/api/v1/sections/{section_id}/opening/bidder-share",
                             headers=bidder.auth, json={"share": share})


async def test_two_of_three_holders_and_the_bidders_open_the_bids(
        client: httpx.AsyncClient, seed: Seed, services: Services, closed: dict[str, Any],
        clock: AdjustableClock, app: Starlette) -> None:
    section_id = closed["section"]["id"]
    for holder in (seed.agency, seed.supervisor):
        assert (await release_holder(client, section_id, holder)).status_code == 200
    for bidder in (seed.bidder1, seed.bidder2):
        assert (await release_bidder(client, section_id, bidder)).status_code == 200
    opened = await client.post(f"/api/v1/sections/{section_id}/opening/decrypt",
                               headers=seed.agency.auth, json={"finalize": False})
    assert opened.status_code == 200, opened.text
    # The API names bids by their public ids; the opened files by the internal ones.
    async with services.db.reading() as session:
        internal = {bid.public_id: bid.id for bid in (await session.execute(
            select(Bid).where(Bid.section_id == section_id))).scalars()}
    items = {internal[item["bid_id"]]: item for item in opened.json()["items"]}
    assert [item["outcome"] for item in items.values()] == ["decrypted", "decrypted"]
    assert sorted(item["summary"]["price"] for item in items.values()) == [
        "9050000.00", "9100000.00"]
    for bid_id in items:
        plain = (services.settings.data_dir / "opened" / f"{bid_id}.bin").read_bytes()
        assert plain in (_plaintext(seed.bidder1), _plaintext(seed.bidder2))
    # bidder3 has not released its share: the host cannot cut its time short.
    assert_error(await client.post(f"/api/v1/sections/{section_id}/opening/decrypt",
                                   headers=seed.agency.auth, json={"finalize": True}), 409,
                 "bidders_pending")
    # The window ends: bidder3 never released its share: revoked (撤销), not opened.
    clock.advance(timedelta(minutes=30))
    await app.state.scheduler.run_once()
    async with services.db.reading() as session:
        late = (await session.execute(select(Bid).where(
            Bid.section_id == section_id, Bid.id.not_in(list(items))))).scalar_one()
        assert late.outcome == "revoked" and late.summary is None
        types = [e.type for e in (await session.execute(
            select(Event).where(Event.aggregate_type == "opening").order_by(Event.seq)
        )).scalars()]
    assert types.count("opening_share.released") == 2
    assert types.count("bid.share_released") == 2
    assert types.count("bid.decrypted") == 2 and types.count("bid.revoked") == 1
    # The settled list with its prices is not reported yet: no price has been read out in the
    # hall. TENDER_LIST waits for the record's close (tests/reporting/test_opening_record.py).
    assert types.count("section.tender_list") == 0
    assert types[-1] == "opening.decryption_ended"
    # The window is over: nothing more to release, decrypt or end.
    assert_error(await release_bidder(client, section_id, seed.bidder3), 409, "wrong_phase")
    assert_error(await client.post(f"/api/v1/sections/{section_id}/opening/decrypt",
                                   headers=seed.agency.auth, json={"finalize": True}), 409,
                 "wrong_phase")
    async with services.db.reading() as session:
        rows = (await session.execute(select(OutboxRow).where(
            OutboxRow.topic == "TENDER_LIST"))).scalars().all()
    assert rows == []


async def test_nothing_opens_before_the_deadline(client: httpx.AsyncClient, flow: Flow,
                                                 seed: Seed, services: Services) -> None:
    project = await flow.announced()
    section = project["notice"]["sections"][0]
    opening_key = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    envelope = _envelope(section, seed.bidder1, opening_key, "1.00")
    assert (await submit(client, section["id"], seed.bidder1, envelope)).status_code == 201
    before = await table_counts(services)
    assert_error(await release_holder(client, section["id"], seed.agency), 409, "before_deadline")
    assert_error(await release_bidder(client, section["id"], seed.bidder1), 409,
                 "before_deadline")
    assert_error(await client.post(f"/api/v1/sections/{section['id']}/opening/decrypt",
                                   headers=seed.agency.auth, json={}), 409, "before_deadline")
    assert await table_counts(services) == before


async def test_bad_releases_change_nothing(client: httpx.AsyncClient, seed: Seed,
                                           services: Services, closed: dict[str, Any]) -> None:
    section_id = closed["section"]["id"]
    before = await table_counts(services)
    # Not a holder (the procurer2 is no party; bidder1 holds no share).
    assert_error(await client.get(f"/api/v1/sections/{section_id}/opening/my-share",
                                  headers=seed.bidder1.auth), 403, "not_key_holder")
    # The agency releases the supervisor's share: not its own.
    assert seed.supervisor.private_key is not None
    wrapped = (await client.get(f"/api/v1/sections/{section_id}/opening/my-share",
                                headers=seed.supervisor.auth)).json()
    share = unwrap_holder_share(wrapped, seed.supervisor.private_key)
    assert_error(await client.post(f"/api/v1/sections/{section_id}/opening/holder-share",
                                   headers=seed.agency.auth, json={"share": share.to_json()}),
                 422, "share_not_yours")
    # A bidder sends a share that is not its own.
    wrong = base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")
    assert_error(await client.post(f"/api/v1/sections/{section_id}/opening/bidder-share",
                                   headers=seed.bidder1.auth, json={"share": wrong}), 422,
                 "share_mismatch")
    # A bidder without a bid, and a bidder driving the decryption.
    assert_error(await client.post(f"/api/v1/sections/{section_id}/opening/decrypt",
                                   headers=seed.bidder1.auth, json={}), 403,
                 "forbidden")
    # One holder share is fewer than k = 2.
    assert (await release_holder(client, section_id, seed.agency)).status_code == 200
    after_one = await table_counts(services)
    assert_error(await client.post(f"/api/v1/sections/{section_id}/opening/decrypt",
                                   headers=seed.agency.auth, json={}), 422, "too_few_shares")
    assert await table_counts(services) == after_one
    assert after_one["events"] == before["events"] + 1


async def test_a_corrupted_stored_copy_is_withdrawn_not_blamed_on_the_bidder(
        client: httpx.AsyncClient, seed: Seed, services: Services, closed: dict[str, Any]
) -> None:
    section_id = closed["section"]["id"]
    for holder in (seed.agency, seed.procurer):
        assert (await release_holder(client, section_id, holder)).status_code == 200
    assert (await release_bidder(client, section_id, seed.bidder1)).status_code == 200
    bid = (await client.get(f"/api/v1/sections/{section_id}/bids",
                            headers=seed.bidder1.auth)).json()["items"][-1]
    stored: Path = services.uploads.store.path_of(bid["envelope_sha256"])
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0xFF  # the platform's storage damaged it after the receipt
    stored.write_bytes(bytes(data))
    assert (await release_bidder(client, section_id, seed.bidder2)).status_code == 200
    lost = (await client.get(f"/api/v1/sections/{section_id}/bids",
                             headers=seed.bidder2.auth)).json()["items"][-1]
    services.uploads.store.path_of(lost["envelope_sha256"]).unlink()  # and lost another
    opened = await client.post(f"/api/v1/sections/{section_id}/opening/decrypt",
                               headers=seed.agency.auth, json={})
    outcomes = {item["bid_id"]: item for item in opened.json()["items"]}
    assert outcomes[bid["id"]]["outcome"] == "withdrawn"
    assert "receipted" in outcomes[bid["id"]]["reason"]
    assert outcomes[lost["id"]]["outcome"] == "withdrawn"
    assert "missing" in outcomes[lost["id"]]["reason"]


async def test_an_envelope_the_bidder_broke_is_revoked(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, clock: AdjustableClock,
        app: Starlette) -> None:
    project = await flow.announced()
    section = project["notice"]["sections"][0]
    opening_key = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    envelope = bytearray(_envelope(section, seed.bidder1, opening_key, "1.00"))
    envelope[-20] ^= 0x01  # the bidder's tool wrote a bad chunk; the header is fine
    assert (await submit(client, section["id"], seed.bidder1, bytes(envelope))).status_code == 201
    for other in (seed.bidder2, seed.bidder3):  # enough bids for the opening to go on
        good = _envelope(section, other, opening_key, "2.00")
        assert (await submit(client, section["id"], other, good)).status_code == 201
    clock.advance(timedelta(days=21))
    await app.state.scheduler.run_once()
    started = await client.post(f"/api/v1/sections/{section['id']}/opening/commands",
                                headers=seed.agency.auth, json={"type": "start_decryption"})
    assert started.status_code == 200, started.text
    for holder in (seed.agency, seed.procurer):
        assert (await release_holder(client, section["id"], holder)).status_code == 200
    assert (await release_bidder(client, section["id"], seed.bidder1)).status_code == 200
    opened = await client.post(f"/api/v1/sections/{section['id']}/opening/decrypt",
                               headers=seed.agency.auth, json={})
    [item] = opened.json()["items"]
    assert item["outcome"] == "revoked" and "chunk_auth_failed" in item["reason"]
