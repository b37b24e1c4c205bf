"""The operator console's API (console.html): one-time reset links, supervisor grants, disabling
organisations, the registry lists, dead-letter replay and the operations status. Admin only;
every refusal is a clear 4xx that changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.support import Flow, Party, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.demo.scenario import random_credit_code
from tradesys.events.models import Event, OutboxRow
from tradesys.identity.models import PasswordReset
from tradesys.services import Services

API = "/api/v1"
RESET = f"{API}/auth/password-reset"
NEW_PASSWORD = "brand-new-password-7"


async def reset_link(client: httpx.AsyncClient, seed: Seed, user: Party) -> dict[str, Any]:
    response = await client.post(f"{API}/users/{user.user_id}/password-reset",
                                 headers=seed.admin.auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def events_of(services: Services, kind: str) -> list[Event]:
    async with services.db.reading() as session:
        return list((await session.execute(
            select(Event).where(Event.type == kind).order_by(Event.seq))).scalars())


async def login(client: httpx.AsyncClient, party: Party, password: str) -> httpx.Response:
    return await client.post(f"{API}/auth/login",
                             json={"username": party.username, "password": password})


# -- reset links -------------------------------------------------------------------------------


async def test_a_reset_link_sets_a_new_password_once_and_ends_old_credentials(
        client: httpx.AsyncClient, seed: Seed, services: Services) -> None:
    bidder = seed.bidder1
    assert (await client.get(f"{API}/me", headers=bidder.auth)).status_code == 200
    link = await reset_link(client, seed, bidder)
    assert link["link"] == f"reset.html#token={link['token']}"
    assert link["username"] == bidder.username
    # Only the digest is stored, and the token is in no event.
    async with services.db.reading() as session:
        stored = (await session.execute(select(PasswordReset))).scalars().all()
    assert [row.token_hash for row in stored] != [link["token"]]
    assert all(link["token"] not in row.token_hash for row in stored)
    issued = await events_of(services, "user.password_reset_issued")
    assert len(issued) == 1 and link["token"] not in str(issued[0].payload)
    assert issued[0].actor_user_id == seed.admin.user_id

    done = await client.post(RESET, json={"token": link["token"], "password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json() == {"username": bidder.username}
    # The old token no longer works, the old password neither; the new one does.
    assert_error(await client.get(f"{API}/me", headers=bidder.auth), 401)
    assert_error(await login(client, bidder, bidder.password), 401, "bad_credentials")
    assert (await login(client, bidder, NEW_PASSWORD)).status_code == 200
    [event] = await events_of(services, "user.password_reset")
    assert json.loads(event.payload)["tokens_revoked"] >= 1
    assert NEW_PASSWORD not in str(event.payload) and link["token"] not in str(event.payload)

    # Twice: refused clearly, nothing changed.
    before = await table_counts(services)
    again = await client.post(RESET, json={"token": link["token"], "password": "another-pass-9"})
    assert_error(again, 409, "reset_used")
    assert await table_counts(services) == before
    assert (await login(client, bidder, NEW_PASSWORD)).status_code == 200


async def test_an_expired_link_is_refused_on_the_server_clock(
        client: httpx.AsyncClient, seed: Seed, services: Services,
        clock: AdjustableClock) -> None:
    link = await reset_link(client, seed, seed.bidder2)
    clock.advance(timedelta(seconds=services.settings.password_reset_ttl_seconds))
    before = await table_counts(services)
    answer = await client.post(RESET, json={"token": link["token"], "password": NEW_PASSWORD})
    assert_error(answer, 409, "reset_expired")
    assert await table_counts(services) == before
    assert (await client.get(f"{API}/me", headers=seed.bidder2.auth)).status_code == 200
    assert_error(await login(client, seed.bidder2, NEW_PASSWORD), 401, "bad_credentials")


async def test_a_link_just_before_expiry_still_works(
        client: httpx.AsyncClient, seed: Seed, services: Services,
        clock: AdjustableClock) -> None:
    link = await reset_link(client, seed, seed.bidder2)
    clock.advance(timedelta(seconds=services.settings.password_reset_ttl_seconds - 1))
    answer = await client.post(RESET, json={"token": link["token"], "password": NEW_PASSWORD})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("token", "status", "code"), [
    ("rst_" + "A" * 43, 404, "reset_not_found"),
    ("rst_short", 422, None),
    ("sess_" + "A" * 43, 422, None),
    ("", 422, None),
])
async def test_a_wrong_token_is_refused_and_changes_nothing(
        client: httpx.AsyncClient, seed: Seed, services: Services, token: str, status: int,
        code: str | None) -> None:
    await reset_link(client, seed, seed.bidder3)
    before = await table_counts(services)
    answer = await client.post(RESET, json={"token": token, "password": NEW_PASSWORD})
    assert_error(answer, status, code)
    assert await table_counts(services) == before
    assert_error(await login(client, seed.bidder3, NEW_PASSWORD), 401, "bad_credentials")


async def test_a_weak_password_leaves_the_link_usable(
        client: httpx.AsyncClient, seed: Seed, services: Services) -> None:
    link = await reset_link(client, seed, seed.bidder3)
    before = await table_counts(services)
    answer = await client.post(RESET, json={"token": link["token"], "password": "short"})
    assert_error(answer, 422, "weak_password")
    assert await table_counts(services) == before
    ok = await client.post(RESET, json={"token": link["token"], "password": NEW_PASSWORD})
    assert ok.status_code == 200, ok.text


async def test_a_newer_link_supersedes_the_older(
        client: httpx.AsyncClient, seed: Seed) -> None:
    first = await reset_link(client, seed, seed.bidder4)
    second = await reset_link(client, seed, seed.bidder4)
    answer = await client.post(RESET, json={"token": first["token"], "password": NEW_PASSWORD})
    assert_error(answer, 409, "reset_superseded")
    ok = await client.post(RESET, json={"token": second["token"], "password": NEW_PASSWORD})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("who", ["procurer", "agency", "bidder1", "supervisor", "expert"])
async def test_only_the_admin_makes_links(client: httpx.AsyncClient, seed: Seed,
                                          services: Services, who: str) -> None:
    before = await table_counts(services)
    answer = await client.post(f"{API}/users/{seed.bidder2.user_id}/password-reset",
                               headers=seed.parties[who].auth)
    assert_error(answer, 403, "role_forbidden")
    assert await table_counts(services) == before


async def test_no_link_for_an_unknown_or_disabled_user(
        client: httpx.AsyncClient, seed: Seed, services: Services) -> None:
    before = await table_counts(services)
    assert_error(await client.post(f"{API}/users/99999/password-reset",
                                   headers=seed.admin.auth), 404, "user_not_found")
    assert await table_counts(services) == before
    disabled = await client.post(f"{API}/users/{seed.bidder4.user_id}/disable",
                                 headers=seed.admin.auth)
    assert disabled.status_code == 200
    before = await table_counts(services)
    assert_error(await client.post(f"{API}/users/{seed.bidder4.user_id}/password-reset",
                                   headers=seed.admin.auth), 409, "user_disabled")
    assert await table_counts(services) == before


# -- supervisor grants -------------------------------------------------------------------------


async def test_a_supervisor_sees_a_project_only_with_a_grant(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    project = await flow.register(supervised=False)
    pid = project["id"]
    supervisor = seed.supervisor.auth
    for path in (f"/projects/{pid}", f"/projects/{pid}/timeline"):
        assert_error(await client.get(API + path, headers=supervisor), 404, "project_not_found")
    listed = (await client.get(f"{API}/projects", headers=supervisor)).json()["items"]
    assert pid not in [p["id"] for p in listed]

    granted = await client.post(f"{API}/projects/{pid}/supervisors", headers=seed.admin.auth,
                                json={"org_id": seed.supervisor.org_id})
    assert granted.status_code == 201, granted.text
    assert granted.json()["org_id"] == seed.supervisor.org_id
    for path in (f"/projects/{pid}", f"/projects/{pid}/timeline"):
        assert (await client.get(API + path, headers=supervisor)).status_code == 200
    listed = (await client.get(f"{API}/projects", headers=supervisor)).json()["items"]
    assert pid in [p["id"] for p in listed]
    grants = (await client.get(f"{API}/projects/{pid}/supervisors",
                               headers=seed.admin.auth)).json()
    assert [g["org_id"] for g in grants["items"]] == [seed.supervisor.org_id]
    [event] = await events_of(services, "project.supervisor_granted")
    assert event.project_id == pid and event.actor_user_id == seed.admin.user_id

    revoked = await client.delete(f"{API}/projects/{pid}/supervisors/{seed.supervisor.org_id}",
                                  headers=seed.admin.auth)
    assert revoked.status_code == 200, revoked.text
    assert_error(await client.get(f"{API}/projects/{pid}", headers=supervisor), 404)
    assert len(await events_of(services, "project.supervisor_revoked")) == 1


async def test_bad_grants_are_refused_and_change_nothing(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    project = await flow.register()  # the seeded supervisor is granted already
    pid = project["id"]
    cases = [
        (seed.admin, pid, {"org_id": seed.supervisor.org_id}, 409, "already_granted"),
        (seed.admin, pid, {"org_id": seed.bidder1.org_id}, 409,
         "not_a_supervising_organisation"),
        (seed.admin, pid, {"org_id": 99999}, 404, "organisation_not_found"),
        (seed.admin, 99999, {"org_id": seed.supervisor.org_id}, 404, "project_not_found"),
        (seed.admin, pid, {"org_id": "x"}, 422, None),
        (seed.agency, pid, {"org_id": seed.supervisor.org_id}, 403, "role_forbidden"),
        (seed.supervisor, pid, {"org_id": seed.supervisor.org_id}, 403, "role_forbidden"),
    ]
    before = await table_counts(services)
    for party, project_id, body, status, code in cases:
        answer = await client.post(f"{API}/projects/{project_id}/supervisors",
                                   headers=party.auth, json=body)
        assert_error(answer, status, code)
    assert_error(await client.delete(f"{API}/projects/{pid}/supervisors/{seed.bidder1.org_id}",
                                     headers=seed.admin.auth), 404, "grant_not_found")
    assert_error(await client.get(f"{API}/projects/{pid}/supervisors",
                                  headers=seed.agency.auth), 403, "role_forbidden")
    assert await table_counts(services) == before


# -- organisations -----------------------------------------------------------------------------


async def test_disabling_an_organisation_locks_its_users_out_until_enabled(
        client: httpx.AsyncClient, seed: Seed, services: Services) -> None:
    bidder = seed.bidder1
    org = f"{API}/organisations/{bidder.org_id}"
    answer = await client.post(f"{org}/disable", headers=seed.admin.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["active"] is False
    assert_error(await client.get(f"{API}/me", headers=bidder.auth), 401, "token_expired")
    assert_error(await login(client, bidder, bidder.password), 401, "bad_credentials")
    listed = (await client.get(f"{API}/organisations", headers=seed.admin.auth)).json()["items"]
    row = next(item for item in listed if item["id"] == bidder.org_id)
    assert row["active"] is False and row["users"] == 1
    assert len(await events_of(services, "organisation.disabled")) == 1
    # Again: no second event.
    await client.post(f"{org}/disable", headers=seed.admin.auth)
    assert len(await events_of(services, "organisation.disabled")) == 1
    enabled = await client.post(f"{org}/enable", headers=seed.admin.auth)
    assert enabled.json()["active"] is True
    assert (await client.get(f"{API}/me", headers=bidder.auth)).status_code == 200


async def test_organisation_refusals_change_nothing(
        client: httpx.AsyncClient, seed: Seed, services: Services) -> None:
    before = await table_counts(services)
    org = f"{API}/organisations/{seed.bidder1.org_id}"
    assert_error(await client.post(f"{API}/organisations/{seed.admin.org_id}/disable",
                                   headers=seed.admin.auth), 409,
                 "cannot_disable_own_organisation")
    assert_error(await client.post(f"{org}/disable", headers=seed.agency.auth), 403,
                 "role_forbidden")
    assert_error(await client.post(f"{API}/organisations/99999/disable",
                                   headers=seed.admin.auth), 404, "organisation_not_found")
    for body, status, code in [
        ({"credit_code": "91350100M000100Y44"}, 422, "invalid_credit_code"),
        ({"credit_code": seed.bidder2.credit_code}, 409, "organisation_exists"),
        ({"name": ""}, 422, None),
        ({"name": "a\nb"}, 422, None),
        ({"nickname": "x"}, 422, None),
    ]:
        assert_error(await client.patch(org, headers=seed.admin.auth, json=body), status, code)
    assert_error(await client.patch(org, headers=seed.bidder1.auth, json={"name": "改名"}),
                 403, "role_forbidden")
    assert_error(await client.get(f"{API}/organisations", headers=seed.bidder1.auth), 403)
    assert_error(await client.get(f"{API}/users", headers=seed.bidder1.auth), 403)
    assert await table_counts(services) == before


async def test_the_admin_corrects_an_organisation(
        client: httpx.AsyncClient, seed: Seed, services: Services) -> None:
    code = random_credit_code()
    answer = await client.patch(f"{API}/organisations/{seed.bidder2.org_id}",
                                headers=seed.admin.auth,
                                json={"name": "更正后的名称", "credit_code": code.lower()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "更正后的名称" and answer.json()["credit_code"] == code
    [event] = await events_of(services, "organisation.updated")
    assert json.loads(event.payload) == {"name": "更正后的名称", "credit_code": code}


async def test_the_admin_lists_users_by_organisation(
        client: httpx.AsyncClient, seed: Seed) -> None:
    every = (await client.get(f"{API}/users", headers=seed.admin.auth)).json()["items"]
    assert {u["username"] for u in every} >= {"admin", "bidder1", "supervisor"}
    assert all("password" not in str(u) for u in every)
    one = await client.get(f"{API}/users", headers=seed.admin.auth,
                           params={"org_id": seed.bidder1.org_id})
    assert [u["username"] for u in one.json()["items"]] == ["bidder1"]
    for bad in ("0", "x", "１", "99999999999"):
        assert_error(await client.get(f"{API}/users", headers=seed.admin.auth,
                                      params={"org_id": bad}), 400, "invalid_org_id")


# -- operations --------------------------------------------------------------------------------


async def test_operations_status_and_replay(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    status = await client.get(f"{API}/operations/status", headers=seed.admin.auth)
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["readiness"]["status"] == "ready"
    assert body["readiness"]["event_chain_seq"] >= 1
    # The test app runs no scheduler task and no relay (no platform URL).
    assert body["scheduler"]["configured"] is True and body["scheduler"]["running"] is False
    assert body["relay"]["configured"] is False
    assert_error(await client.get(f"{API}/operations/status", headers=seed.supervisor.auth),
                 403, "role_forbidden")

    project = await flow.register()
    async with services.db.transaction() as session:
        rows = (await session.execute(select(OutboxRow).where(
            OutboxRow.project_id == project["id"]))).scalars().all()
        assert rows
        for row in rows:
            row.status, row.attempts, row.last_error = "dead", 8, "HTTP 500"
    before = await table_counts(services)
    assert_error(await client.post(f"{API}/operations/replay", headers=seed.supervisor.auth,
                                   json={}), 403, "role_forbidden")
    assert_error(await client.post(f"{API}/operations/replay", headers=seed.admin.auth,
                                   json={"project_id": 0}), 422)
    assert await table_counts(services) == before
    replayed = await client.post(f"{API}/operations/replay", headers=seed.admin.auth,
                                 json={"project_id": project["id"]})
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {"requeued": len(rows)}
    async with services.db.reading() as session:
        dead = (await session.execute(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.status == "dead"))).scalar_one()
    assert dead == 0
    [event] = await events_of(services, "platform.dead_letters_replayed")
    assert json.loads(event.payload) == {"project_id": project["id"], "requeued": len(rows)}
