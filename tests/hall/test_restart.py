"""A server process killed (SIGKILL) during decryption and started again resumes the room: every
client that reconnects with ``after=<last seq it saw>`` ends up with the room's events exactly
once, numbered 1..N without a gap, equal to the event log; no bid is opened twice or lost.

The bid list is published in process (the test clock, frozen in March 2026); from then on real
``tradesys serve`` processes run the opening on the system clock, on the same database and data
directory (the stored envelopes), so the decryption window opens at real now.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.bids.test_opening import bidder_share
from tests.hall.support import HallClient, ServerProcess, drain, rendered_log, server_process
from tests.hall.test_ceremony import holder_share
from tests.support import Seed
from tradesys.bids.models import Bid
from tradesys.events.models import Event
from tradesys.events.verify import verify_chain
from tradesys.services import Services
from tradesys.settings import Settings

BIDDERS = ("bidder1", "bidder2", "bidder3")
#: Who watches the room: (name, party key or None for the public).
WATCHERS = (("host", "agency"), ("supervisor", "supervisor"), ("bidder1", "bidder1"),
            ("bidder2", "bidder2"), ("bidder3", "bidder3"), ("observer", None))

#: The longest a client waits for one event (each one is expected within a second or so).
WAIT = 20.0

Match = Callable[[dict[str, Any]], bool]


def is_event(type_: str, **data: Any) -> Match:
    def match(message: dict[str, Any]) -> bool:
        event = message["event"]
        return event["type"] == type_ and all(event["data"].get(k) == v
                                              for k, v in data.items())
    return match


class Watcher:
    """One party's view of the room across server processes: one connection per process."""

    def __init__(self, name: str, token: str | None) -> None:
        self.name = name
        self.token = token
        self.connections: list[HallClient] = []

    @property
    def current(self) -> HallClient:
        return self.connections[-1]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [m for c in self.connections for m in c.events]

    def last_seq(self) -> int:
        events = self.events
        return events[-1]["seq"] if events else 0

    async def connect(self, server: ServerProcess, section_id: int) -> HallClient:
        client = await HallClient.open(server.ws, section_id, token=self.token,
                                       after=self.last_seq())
        self.connections.append(client)
        return client

    async def wait_for(self, match: Match) -> dict[str, Any]:
        """The first event (on any of this party's connections) that matches; reads on."""
        async with asyncio.timeout(WAIT):
            while True:
                for message in self.events:
                    if match(message):
                        return message
                await self.current.recv()

    async def until_seq(self, seq: int) -> None:
        async with asyncio.timeout(WAIT):
            while self.last_seq() < seq:
                await self.current.recv()


async def logged_events(services: Services, section_id: int) -> list[Any]:
    async with services.db.reading() as session:
        return list((await session.execute(
            select(Event.aggregate_seq, Event.type, Event.payload, Event.occurred_at)
            .where(Event.aggregate_type == "opening", Event.aggregate_id == str(section_id))
            .order_by(Event.aggregate_seq))).all())


@pytest.mark.parametrize("kill_at", ["sent", "acked"])
async def test_a_server_killed_during_decryption_resumes_the_room(
        client: httpx.AsyncClient, seed: Seed, services: Services, settings: Settings,
        published: dict[str, Any], tmp_path: Path, kill_at: str) -> None:
    """``sent``: SIGKILL right after bidder2's release leaves the client (the release may or
    may not have been committed); ``acked``: right after its ack (committed; the scheduler was
    woken to open the bid and is at it or about to be)."""
    section_id = published["section_id"]
    # Everything the key holders and bidders will release, unwrapped on their side up front
    # (read through the in-process app, which is not used again while the servers write).
    holders = {key: await holder_share(client, section_id, seed.parties[key])
               for key in ("agency", "supervisor")}
    shares = {key: await bidder_share(client, section_id, seed.parties[key]) for key in BIDDERS}
    # The room names bids by their public ids.
    room = (await client.get(f"/api/v1/sections/{section_id}/opening")).json()
    by_org = {bidder["org_id"]: bidder["bid_id"] for bidder in room["bidders"]}
    bid_of = {key: by_org[seed.parties[key].org_id] for key in BIDDERS}
    watchers = {name: Watcher(name, seed.parties[key].token if key else None)
                for name, key in WATCHERS}
    database_url, data_dir = settings.database_url, settings.data_dir

    first = ServerProcess(database_url, data_dir, tmp_path / "server-1.log")
    try:
        await first.start()
        for watcher in watchers.values():
            await watcher.connect(first, section_id)
        host, supervisor = watchers["host"].current, watchers["supervisor"].current
        assert host.welcome["state"]["phase"] == "published"
        assert (await host.command("start_decryption"))["type"] == "ack"
        for holder, connection in (("agency", host), ("supervisor", supervisor)):
            reply = await connection.command("release_holder_share", share=holders[holder])
            assert reply["type"] == "ack", reply
        reply = await watchers["bidder1"].current.command("release_share",
                                                          share=shares["bidder1"])
        assert reply["type"] == "ack", reply
        await watchers["bidder1"].wait_for(is_event("bid.decrypted", bid_id=bid_of["bidder1"]))

        bidder2 = watchers["bidder2"].current
        if kill_at == "sent":
            await bidder2.send_raw(json.dumps({"type": "release_share", "id": "doomed",
                                               "share": shares["bidder2"]}))
        else:
            reply = await bidder2.command("release_share", share=shares["bidder2"])
            assert reply["type"] == "ack", reply
        await first.kill()
        for watcher in watchers.values():
            await drain(watcher.current)
        assert first.errors() == []
    finally:
        await first.kill()

    async with server_process(database_url, data_dir, tmp_path / "server-2.log") as second:
        for watcher in watchers.values():
            after = watcher.last_seq()
            connection = await watcher.connect(second, section_id)
            assert connection.welcome["seq"] >= after
            assert connection.welcome["state"]["phase"] == "decrypting"
        # What the log says of bidder2's release decides what a second release gets.
        state = watchers["bidder2"].current.welcome["state"]
        entry = next(b for b in state["bidders"] if b["bid_id"] == bid_of["bidder2"])
        released = entry["share_released"]
        await watchers["bidder2"].until_seq(watchers["bidder2"].current.welcome["seq"])
        assert released == any(is_event("bid.share_released", bid_id=bid_of["bidder2"])(m)
                               for m in watchers["bidder2"].events)
        if kill_at == "acked":
            assert released, "an acknowledged release was lost with the process"
        bidder2 = watchers["bidder2"].current
        if released:
            # The new process's scheduler opens it (nobody has to release it again) …
            await watchers["bidder2"].wait_for(is_event("bid.decrypted",
                                                        bid_id=bid_of["bidder2"]))
            # … and a second release is refused: the bid already has its outcome.
            reply = await bidder2.command("release_share", share=shares["bidder2"])
            assert (reply["type"], reply.get("code")) == ("error", "already_opened"), reply
        else:
            reply = await bidder2.command("release_share", share=shares["bidder2"])
            assert reply["type"] == "ack", reply
        reply = await watchers["bidder3"].current.command("release_share",
                                                          share=shares["bidder3"])
        assert reply["type"] == "ack", reply
        ended = await watchers["host"].wait_for(is_event("opening.decryption_ended"))
        assert ended["event"]["data"] == {"decrypted": 3, "revoked": 0, "withdrawn": 0}

        logged = await logged_events(services, section_id)
        head = logged[-1][0]
        assert head == ended["seq"]  # nothing after the end of decryption
        for watcher in watchers.values():
            await watcher.until_seq(head)
            await watcher.current.close()
        assert second.errors() == []

    # Each party saw every event exactly once across the two processes: 1..N, as logged.
    participant, public = rendered_log(logged)
    assert [m["seq"] for m in participant] == list(range(1, head + 1))
    for name, watcher in watchers.items():
        assert len(watcher.connections) == 2
        assert [m["seq"] for m in watcher.events] == list(range(1, head + 1)), name
        assert watcher.events == (public if name == "observer" else participant), name

    # Every bid opened exactly once, whichever process opened it.
    opened = [m["event"]["data"]["bid_id"] for m in participant
              if m["event"]["type"] == "bid.decrypted"]
    assert sorted(opened) == sorted(bid_of.values())
    releases = [m["event"]["data"]["bid_id"] for m in participant
                if m["event"]["type"] == "bid.share_released"]
    assert sorted(releases) == sorted(bid_of.values())
    async with services.db.reading() as session:
        outcomes = dict((await session.execute(select(Bid.public_id, Bid.outcome).where(
            Bid.section_id == section_id, Bid.outcome.is_not(None)))).all())
        chain = await verify_chain(session)
    assert outcomes == {bid_id: "decrypted" for bid_id in bid_of.values()}
    assert chain.ok, chain
