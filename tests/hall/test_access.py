"""An open hall connection ends (close 4003) when the access it was opened with ends: a logout,
a revoked token, a disabled user, an expired session or token — on every process.

Real WebSockets against a served app (and, for the PostgreSQL backplane, two ``tradesys serve``
processes); the revocations go through the public HTTP API; expiry is reached by moving the
injected clock, never by waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from hall.access import ACCESS_REVOKED, AccessWatch
from tests.hall.support import HallClient, drain, server_process, serving
from tests.support import T0, Flow, Party, Seed
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.identity.service import principal_from_token
from tradesys.services import Services
from tradesys.settings import Settings

WAIT = 10.0
TOKENS = "/api/v1/auth/tokens"


@pytest.fixture
async def section_id(flow: Flow) -> int:
    project = await flow.announced()
    value: int = project["notice"]["sections"][0]["id"]
    return value


async def closed_with(client: HallClient) -> int | None:
    """Waits (bounded) for the server to end the connection; its close code."""
    async with asyncio.timeout(WAIT):
        await drain(client)
    return client.ws.close_code


async def still_open(client: HallClient) -> None:
    reply = await client.command("ping", t=1)
    assert reply["type"] == "time", reply


async def new_token(http: httpx.AsyncClient, party: Party, **extra: Any) -> dict[str, Any]:
    response = await http.post(TOKENS, json={"username": party.username,
                                             "password": party.password, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def cookie_login(http: httpx.AsyncClient, party: Party) -> tuple[str, str]:
    response = await http.post("/api/v1/auth/login", json={"username": party.username,
                                                           "password": party.password})
    assert response.status_code == 200, response.text
    return response.cookies["tradesys_session"], response.json()["csrf_token"]


async def open_with_cookie(base: str, section: int, cookie: str) -> HallClient:
    origin = base.replace("ws://", "http://")
    return await HallClient.open(base, section, headers={
        "Cookie": f"tradesys_session={cookie}", "Origin": origin})


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A second API client with a cookie jar of its own (the fixture ``client`` keeps none)."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_logout_closes_the_sessions_connections_with_4003(
        base: str, section_id: int, seed: Seed, http: httpx.AsyncClient) -> None:
    cookie, csrf = await cookie_login(http, seed.bidder1)
    mine = [await open_with_cookie(base, section_id, cookie) for _ in range(2)]
    # The same user by a token, another user, and a public observer stay.
    by_token = await HallClient.open(base, section_id, token=seed.bidder1.token)
    other = await HallClient.open(base, section_id, token=seed.bidder2.token)
    observer = await HallClient.open(base, section_id)
    for client in mine:
        await still_open(client)

    response = await http.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    for client in mine:
        assert await closed_with(client) == ACCESS_REVOKED
        assert client.ws.close_reason == "access_revoked"
    for client in (by_token, other, observer):
        await still_open(client)
    # The cookie cannot open a new connection either.
    with pytest.raises(Exception, match="401"):
        await open_with_cookie(base, section_id, cookie)


async def test_revoking_a_token_closes_its_connections_with_4003(
        base: str, section_id: int, seed: Seed, http: httpx.AsyncClient) -> None:
    revoked = await new_token(http, seed.bidder3, name="laptop")
    kept = await new_token(http, seed.bidder3, name="ci")
    doomed = await HallClient.open(base, section_id, token=revoked["token"])
    alive = await HallClient.open(base, section_id, token=kept["token"])
    response = await http.delete(f"{TOKENS}/{revoked['id']}",
                                 headers={"Authorization": f"Bearer {kept['token']}"})
    assert response.status_code == 200, response.text
    assert await closed_with(doomed) == ACCESS_REVOKED
    await still_open(alive)


async def test_logout_with_a_bearer_token_closes_its_connections(
        base: str, section_id: int, seed: Seed, http: httpx.AsyncClient) -> None:
    token = await new_token(http, seed.agency)
    host = await HallClient.open(base, section_id, token=token["token"])
    assert host.welcome["audience"] == "host"
    response = await http.post("/api/v1/auth/logout",
                               headers={"Authorization": f"Bearer {token['token']}"})
    assert response.status_code == 200, response.text
    assert await closed_with(host) == ACCESS_REVOKED


async def test_disabling_a_user_closes_all_its_connections(
        base: str, section_id: int, seed: Seed, http: httpx.AsyncClient) -> None:
    cookie, _ = await cookie_login(http, seed.bidder2)
    by_cookie = await open_with_cookie(base, section_id, cookie)
    by_token = await HallClient.open(base, section_id, token=seed.bidder2.token)
    other = await HallClient.open(base, section_id, token=seed.bidder1.token)
    response = await http.post(f"/api/v1/users/{seed.bidder2.user_id}/disable",
                               headers=seed.admin.auth)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    for client in (by_cookie, by_token):
        assert await closed_with(client) == ACCESS_REVOKED
    await still_open(other)


async def test_an_expired_session_or_token_closes_its_connections(
        base: str, section_id: int, seed: Seed, http: httpx.AsyncClient,
        clock: AdjustableClock, settings: Settings) -> None:
    cookie, _ = await cookie_login(http, seed.procurer)
    session_client = await open_with_cookie(base, section_id, cookie)
    day_token = await new_token(http, seed.bidder1, ttl_days=1)
    token_client = await HallClient.open(base, section_id, token=day_token["token"])
    long_lived = await HallClient.open(base, section_id, token=seed.bidder2.token)

    clock.advance(timedelta(seconds=settings.session_ttl_seconds - 1))
    await still_open(session_client)
    clock.advance(timedelta(seconds=1))
    assert await closed_with(session_client) == ACCESS_REVOKED
    await still_open(token_client)
    clock.advance(timedelta(days=1))
    assert await closed_with(token_client) == ACCESS_REVOKED
    await still_open(long_lived)


class SilentClock:
    """Moves like the system clock does: nobody is told (``subscribe`` keeps no one)."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def subscribe(self, callback: Callable[[], None]) -> None:
        return None


async def test_expiry_is_noticed_by_the_ticker_without_a_clock_jump(
        section_id: int, seed: Seed, settings: Settings, tmp_path: Path) -> None:
    """On the system clock nothing jumps: the hall's one ticker (every second) notices."""
    clock = SilentClock(T0 + timedelta(minutes=5))
    app = create_app(replace(settings, data_dir=tmp_path / "silent"), clock=clock,
                     run_scheduler=False)
    async with LifespanManager(app), serving(app) as base:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = await new_token(c, seed.bidder1, ttl_days=1)
        client = await HallClient.open(base, section_id, token=token["token"])
        await still_open(client)
        assert app.state.hall.access.watched == 1
        clock.at += timedelta(days=1)
        assert await closed_with(client) == ACCESS_REVOKED
        assert app.state.hall.access.watched == 0


async def test_a_revocation_between_handshake_and_registration_is_not_missed(
        client: httpx.AsyncClient, seed: Seed, services: Services,
        clock: AdjustableClock) -> None:
    """The handshake checks the token, then reads the room; a revocation whose notification
    arrives in between finds no connection to check. The watch remembers recent changes and
    re-checks a connection registered just after one."""
    access = AccessWatch(services.db, clock)
    token = await new_token(client, seed.bidder1)
    async with services.db.reading() as session:  # the handshake's check: still valid
        principal = await principal_from_token(session, token=token["token"], at=clock.now(),
                                               ip=None, user_agent=None)
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert (await client.delete(f"{TOKENS}/{token['id']}", headers=bearer)).status_code == 200
    access.user_changed(seed.bidder1.user_id)  # its notification: nothing watched yet
    ended = asyncio.Event()
    assert access.watch(principal, ended.set) is not None
    async with asyncio.timeout(WAIT):
        await ended.wait()
    assert access.watched == 0


class TestAcrossProcesses:
    """What one process revokes closes connections on the other (LISTEN/NOTIFY)."""

    @pytest.fixture
    def backend(self) -> str:
        return "postgresql"

    async def test_revocations_reach_every_process(
            self, section_id: int, seed: Seed, settings: Settings, tmp_path: Path) -> None:
        async with (server_process(settings.database_url, settings.data_dir,
                                   tmp_path / "a.log") as a,
                    server_process(settings.database_url, settings.data_dir,
                                   tmp_path / "b.log") as b,
                    httpx.AsyncClient(base_url=a.http) as on_a):
            revoked = await new_token(on_a, seed.bidder1, name="revoked")
            logged_out = await new_token(on_a, seed.bidder2, name="logged-out")
            kept = await new_token(on_a, seed.bidder3, name="kept")
            cookie, csrf = await cookie_login(on_a, seed.agency)
            on_b = {
                "revoked": await HallClient.open(b.ws, section_id, token=revoked["token"]),
                "logged_out": await HallClient.open(b.ws, section_id,
                                                    token=logged_out["token"]),
                "session": await open_with_cookie(b.ws, section_id, cookie),
                "kept": await HallClient.open(b.ws, section_id, token=kept["token"]),
            }
            also_on_a = await HallClient.open(a.ws, section_id, token=revoked["token"])

            bearer = {"Authorization": f"Bearer {revoked['token']}"}
            assert (await on_a.delete(f"{TOKENS}/{revoked['id']}", headers=bearer)
                    ).status_code == 200
            assert await closed_with(on_b["revoked"]) == ACCESS_REVOKED
            assert await closed_with(also_on_a) == ACCESS_REVOKED
            assert (await on_a.post("/api/v1/auth/logout", headers={
                "Authorization": f"Bearer {logged_out['token']}"})).status_code == 200
            assert await closed_with(on_b["logged_out"]) == ACCESS_REVOKED
            assert (await on_a.post("/api/v1/auth/logout", headers={
                "X-CSRF-Token": csrf})).status_code == 200
            assert await closed_with(on_b["session"]) == ACCESS_REVOKED
            await still_open(on_b["kept"])
            assert (await on_a.post(f"/api/v1/users/{seed.bidder3.user_id}/disable",
                                    headers=seed.admin.auth)).status_code == 200
            assert await closed_with(on_b["kept"]) == ACCESS_REVOKED
            assert {"A": a.errors(), "B": b.errors()} == {"A": [], "B": []}
