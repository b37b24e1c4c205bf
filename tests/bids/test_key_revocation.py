"""撤销公钥: a registered key is revoked with the login alone (its private half may be lost or in
another browser); a revoked bidder key seals no new bid; nobody revokes another organisation's
key; every refusal changes nothing."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from tests.bids.test_submission import seal_bid, sealing, submit
from tests.support import Flow, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.events.models import Event
from tradesys.services import Services


async def own_key(client: httpx.AsyncClient, auth: dict[str, str]) -> dict:  # type: ignore[type-arg]
    items = (await client.get("/api/v1/keys", headers=auth)).json()["items"]
    assert len(items) == 1
    key: dict = items[0]  # type: ignore[type-arg]
    return key


async def test_a_bidder_revokes_its_key_and_it_seals_no_new_bid(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock) -> None:
    section = (await flow.announced())["sections"][0]
    info = await sealing(client, section["id"], seed.bidder1)
    sealed = seal_bid(section, seed.bidder1, info["opening_public_key"])
    key = await own_key(client, seed.bidder1.auth)
    assert key["revoked_at"] is None
    response = await client.post(f"/api/v1/keys/{key['id']}/revoke", headers=seed.bidder1.auth)
    assert response.status_code == 200, response.text
    now = clock.now().isoformat().replace("+00:00", "Z")
    assert response.json()["revoked_at"] == now
    assert (await own_key(client, seed.bidder1.auth))["revoked_at"] == now
    async with services.db.reading() as session:
        event = (await session.execute(select(Event).where(Event.type == "key.revoked"))
                 ).scalar_one()
    assert json.loads(event.payload)["key_id"] == key["key_id"]
    # A bid sealed with the revoked key is refused, and none is recorded.
    refused = await submit(client, section["id"], seed.bidder1, sealed)
    assert 400 <= refused.status_code < 500, refused.text
    assert (await client.get(f"/api/v1/sections/{section['id']}/bids",
                             headers=seed.bidder1.auth)).json()["items"] == []


async def test_refused_revocations_change_nothing(client: httpx.AsyncClient, seed: Seed,
                                                  services: Services) -> None:
    key = await own_key(client, seed.bidder1.auth)
    holder = await own_key(client, seed.supervisor.auth)
    assert (await client.post(f"/api/v1/keys/{holder['id']}/revoke",
                              headers=seed.supervisor.auth)).status_code == 200
    before = await table_counts(services)
    url = f"/api/v1/keys/{key['id']}/revoke"
    assert_error(await client.post(url, headers=seed.bidder2.auth), 404, "key_not_found")
    assert_error(await client.post(url, headers=seed.agency.auth), 404, "key_not_found")
    assert_error(await client.post("/api/v1/keys/999999/revoke", headers=seed.bidder1.auth),
                 404, "key_not_found")
    assert_error(await client.post(url), 401)
    assert_error(await client.post(f"/api/v1/keys/{holder['id']}/revoke",
                                   headers=seed.supervisor.auth), 409, "key_revoked")
    assert await table_counts(services) == before
    assert (await own_key(client, seed.bidder1.auth))["revoked_at"] is None
