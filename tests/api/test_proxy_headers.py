"""X-Forwarded-For is believed only from TRADESYS_TRUSTED_PROXIES (default: from nobody).

Served by a real uvicorn on loopback with the project's server options: uvicorn's own default
believes the header from 127.0.0.1, so a local client could write any address into the
Art. 49 log and step around the per-address login limits.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from starlette.applications import Starlette

from tests.hall.support import server_process, serving
from tests.support import Seed
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.events.models import Event
from tradesys.identity.models import LoginAttempt
from tradesys.services import Services
from tradesys.settings import Settings

LOGIN = "/api/v1/auth/login"
FORGED = {"X-Forwarded-For": "198.51.100.77"}


async def _attempts_and_login(base: str, seed: Seed, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=base.replace("ws://", "http://")) as client:
        wrong = await client.post(LOGIN, headers=headers,
                                  json={"username": "someone-else", "password": "wrong-password"})
        assert wrong.status_code == 401, wrong.text
        right = await client.post(LOGIN, headers=headers,
                                  json={"username": "bidder1", "password": seed.bidder1.password})
        assert right.status_code == 200, right.text


async def _recorded(services: Services) -> tuple[list[str], list[str | None]]:
    async with services.db.reading() as session:
        attempts = list((await session.execute(select(LoginAttempt.ip))).scalars())
        logins = list((await session.execute(
            select(Event.ip).where(Event.type == "user.logged_in"))).scalars())
    return attempts, logins


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
        app: Starlette, services: Services, seed: Seed) -> None:
    async with serving(app) as base:
        await _attempts_and_login(base, seed, FORGED)
    attempts, logins = await _recorded(services)
    assert attempts == ["127.0.0.1"]
    assert logins == ["127.0.0.1"]


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
        db_url: str, tmp_path: Path, clock: AdjustableClock, seed: Seed) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url,
                        trusted_proxies=("127.0.0.0/8",))
    app = create_app(settings, clock=clock, run_scheduler=False)
    services: Services = app.state.services
    async with LifespanManager(app), serving(app) as base:
        # The proxy appends the address it saw; what the client claimed comes before it.
        await _attempts_and_login(base, seed,
                                  {"X-Forwarded-For": "10.9.9.9, 198.51.100.77, 127.0.0.1"})
    attempts, logins = await _recorded(services)
    assert attempts == ["198.51.100.77"]
    assert logins == ["198.51.100.77"]


async def test_tradesys_serve_ignores_forwarded_for_by_default(
        services: Services, settings: Settings, seed: Seed, tmp_path: Path) -> None:
    """The real command line server (uvicorn's own proxy-header handling is off)."""
    async with server_process(settings.database_url, settings.data_dir,
                              tmp_path / "serve.log") as server:
        await _attempts_and_login(server.http, seed, FORGED)
    attempts, logins = await _recorded(services)
    assert attempts == ["127.0.0.1"]
    assert logins == ["127.0.0.1"]


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1/40", "*", "10.0.0.1 10.0.0.2"])
def test_a_malformed_trusted_proxy_is_refused_at_start(value: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TRADESYS_TRUSTED_PROXIES"):
        Settings(data_dir=tmp_path, database_url="sqlite+aiosqlite://",
                 trusted_proxies=(value,))


def test_trusted_proxies_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("TRADESYS_TRUSTED_PROXIES", " 10.0.0.5, 192.168.0.0/16 ,")
    assert Settings(data_dir=tmp_path).trusted_proxies == ("10.0.0.5", "192.168.0.0/16")
    monkeypatch.delenv("TRADESYS_TRUSTED_PROXIES")
    assert Settings(data_dir=tmp_path).trusted_proxies == ()
