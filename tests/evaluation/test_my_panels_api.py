"""GET /experts/me/panels: the expert workbench's list of the caller's own seats — only
sitting seats, only the caller's, nothing about anyone else's."""

from __future__ import annotations

from typing import Any

import httpx

from tests.evaluation.conftest import Pool
from tests.support import Seed, assert_error


async def test_a_member_sees_only_their_own_sitting_seats(
        client: httpx.AsyncClient, seed: Seed, pool: Pool, closed: dict[str, Any]) -> None:
    section_id = closed["section_id"]
    url = "/api/v1/experts/me/panels"
    for expert in pool.eligible:  # nobody sits anywhere before the draw
        listed = await client.get(url, headers=expert.auth)
        assert listed.status_code == 200, listed.text
        assert listed.json() == {"items": []}
    drawn = await client.post(f"/api/v1/sections/{section_id}/panel", headers=seed.agency.auth,
                              json={"size": 5, "specialties": ["A01"],
                                    "representatives": [seed.procurer.user_id]})
    assert drawn.status_code == 201, drawn.text
    seats = {m["user_id"]: m for m in drawn.json()["members"]}
    people = {p.user_id: p for p in [*pool.everyone, seed.procurer]}
    for user_id, party in people.items():
        items = (await client.get(url, headers=party.auth)).json()["items"]
        if user_id not in seats:
            assert items == []
            continue
        assert len(items) == 1
        (item,) = items
        assert item["section_id"] == section_id and item["seat"] == seats[user_id]["seat"]
        assert item["kind"] == seats[user_id]["kind"]
        assert item["project_name"] and item["section_code"]
        assert set(item) == {"section_id", "section_code", "section_name", "project_id",
                             "project_name", "seat", "kind", "joined_at"}
    # A member who withdraws for a conflict no longer sits there: the seat leaves the list.
    leaving = next(people[u] for u, m in seats.items() if m["kind"] == "expert")
    withdrew = await client.post(f"/api/v1/sections/{section_id}/panel/conflict",
                                 headers=leaving.auth, json={"reason": "与投标人有利害关系"})
    assert withdrew.status_code == 200, withdrew.text
    assert (await client.get(url, headers=leaving.auth)).json() == {"items": []}
    assert_error(await client.get(url), 401)
