"""The expert pool and the committee draw through the API, on both back ends: the whole path,
every refusal with nothing changed, avoidance, replacement and secrecy (法 Art. 37)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from tests.bids.test_opening import _envelope
from tests.bids.test_submission import sealing, submit
from tests.evaluation.conftest import Pool, new_user, opening_command, save_profile
from tests.support import Flow, Party, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.evaluation.draw import commitment, draw
from tradesys.evaluation.verify import verify_draws
from tradesys.events.models import Event
from tradesys.services import Services


async def _panel(client: httpx.AsyncClient, section_id: int, by: Party,
                 **body: Any) -> httpx.Response:
    request = {"size": 5, "specialties": ["A01"], **body}
    return await client.post(f"/api/v1/sections/{section_id}/panel", headers=by.auth,
                             json=request)


async def _panel_events(services: Services, section_id: int) -> list[tuple[str, dict[str, Any]]]:
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event).where(
            Event.aggregate_type == "panel", Event.aggregate_id == str(section_id))
            .order_by(Event.seq))).scalars().all()
    return [(row.type, json.loads(row.payload)) for row in rows]


async def test_profiles_are_kept_by_the_operator(client: httpx.AsyncClient, seed: Seed,
                                                 services: Services) -> None:
    expert = seed.expert
    saved = await save_profile(client, seed.admin, expert, ties=(seed.bidder1.credit_code,))
    assert saved["specialties"] == ["A01", "A02"] and saved["ties"] == [seed.bidder1.credit_code]
    before = await table_counts(services)
    url = f"/api/v1/experts/{expert.user_id}/profile"
    body = {"specialties": ["A01"], "region_code": "350100"}
    for who in (seed.agency, seed.expert, seed.procurer):
        assert_error(await client.put(url, headers=who.auth, json=body), 403, "role_forbidden")
    assert_error(await client.put(f"/api/v1/experts/{seed.bidder1.user_id}/profile",
                                  headers=seed.admin.auth, json=body), 422, "not_an_expert")
    assert_error(await client.put("/api/v1/experts/999999/profile", headers=seed.admin.auth,
                                  json=body), 404, "user_not_found")
    assert_error(await client.put(url, headers=seed.admin.auth, json={
        **body, "ties": ["91350100M000100Y44"]}), 422, "bad_credit_code")
    for bad in ({**body, "specialties": []}, {**body, "region_code": "35"},
                {**body, "specialties": ["A 01"]}, {**body, "extra": 1}):
        assert_error(await client.put(url, headers=seed.admin.auth, json=bad), 422)
    assert_error(await client.get("/api/v1/experts", headers=seed.agency.auth), 403)
    # An expert declares a tie; one without a profile cannot.
    stranger = await new_user(client, seed.admin, "expert_new", "expert")
    before = await table_counts(services)
    assert_error(await client.post("/api/v1/experts/me/ties", headers=stranger.auth, json={
        "credit_code": seed.bidder3.credit_code}), 404, "no_expert_profile")
    assert_error(await client.post("/api/v1/experts/me/ties", headers=seed.bidder1.auth, json={
        "credit_code": seed.bidder3.credit_code}), 403, "role_forbidden")
    assert await table_counts(services) == before
    declared = await client.post("/api/v1/experts/me/ties", headers=expert.auth, json={
        "credit_code": seed.bidder3.credit_code})
    assert declared.status_code == 200, declared.text
    assert set(declared.json()["ties"]) == {seed.bidder1.credit_code, seed.bidder3.credit_code}
    listed = (await client.get("/api/v1/experts", headers=seed.admin.auth)).json()["items"]
    assert [item["user_id"] for item in listed] == [expert.user_id]
    async with services.db.reading() as session:
        types = (await session.execute(select(Event.type).where(
            Event.aggregate_type == "expert").order_by(Event.seq))).scalars().all()
    assert types == ["expert.profile_saved", "expert.tie_declared"]


async def test_no_committee_before_the_opening_record(
        client: httpx.AsyncClient, seed: Seed, services: Services, pool: Pool,
        published: dict[str, Any]) -> None:
    before = await table_counts(services)
    response = await _panel(client, published["section_id"], seed.agency,
                            representatives=[seed.procurer.user_id])
    assert_error(response, 409, "opening_record_not_published")
    assert await table_counts(services) == before


async def test_the_whole_draw(client: httpx.AsyncClient, seed: Seed, services: Services,
                              pool: Pool, closed: dict[str, Any]) -> None:
    section_id = closed["section_id"]
    reps = [seed.procurer.user_id]
    before = await table_counts(services)
    refusals: list[tuple[Party, dict[str, Any], int, str]] = [
        (seed.agency, {"size": 4}, 422, "panel_rules_broken"),
        (seed.agency, {"size": 6}, 422, "panel_rules_broken"),
        (seed.agency, {"size": 5, "representatives": reps + reps}, 422, "panel_rules_broken"),
        (seed.agency, {"size": 7, "representatives": [*reps, seed.procurer2.user_id]}, 422,
         "bad_representative"),
        (seed.agency, {"size": 7, "representatives": [seed.agency.user_id]}, 422,
         "bad_representative"),
        (seed.agency, {"size": 7, "representatives": reps * 2}, 422, "bad_representative"),
        (seed.agency, {"size": 9}, 409, "too_few_experts"),
        (seed.agency, {"size": 5, "specialties": ["B09"]}, 409, "too_few_experts"),
        (seed.agency, {"size": 5, "regions": ["110000"]}, 409, "too_few_experts"),
        (seed.agency2, {}, 404, "project_not_found"),
        (seed.bidder1, {}, 403, "not_project_manager"),
        (seed.expert, {}, 404, "project_not_found"),
        (seed.agency, {"size": "5"}, 422, "validation_failed"),
    ]
    for who, body, status, code in refusals:
        error = assert_error(await _panel(client, section_id, who, **body), status, code)
        if code == "panel_rules_broken":
            assert "法 Art. 37" in error["message"]
    assert_error(await _panel(client, 999999, seed.agency), 404, "section_not_found")
    assert await table_counts(services) == before

    drawn = await _panel(client, section_id, seed.agency, representatives=reps)
    assert drawn.status_code == 201, drawn.text
    panel = drawn.json()
    experts = [m for m in panel["members"] if m["kind"] == "expert"]
    assert len(experts) == 4 and [m["seat"] for m in experts] == [1, 2, 3, 4]
    assert [m["user_id"] for m in panel["members"] if m["kind"] == "representative"] == reps
    eligible = {p.user_id for p in pool.eligible}
    assert {m["user_id"] for m in experts} <= eligible  # avoidance held
    assert panel["draws"][0]["state"] == "revealed"

    # The log: commit (pool snapshot, seed hash) strictly before reveal; a pure re-run agrees.
    events = await _panel_events(services, section_id)
    assert [t for t, _ in events] == ["panel.draw_committed", "panel.draw_revealed"]
    committed, revealed = events[0][1], events[1][1]
    assert committed["pool"] == sorted(eligible)
    assert committed["avoided"] == {str(p.user_id): reason
                                    for reason, p in pool.avoided.items()}
    assert "seed" not in committed and commitment(bytes.fromhex(revealed["seed"])) == \
        committed["commitment"]
    assert draw(bytes.fromhex(revealed["seed"]), committed["pool"], 4) == \
        [m["user_id"] for m in experts] == revealed["members"]
    async with services.db.reading() as session:
        assert (await verify_draws(session, section_id)).ok

    # A second draw needs a recorded reason; nothing changes without one.
    before = await table_counts(services)
    assert_error(await _panel(client, section_id, seed.agency, representatives=reps), 409,
                 "redraw_reason_required")
    assert_error(await _panel(client, section_id, seed.agency, representatives=reps,
                              reason="   "), 422, "validation_failed")
    assert await table_counts(services) == before

    # Secrecy: the host, the procurer, supervisors and the members see it; nobody else.
    url = f"/api/v1/sections/{section_id}/panel"
    members = {p.user_id: p for p in pool.eligible if p.user_id in
               {m["user_id"] for m in experts}}
    for who in (seed.agency, seed.procurer, seed.supervisor, *members.values()):
        seen = await client.get(url, headers=who.auth)
        assert seen.status_code == 200, (who.key, seen.text)
        assert seen.json()["members"] == panel["members"]
    outsiders = [p for p in pool.eligible if p.user_id not in members]
    for who in (seed.bidder1, seed.bidder4, seed.admin, seed.agency2, outsiders[0]):
        response = await client.get(url, headers=who.auth)
        assert response.status_code in (403, 404), (who.key, response.text)
        assert all(p.username not in response.text for p in pool.eligible)
    assert_error(await client.get(url, headers=seed.bidder1.auth), 403, "panel_confidential")
    assert_error(await client.get(url), 401)
    # No report or public feed carries the committee: nothing was queued for the platform.
    counts = await table_counts(services)
    assert counts["outbox"] == before["outbox"]
    releases = await client.get("/api/v1/platform/releases")
    for member in members.values():
        assert f"专家{member.key}" not in releases.text

    # A member declares a conflict: a replacement draw fills the seat from the rest.
    leaving = experts[1]
    member = members[leaving["user_id"]]
    before = await table_counts(services)
    assert_error(await client.post(f"{url}/conflict", headers=outsiders[0].auth,
                                   json={"reason": "x"}), 404, "not_a_member")
    assert_error(await client.post(f"{url}/conflict", headers=seed.agency.auth,
                                   json={"reason": "x"}), 403, "role_forbidden")
    assert_error(await client.post(f"{url}/conflict", headers=member.auth, json={}), 422)
    assert await table_counts(services) == before
    replaced = await client.post(f"{url}/conflict", headers=member.auth,
                                 json={"reason": "与投标人存在近期业务往来"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"section_id": section_id, "withdrawn": True,
                               "seat": leaving["seat"], "replacement_draw": 2}
    after = (await client.get(url, headers=seed.agency.auth)).json()["members"]
    gone = next(m for m in after if m["user_id"] == member.user_id)
    assert gone["status"] == "withdrawn" and gone["reason"] == "与投标人存在近期业务往来"
    seat_2 = [m for m in after if m["seat"] == leaving["seat"] and m["status"] == "active"]
    assert len(seat_2) == 1 and seat_2[0]["draw"] == 2
    assert seat_2[0]["user_id"] in eligible - {m["user_id"] for m in experts}
    # The one who withdrew no longer sees the committee.
    assert_error(await client.get(url, headers=member.auth), 403, "panel_confidential")
    events = await _panel_events(services, section_id)
    assert [t for t, _ in events[2:]] == ["panel.member_withdrew", "panel.draw_committed",
                                         "panel.draw_revealed"]
    assert events[3][1]["pool"] == sorted(eligible - {m["user_id"] for m in experts})

    # A full re-draw with a reason replaces the whole committee; the verifier reproduces all.
    again = await _panel(client, section_id, seed.agency, representatives=reps,
                         reason="原评标委员会成员多人无法到场")
    assert again.status_code == 201, again.text
    final = again.json()
    assert [d["number"] for d in final["draws"]] == [1, 2, 3]
    assert {m["draw"] for m in final["members"] if m["status"] == "active"} == {3}
    async with services.db.reading() as session:
        report = await verify_draws(session, section_id)
    assert report.ok and report.revealed == 3


async def test_too_few_for_a_replacement_changes_nothing(
        client: httpx.AsyncClient, seed: Seed, services: Services, pool: Pool,
        closed: dict[str, Any]) -> None:
    section_id = closed["section_id"]
    # 7 eligible, 7 drawn: nobody is left to fill a seat.
    drawn = await _panel(client, section_id, seed.agency, size=7)
    assert drawn.status_code == 201, drawn.text
    member_id = drawn.json()["members"][0]["user_id"]
    member = next(p for p in pool.eligible if p.user_id == member_id)
    before = await table_counts(services)
    assert_error(await client.post(f"/api/v1/sections/{section_id}/panel/conflict",
                                   headers=member.auth, json={"reason": "回避"}), 409,
                 "too_few_experts")
    assert await table_counts(services) == before


async def test_no_committee_for_a_failed_tender(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, app: Starlette, services: Services,
        clock: AdjustableClock, pool: Pool) -> None:
    project = await flow.announced()
    section = project["notice"]["sections"][0]
    opening_key = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    response = await submit(client, section["id"], seed.bidder1,
                            _envelope(section, seed.bidder1, opening_key, "9100000.00"))
    assert response.status_code == 201, response.text
    clock.advance(timedelta(days=21))
    await app.state.scheduler.run_once()  # one bid: fewer than three
    await opening_command(client, section["id"], seed.agency, type="declare_failed",
                          reason="投标人少于三个")
    before = await table_counts(services)
    assert_error(await _panel(client, section["id"], seed.agency), 409, "tender_failed")
    assert await table_counts(services) == before
