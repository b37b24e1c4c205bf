"""A section whose opening record is published (the HTTP path of tests/reporting), and an
expert pool around it: eligible experts, and experts each with one reason to be avoided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.bids.test_opening import release_bidder, release_holder
from tests.hall.conftest import PRICES, published  # noqa: F401  (the fixture)
from tests.support import Party, Seed
from tradesys.clock import AdjustableClock
from tradesys.demo.scenario import random_credit_code


async def opening_command(client: httpx.AsyncClient, section_id: int, party: Party,
                          **body: Any) -> None:
    response = await client.post(f"/api/v1/sections/{section_id}/opening/commands",
                                 headers=party.auth, json=body)
    assert response.status_code == 200, response.text


async def close_opening(client: httpx.AsyncClient, app: Starlette, seed: Seed,
                        clock: AdjustableClock, section_id: int) -> None:
    """Decrypt, read out, generate the record, let the confirmation window run out, close."""
    await opening_command(client, section_id, seed.agency, type="start_decryption")
    for holder in (seed.agency, seed.supervisor):
        assert (await release_holder(client, section_id, holder)).status_code == 200
    for key, _price in PRICES:
        assert (await release_bidder(client, section_id, seed.parties[key])).status_code == 200
    await app.state.scheduler.run_once()
    for _ in PRICES:
        await opening_command(client, section_id, seed.agency, type="read_next")
    await opening_command(client, section_id, seed.agency, type="generate_record")
    clock.advance(timedelta(minutes=31))
    await opening_command(client, section_id, seed.agency, type="close")
    state = (await client.get(f"/api/v1/sections/{section_id}/opening")).json()
    assert state["phase"] == "closed"


@dataclass
class Pool:
    #: Experts nobody has a reason to avoid (the seeded ``expert`` among them).
    eligible: list[Party]
    #: Experts with one reason each to be avoided, by that reason.
    avoided: dict[str, Party]
    #: An expert of another specialty.
    other: Party

    @property
    def everyone(self) -> list[Party]:
        return [*self.eligible, *self.avoided.values(), self.other]


async def new_user(client: httpx.AsyncClient, admin: Party, key: str, role: str,
                   org_id: int | None = None) -> Party:
    party = Party(key, role, key, f"{key}-password-1")
    if org_id is None:
        party.credit_code = random_credit_code()
        org = await client.post("/api/v1/organisations", headers=admin.auth, json={
            "name": f"{key} 单位", "credit_code": party.credit_code})
        assert org.status_code == 201, org.text
        org_id = org.json()["id"]
    party.org_id = org_id
    user = await client.post("/api/v1/users", headers=admin.auth, json={
        "org_id": org_id, "username": key, "display_name": f"专家{key}",
        "password": party.password, "role": role})
    assert user.status_code == 201, user.text
    party.user_id = user.json()["id"]
    token = await client.post("/api/v1/auth/tokens", json={
        "username": key, "password": party.password, "ttl_days": 30})
    party.token = token.json()["token"]
    return party


async def save_profile(client: httpx.AsyncClient, admin: Party, expert: Party,
                       specialties: tuple[str, ...] = ("A01", "A02"),
                       ties: tuple[str, ...] = ()) -> dict[str, Any]:
    response = await client.put(f"/api/v1/experts/{expert.user_id}/profile", headers=admin.auth,
                                json={"specialties": list(specialties), "region_code": "350100",
                                      "ties": list(ties)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def pool(client: httpx.AsyncClient, seed: Seed) -> Pool:
    admin = seed.admin
    eligible = [seed.expert]
    for n in range(6):
        eligible.append(await new_user(client, admin, f"expert_e{n}", "expert"))
    avoided = {
        "bidder_org": await new_user(client, admin, "expert_b1", "expert",
                                     org_id=seed.bidder1.org_id),
        "bidder_tie": await new_user(client, admin, "expert_b2", "expert"),
        "procurer_tie": await new_user(client, admin, "expert_p", "expert"),
        "agency_org": await new_user(client, admin, "expert_a", "expert",
                                     org_id=seed.agency.org_id),
    }
    other = await new_user(client, admin, "expert_other", "expert")
    for party in [*eligible, avoided["bidder_org"], avoided["agency_org"]]:
        await save_profile(client, admin, party)
    await save_profile(client, admin, avoided["bidder_tie"], ties=(seed.bidder2.credit_code,))
    await save_profile(client, admin, avoided["procurer_tie"],
                       ties=(seed.procurer.credit_code.lower(),))
    await save_profile(client, admin, other, specialties=("B09",))
    return Pool(eligible, avoided, other)


@pytest.fixture
async def closed(client: httpx.AsyncClient, seed: Seed, app: Starlette, clock: AdjustableClock,
                 published: dict[str, Any],  # noqa: F811 (the fixture)
                 ) -> dict[str, Any]:
    await close_opening(client, app, seed, clock, published["section_id"])
    return published
