"""Bearer API tokens for the CLI and machines: issue, use, expire by a maximum lifetime, list
and revoke by an opaque id, end with logout, refuse malformed headers."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from tests.support import T0, Seed, assert_error, project_body, table_counts
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.events.models import Event
from tradesys.services import Services
from tradesys.settings import Settings

TOKENS = "/api/v1/auth/tokens"
ME = "/api/v1/me"


async def issue(client: httpx.AsyncClient, seed: Seed, **extra: Any) -> dict[str, Any]:
    response = await client.post(TOKENS, json={"username": "bidder3",
                                               "password": seed.bidder3.password, **extra})
    assert response.status_code == 201, response.text
    assert "set-cookie" not in response.headers
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_issue_and_use_a_token(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    body = await issue(client, seed, name="ci")
    assert body["token"].startswith("tsk_")
    assert body["expires_at"].startswith((T0 + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
    after = await table_counts(services)
    assert after["api_tokens"] == before["api_tokens"] + 1
    me = await client.get(ME, headers=bearer(body["token"]))
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "bidder3"
    # Case-insensitive scheme, as RFC 7235 says.
    lower = await client.get(ME, headers={"Authorization": f"bearer {body['token']}"})
    assert lower.status_code == 200


async def test_every_token_expires_by_the_configured_maximum(
        client: httpx.AsyncClient, seed: Seed, clock: AdjustableClock, services: Services
) -> None:
    assert services.settings.token_max_ttl_days == 30
    # Absent or null: the longest allowed, never "for ever".
    for extra in ({}, {"ttl_days": None}):
        body = await issue(client, seed, **extra)
        assert body["expires_at"].startswith((T0 + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
    exactly = await issue(client, seed, ttl_days=30)
    clock.advance(timedelta(days=30))
    assert_error(await client.get(ME, headers=bearer(body["token"])), 401, "token_expired")
    assert_error(await client.get(ME, headers=bearer(exactly["token"])), 401, "token_expired")


async def test_a_token_longer_than_the_maximum_is_refused(
        client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    response = await client.post(TOKENS, json={"username": "bidder3",
                                               "password": seed.bidder3.password,
                                               "ttl_days": 31})
    error = assert_error(response, 422, "token_ttl_too_long")
    assert error["details"] == {"max_ttl_days": 30}
    assert "30" in error["message"]
    # Refused before the password is checked: no token, no login attempt, no event.
    assert await table_counts(services) == before


async def test_the_maximum_is_a_setting(
        db_url: str, tmp_path: Path, clock: AdjustableClock, seed: Seed
) -> None:
    settings = Settings(data_dir=tmp_path / "d", database_url=db_url, token_max_ttl_days=2)
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            body = await issue(c, seed)
            assert body["expires_at"].startswith(
                (T0 + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
            refused = await c.post(TOKENS, json={"username": "bidder3",
                                                 "password": seed.bidder3.password,
                                                 "ttl_days": 3})
            assert_error(refused, 422, "token_ttl_too_long")


def test_the_maximum_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("TRADESYS_TOKEN_MAX_TTL_DAYS", "7")
    assert Settings(data_dir=tmp_path).token_max_ttl_days == 7


async def test_list_and_revoke_tokens_by_an_opaque_id(
        client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    first = await issue(client, seed, name="laptop")
    second = await issue(client, seed, name="ci")
    assert first["id"] != second["id"]
    for body in (first, second):
        # Opaque: random, not the row number (which would tell how many tokens exist).
        assert re.fullmatch(r"tok_[A-Za-z0-9_-]{22}", body["id"]), body["id"]
    listed = await client.get(TOKENS, headers=bearer(first["token"]))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    # Newest first; the seed's own token (named "cli", issued at T0 too) comes last.
    assert [(item["id"], item["name"]) for item in items][:2] == [
        (second["id"], "ci"), (first["id"], "laptop")]
    assert [item["name"] for item in items[2:]] == ["cli"]
    assert "tsk_" not in listed.text and "token_hash" not in listed.text
    # The seeded token of another user is not in this user's list.
    other = (await client.get(TOKENS, headers=seed.bidder1.auth)).json()["items"]
    assert {item["id"] for item in other}.isdisjoint({first["id"], second["id"]})

    events_before = (await table_counts(services))["events"]
    revoked = await client.delete(f"{TOKENS}/{second['id']}", headers=bearer(first["token"]))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["id"] == second["id"]
    assert (await table_counts(services))["events"] == events_before + 1
    assert_error(await client.get(ME, headers=bearer(second["token"])), 401, "token_expired")
    assert (await client.get(ME, headers=bearer(first["token"]))).status_code == 200
    remaining = (await client.get(TOKENS, headers=bearer(first["token"]))).json()["items"]
    assert [item["id"] for item in remaining][:1] == [first["id"]]
    assert second["id"] not in {item["id"] for item in remaining}
    # Twice: gone.
    before = await table_counts(services)
    again = await client.delete(f"{TOKENS}/{second['id']}", headers=bearer(first["token"]))
    assert_error(again, 404, "token_not_found")
    assert await table_counts(services) == before


async def test_nobody_revokes_another_users_token(
        client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    mine = await issue(client, seed, name="mine")
    before = await table_counts(services)
    for path in (mine["id"], "tok_" + "A" * 22, "1", "tok_x", "x" * 300):
        response = await client.delete(f"{TOKENS}/{path}", headers=seed.bidder1.auth)
        assert_error(response, 404, "token_not_found")
    # Not even an admin through this endpoint: it is the owner's.
    assert_error(await client.delete(f"{TOKENS}/{mine['id']}", headers=seed.admin.auth),
                 404, "token_not_found")
    assert_error(await client.delete(f"{TOKENS}/{mine['id']}"), 401, "login_required")
    assert await table_counts(services) == before
    assert (await client.get(ME, headers=bearer(mine["token"]))).status_code == 200


async def test_logout_with_a_bearer_token_revokes_it(
        client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    kept = await issue(client, seed, name="kept")
    ended = await issue(client, seed, name="ended")
    response = await client.post("/api/v1/auth/logout", headers=bearer(ended["token"]))
    assert response.status_code == 200, response.text
    assert_error(await client.get(ME, headers=bearer(ended["token"])), 401, "token_expired")
    assert (await client.get(ME, headers=bearer(kept["token"]))).status_code == 200
    # It is gone from the list, and the logout was logged.
    items = (await client.get(TOKENS, headers=bearer(kept["token"]))).json()["items"]
    assert ended["id"] not in {item["id"] for item in items}
    async with services.db.reading() as session:
        types = list((await session.execute(
            select(Event.type).where(Event.aggregate_type == "user",
                                     Event.aggregate_id == str(seed.bidder3.user_id))
            .order_by(Event.seq))).scalars())
    assert types[-1] == "user.token_revoked"


async def test_expired_token_is_refused(
    client: httpx.AsyncClient, seed: Seed, clock: AdjustableClock, services: Services
) -> None:
    token = (await issue(client, seed, ttl_days=1))["token"]
    clock.advance(timedelta(hours=23))
    assert (await client.get(ME, headers=bearer(token))).status_code == 200
    clock.advance(timedelta(days=2))
    assert_error(await client.get(ME, headers=bearer(token)), 401, "token_expired")
    before = await table_counts(services)
    response = await client.post("/api/v1/projects", headers=bearer(token),
                                 json=project_body(seed.procurer))
    assert_error(response, 401, "token_expired")
    assert await table_counts(services) == before


@pytest.mark.parametrize(
    "authorization",
    ["Bearer garbage", "Bearer tsk_" + "A" * 43, "Bearer sess_abc", "Bearer a b c"],
)
async def test_unknown_bearer_token_is_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services, authorization: str
) -> None:
    assert_error(await client.get(ME, headers={"Authorization": authorization}),
                 401, "token_invalid")
    before = await table_counts(services)
    response = await client.post("/api/v1/projects", headers={"Authorization": authorization},
                                 json=project_body(seed.procurer))
    assert_error(response, 401, "token_invalid")
    assert await table_counts(services) == before


@pytest.mark.parametrize(
    "authorization", ["Basic x", "Basic YWdlbmN5OmFnZW5jeS1wYXNzd29yZC0x", "Bearer", "Bearer   ",
                      "Token abc", "", "tsk_abc"],
)
async def test_malformed_authorization_header_is_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services, authorization: str
) -> None:
    assert_error(await client.get(ME, headers={"Authorization": authorization}),
                 401, "bad_authorization")
    before = await table_counts(services)
    response = await client.post("/api/v1/projects", headers={"Authorization": authorization},
                                 json=project_body(seed.procurer))
    assert_error(response, 401, "bad_authorization")
    assert await table_counts(services) == before


async def test_a_session_cookie_is_not_a_bearer_token(
    client: httpx.AsyncClient, seed: Seed
) -> None:
    login = await client.post("/api/v1/auth/login", json={"username": "bidder3",
                                                          "password": seed.bidder3.password})
    session = client.cookies["tradesys_session"]
    client.cookies.clear()
    assert login.status_code == 200
    assert_error(await client.get(ME, headers=bearer(session)), 401, "token_invalid")


async def test_token_needs_the_right_password(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    response = await client.post(TOKENS, json={"username": "bidder3", "password": "wrong-one-1"})
    assert_error(response, 401, "bad_credentials")
    after = await table_counts(services)
    assert after.pop("login_attempts") == before.pop("login_attempts") + 1
    assert after == before


@pytest.mark.parametrize(
    "extra",
    [{"ttl_days": 0}, {"ttl_days": 36501}, {"ttl_days": "1"}, {"ttl_days": 1.5},
     {"name": ""}, {"name": "x" * 101}, {"scope": "admin"}],
)
async def test_token_request_is_validated(
    client: httpx.AsyncClient, seed: Seed, services: Services, extra: dict[str, Any]
) -> None:
    before = await table_counts(services)
    response = await client.post(TOKENS, json={"username": "bidder3",
                                               "password": seed.bidder3.password, **extra})
    error = assert_error(response, 422, "validation_failed")
    assert [next(iter(extra))] in [item["loc"] for item in error["details"]]
    assert seed.bidder3.password not in response.text
    assert await table_counts(services) == before
