"""Bearer API tokens for the CLI and machines: issue, use, expire, refuse malformed headers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.support import T0, Seed, assert_error, project_body, table_counts
from tradesys.clock import AdjustableClock
from tradesys.services import Services

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


async def test_tokens_without_expiry(client: httpx.AsyncClient, seed: Seed,
                                     clock: AdjustableClock) -> None:
    body = await issue(client, seed, ttl_days=None)
    assert body["expires_at"] is None
    clock.advance(timedelta(days=3650))
    assert (await client.get(ME, headers=bearer(body["token"]))).status_code == 200


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
    [{"ttl_days": 0}, {"ttl_days": 366}, {"ttl_days": "1"}, {"ttl_days": 1.5},
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
