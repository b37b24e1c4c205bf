"""Hall connections per client address are bounded (TRADESYS_HALL_MAX_CONNECTIONS_PER_ADDRESS):
past the limit the handshake is refused with HTTP 429 ``too_many_connections``; a closed
connection frees its slot. Over real WebSockets, on a served app."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hall.limits import AddressLimit
from tests.hall.support import HallClient, serving
from tests.support import Flow, Seed, table_counts
from tradesys.services import Services
from tradesys.settings import Settings

LIMIT = 2


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, scheduler_interval=3600,
                    hall_max_connections_per_address=LIMIT)


@pytest.fixture
async def base(app: Starlette) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


async def _refused(url: str) -> dict[str, Any]:
    with pytest.raises(InvalidStatus) as refused:
        await connect(url)
    assert refused.value.response.status_code == 429
    error: dict[str, Any] = json.loads(refused.value.response.body)["error"]
    return error


async def test_connections_per_address_are_bounded(
        app: Starlette, services: Services, seed: Seed, flow: Flow, base: str) -> None:
    section_id = (await flow.announced())["notice"]["sections"][0]["id"]
    url = f"{base}/hall/{section_id}/ws"
    limit = app.state.hall.addresses
    before = await table_counts(services)
    first = await HallClient.open(base, section_id)
    second = await HallClient.open(base, section_id, token=seed.bidder1.token)
    error = await _refused(url)
    assert error["code"] == "too_many_connections" and error["message"]
    # Refused ones hold no slot, however many.
    for _ in range(3):
        await _refused(url)
    assert limit.open_from("127.0.0.1") == LIMIT
    # The two admitted connections are unaffected.
    assert (await first.command("ping", t=1))["type"] == "time"
    assert (await second.command("ping", t=2))["type"] == "time"
    # Closing one frees its slot once the server has seen the close.
    await first.close()
    deadline = time.monotonic() + 10
    while limit.open_from("127.0.0.1") >= LIMIT:
        assert time.monotonic() < deadline, "the slot was never released"
        await asyncio.sleep(0.02)
    third = await HallClient.open(base, section_id)
    assert third.welcome["type"] == "welcome"
    await _refused(url)
    await second.close()
    await third.close()
    assert await table_counts(services) == before


async def test_a_refused_handshake_frees_its_slot(
        app: Starlette, flow: Flow, base: str) -> None:
    # Connections refused for another reason (bad after=, unknown section, bad token) do not
    # keep the slots they held during the handshake.
    section_id = (await flow.announced())["notice"]["sections"][0]["id"]
    for path, headers in ((f"/hall/{section_id}/ws?after=x", {}), ("/hall/99999/ws", {}),
                          (f"/hall/{section_id}/ws", {"Authorization": "Bearer tsk_nope"})):
        for _ in range(LIMIT + 1):
            with pytest.raises(InvalidStatus) as refused:
                await connect(f"{base}{path}", additional_headers=headers)
            assert refused.value.response.status_code in (400, 401, 404)
    assert app.state.hall.addresses.open_from("127.0.0.1") == 0
    clients = [await HallClient.open(base, section_id) for _ in range(LIMIT)]
    for client in clients:
        await client.close()


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADESYS_HALL_MAX_CONNECTIONS_PER_ADDRESS", raising=False)
    assert Settings().hall_max_connections_per_address == 20
    monkeypatch.setenv("TRADESYS_HALL_MAX_CONNECTIONS_PER_ADDRESS", "0")
    assert Settings().hall_max_connections_per_address == 0


def test_the_count_is_per_address_and_zero_is_no_limit() -> None:
    limit = AddressLimit(limit=1)
    assert limit.admit("198.51.100.1") and limit.admit("198.51.100.2")
    assert not limit.admit("198.51.100.1")
    limit.release("198.51.100.1")
    assert limit.admit("198.51.100.1")
    unlimited = AddressLimit(limit=0)
    assert all(unlimited.admit("198.51.100.1") for _ in range(1000))
    assert unlimited.open_from("198.51.100.1") == 1000
