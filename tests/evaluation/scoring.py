"""Helpers of the scoring tests: a section with its own scheme and prices taken through the
opening to a published record, its committee, and members' signed sheets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from tests.bids.test_opening import _envelope, release_bidder, release_holder
from tests.bids.test_submission import sealing, submit
from tests.evaluation.conftest import Pool, opening_command
from tests.hall.signing import SigningKey, register_signing_key
from tests.support import Flow, Party, Seed, announce_body, section_in
from tradesys.clock import AdjustableClock
from tradesys.evaluation import sheets
from tradesys.events.models import Event
from tradesys.services import Services

COMPREHENSIVE = {
    "method": "comprehensive", "price_weight": "30",
    "criteria": [
        {"id": "T1", "name": "技术方案", "category": "technical", "max_score": "40"},
        {"id": "T2", "name": "实施计划", "category": "technical", "max_score": "20"},
        {"id": "B1", "name": "类似业绩", "category": "business", "max_score": "10",
         "min_score": "2"},
    ],
}
CEILING = "9500000.00"


@dataclass
class Opened:
    project_id: int
    section_id: int
    section_code: str
    other_section_id: int
    #: bidder key → bid public id.
    bids: dict[str, str]


async def opened_section(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                         clock: AdjustableClock, app: Starlette,
                         prices: dict[str, str], scheme: dict[str, Any] | None) -> Opened:
    """Register (ceiling 9.5 million), set the scheme, announce, bid, open, publish."""
    project = await flow.register(sections=[
        section_in("施工", budget="10000000.00", ceiling_price=CEILING),
        section_in("监理")])
    section_id = project["sections"][0]["id"]
    if scheme is not None:
        response = await client.put(f"/api/v1/sections/{section_id}/evaluation/scheme",
                                    headers=seed.agency.auth, json=scheme)
        assert response.status_code == 200, response.text
    await flow.upload(project["id"])
    announced = await client.post(f"/api/v1/projects/{project['id']}/announce",
                                  headers=seed.agency.auth, json=announce_body(flow.now, seed))
    assert announced.status_code == 201, announced.text
    section = announced.json()["sections"][0]
    opening_key = (await sealing(client, section_id, seed.bidder1))["opening_public_key"]
    for key, price in prices.items():
        response = await submit(client, section_id, seed.parties[key],
                                _envelope(section, seed.parties[key], opening_key, price))
        assert response.status_code == 201, response.text
    clock.advance(timedelta(days=21))
    await app.state.scheduler.run_once()
    await opening_command(client, section_id, seed.agency, type="start_decryption")
    for holder in (seed.agency, seed.supervisor):
        assert (await release_holder(client, section_id, holder)).status_code == 200
    for key in prices:
        assert (await release_bidder(client, section_id, seed.parties[key])).status_code == 200
    await app.state.scheduler.run_once()
    for _ in prices:
        await opening_command(client, section_id, seed.agency, type="read_next")
    await opening_command(client, section_id, seed.agency, type="generate_record")
    clock.advance(timedelta(minutes=31))
    await opening_command(client, section_id, seed.agency, type="close")
    bids = {}
    for key in prices:
        mine = await client.get(f"/api/v1/sections/{section_id}/bids",
                                headers=seed.parties[key].auth)
        bids[key] = mine.json()["items"][-1]["id"]
    return Opened(project["id"], section_id, section["code"], project["sections"][1]["id"], bids)


async def draw_committee(client: httpx.AsyncClient, seed: Seed, pool: Pool,
                         section_id: int) -> list[Party]:
    """Five members: four drawn experts and the procurer's representative, by seat."""
    drawn = await client.post(f"/api/v1/sections/{section_id}/panel", headers=seed.agency.auth,
                              json={"size": 5, "specialties": ["A01"],
                                    "representatives": [seed.procurer.user_id]})
    assert drawn.status_code == 201, drawn.text
    return await sitting(client, seed, pool, section_id)


async def sitting(client: httpx.AsyncClient, seed: Seed, pool: Pool,
                  section_id: int) -> list[Party]:
    people = {p.user_id: p for p in [*pool.eligible, seed.procurer]}
    members = (await client.get(f"/api/v1/sections/{section_id}/panel",
                                headers=seed.agency.auth)).json()["members"]
    return [people[m["user_id"]] for m in sorted(members, key=lambda m: m["seat"])
            if m["status"] == "active"]


def signed_sheet(key: SigningKey, opened: Opened, scheme_sha256: str,
                 scores: dict[str, dict[str, str]]) -> dict[str, Any]:
    document = sheets.message(opened.section_code, scheme_sha256, key.party.user_id, scores)
    return {"scores": scores, "key_id": key.key_id,
            "signature": sheets.sign(key.private_key, document)}


async def keys_for(client: httpx.AsyncClient, members: list[Party]) -> dict[int, SigningKey]:
    return {m.user_id: await register_signing_key(client, m) for m in members}


async def evaluation_events(services: Services, section_id: int
                            ) -> list[tuple[str, dict[str, Any]]]:
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event).where(
            Event.aggregate_type == "evaluation", Event.aggregate_id == str(section_id))
            .order_by(Event.seq))).scalars().all()
    return [(row.type, json.loads(row.payload)) for row in rows]

