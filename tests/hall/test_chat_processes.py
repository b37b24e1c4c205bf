"""The chat limit holds across server processes (issue 10): a bidder that spreads its chat
over two ``tradesys serve`` processes on one database gets one budget, not two, on both back
ends. The processes share only the database: the limit counts the user's messages in the log.

The processes run on the system clock (the bid list was published in the test's frozen March
2026, long past); the five messages of the burst are sent within a second or two of real
time, well inside the 10 s window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.hall.support import HallClient, server_process
from tests.support import Seed, table_counts
from tradesys.events.models import Event
from tradesys.opening.chat_limit import CHAT_BURST
from tradesys.services import Services
from tradesys.settings import Settings


async def chats(services: Services, user_id: int) -> int:
    async with services.db.reading() as session:
        return (await session.execute(select(func.count()).select_from(Event).where(
            Event.type == "chat.message", Event.actor_user_id == user_id))).scalar_one()


async def test_one_chat_budget_over_two_processes(
        seed: Seed, services: Services, settings: Settings, published: dict[str, Any],
        tmp_path: Path) -> None:
    section_id = published["section_id"]
    path = f"/api/v1/sections/{section_id}/opening/commands"
    bidder = seed.bidder2
    async with (server_process(settings.database_url, settings.data_dir,
                               tmp_path / "a.log") as a,
                server_process(settings.database_url, settings.data_dir,
                               tmp_path / "b.log") as b,
                httpx.AsyncClient(base_url=a.http, headers=bidder.auth, timeout=10) as to_a,
                httpx.AsyncClient(base_url=b.http, headers=bidder.auth, timeout=10) as to_b):
        hall_b = await HallClient.open(b.ws, section_id, token=bidder.token)
        # Three over HTTP to A, two over the hall's WebSocket on B: the burst, spread out.
        for number in range(3):
            response = await to_a.post(path, json={"type": "chat", "text": f"A 第{number}条"})
            assert response.status_code == 200, response.text
        for number in range(CHAT_BURST - 3):
            reply = await hall_b.command("chat", text=f"B 第{number}条")
            assert reply["type"] == "ack", reply
        assert await chats(services, bidder.user_id) == CHAT_BURST
        before = await table_counts(services)
        # Each process has seen fewer than five attempts of its own; the log holds five.
        refused = await hall_b.command("chat", text="B 多一条")
        assert (refused["type"], refused["code"]) == ("error", "rate_limited"), refused
        over_http = await to_b.post(path, json={"type": "chat", "text": "B 再多一条"})
        assert over_http.status_code == 429, over_http.text
        assert over_http.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(over_http.headers["Retry-After"]) <= 10
        also_a = await to_a.post(path, json={"type": "chat", "text": "A 多一条"})
        assert also_a.status_code == 429, also_a.text
        assert await table_counts(services) == before
        # Per user: another bidder on the same processes still chats.
        other = await to_a.post(path, headers=seed.bidder1.auth,
                                json={"type": "chat", "text": "另一家"})
        assert other.status_code == 200, other.text
        await hall_b.close()
        assert a.errors() == [] and b.errors() == []
