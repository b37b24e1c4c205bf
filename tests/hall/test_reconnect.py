"""Reconnecting with after=N gives exactly the events missed, then live ones."""

from __future__ import annotations

from typing import Any

from tests.hall.support import HallClient
from tests.support import Seed


async def test_reconnect_with_after_gets_exactly_the_missed_events(
        seed: Seed, published: dict[str, Any], base: str) -> None:
    section_id = published["section_id"]
    host = await HallClient.open(base, section_id, token=seed.agency.token)
    watcher = await HallClient.open(base, section_id, token=seed.bidder1.token)
    for number in range(3):
        await host.command("announce", text=f"公告{number}")
    await watcher.until_seq(4)
    seen = watcher.seqs()
    assert seen == [1, 2, 3, 4]
    await watcher.close()
    for number in range(3, 6):
        await host.command("chat", text=f"消息{number}")
    back = await HallClient.open(base, section_id, token=seed.bidder1.token, after=seen[-1])
    assert back.welcome["seq"] == 7
    await back.until_seq(7)
    await host.command("announce", text="重连之后")
    await back.until_seq(8)
    assert back.seqs() == [5, 6, 7, 8]
    assert back.types() == ["chat.message"] * 3 + ["opening.announcement"]
    # Connecting with after beyond the head gives nothing old, only live events.
    ahead = await HallClient.open(base, section_id, after=100)
    await host.command("announce", text="最新")
    await ahead.until("opening.announcement")
    assert ahead.seqs() == [9]
