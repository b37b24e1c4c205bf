"""Two ``tradesys serve`` processes on one PostgreSQL database run one opening together: the
host is on process A, the bidders and observers are split over A and B, commands go through
both, and every client on either process sees the same events in the same order, none missing.
What one process commits reaches the other's rooms by LISTEN/NOTIFY (channel tradesys_events).

The bid list is published in process (the test clock, frozen in March 2026); the processes run
on the system clock, on the same database and data directory.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.bids.test_opening import bidder_share
from tests.hall.signing import register_signing_key
from tests.hall.support import HallClient, rendered_log, server_process
from tests.hall.test_ceremony import holder_share
from tests.support import Seed
from tradesys.bids.models import Bid
from tradesys.events.models import Event
from tradesys.services import Services
from tradesys.settings import Settings

BIDDERS = ("bidder1", "bidder2", "bidder3")
#: The longest a client waits for one event (each one is expected within milliseconds).
WAIT = 20.0


@pytest.fixture
def backend() -> str:
    """Overrides the two-back-end parameter of tests/conftest.py: several processes share one
    database only through PostgreSQL (LISTEN/NOTIFY); SQLite is the one-process default."""
    return "postgresql"


class Party:
    """A client on one process; remembers which events its own commands made."""

    def __init__(self, name: str, process: str, client: HallClient) -> None:
        self.name = name
        self.process = process
        self.client = client

    async def command(self, origins: dict[int, str], type: str, **fields: Any) -> dict[str, Any]:
        reply = await self.client.command(type, **fields)
        assert reply["type"] == "ack", (self.name, type, reply)
        seq = reply["result"].get("seq")
        if seq is not None:
            origins[seq] = self.process
        return reply

    async def sign_in(self, origins: dict[int, str]) -> dict[str, Any]:
        """签到 (its ack carries no seq: the event is found in the room by the bidder's org)."""
        await self.command(origins, "sign_in")
        org = self.client.welcome["you"]["org_id"]
        async with asyncio.timeout(WAIT):
            while True:
                for message in self.client.events:
                    event = message["event"]
                    if event["type"] == "opening.signed_in" and event["data"]["org_id"] == org:
                        origins[message["seq"]] = self.process
                        return message
                await self.client.recv()

    async def until(self, seq: int, event_type: str) -> dict[str, Any]:
        """Reads on until it has seen event ``seq`` (which must be of ``event_type``)."""
        async with asyncio.timeout(WAIT):
            await self.client.until_seq(seq)
        found = [m for m in self.client.events if m["seq"] == seq]
        assert [m["event"]["type"] for m in found] == [event_type], (self.name, seq, found)
        return found[0]


async def test_two_processes_on_postgresql_agree(
        client: httpx.AsyncClient, seed: Seed, services: Services, settings: Settings,
        published: dict[str, Any], tmp_path: Path) -> None:
    section_id = published["section_id"]
    holders = {key: await holder_share(client, section_id, seed.parties[key])
               for key in ("agency", "supervisor")}
    shares = {key: await bidder_share(client, section_id, seed.parties[key]) for key in BIDDERS}
    signing = {key: await register_signing_key(client, seed.parties[key]) for key in BIDDERS}
    section_code = published["section"]["code"]
    database_url, data_dir = settings.database_url, settings.data_dir
    #: Which process each acknowledged event command went through, by room seq.
    origins: dict[int, str] = {}

    async with (server_process(database_url, data_dir, tmp_path / "a.log") as a,
                server_process(database_url, data_dir, tmp_path / "b.log") as b):
        servers = {"A": a, "B": b}

        async def join(name: str, process: str, key: str | None) -> Party:
            token = seed.parties[key].token if key else None
            return Party(name, process, await HallClient.open(servers[process].ws, section_id,
                                                              token=token))

        host = await join("host", "A", "agency")
        bidder1 = await join("bidder1", "A", "bidder1")
        observer_a = await join("observer A", "A", None)
        supervisor = await join("supervisor", "B", "supervisor")
        bidder2 = await join("bidder2", "B", "bidder2")
        bidder3 = await join("bidder3", "B", "bidder3")
        observer_b = await join("observer B", "B", None)
        parties = [host, bidder1, observer_a, supervisor, bidder2, bidder3, observer_b]
        participants = [p for p in parties if not p.name.startswith("observer")]
        on_a = [p for p in parties if p.process == "A"]
        on_b = [p for p in parties if p.process == "B"]
        assert {p.client.welcome["seq"] for p in parties} == {1}
        assert {p.client.welcome["state"]["phase"] for p in parties} == {"published"}

        # A commits, B does nothing: B's clients can only learn of it by the notification.
        seq = (await host.command(origins, "announce", text="开标会议现在开始。"))["result"]["seq"]
        for party in on_b:
            await party.until(seq, "opening.announcement")
        # And the other way round (observers do not see chat: they wait for the sign-in).
        seq = (await bidder2.command(origins, "chat", text="投标人二已到。"))["result"]["seq"]
        for party in (host, bidder1):
            await party.until(seq, "chat.message")
        seq = (await bidder3.sign_in(origins))["seq"]
        for party in on_a:
            await party.until(seq, "opening.signed_in")

        # Commands through both processes at once: the log orders them, every client agrees.
        await asyncio.gather(
            host.command(origins, "announce", text="请各投标人签到。"),
            bidder1.sign_in(origins),
            bidder2.sign_in(origins),
            bidder3.command(origins, "chat", text="已签到，等待解密。"))
        await host.command(origins, "start_decryption")
        await asyncio.gather(
            host.command(origins, "release_holder_share", share=holders["agency"]),
            supervisor.command(origins, "release_holder_share", share=holders["supervisor"]),
            bidder2.command(origins, "chat", text="开标密钥已释放？"),
            bidder1.command(origins, "chat", text="投标人一已签到。"))
        # Each bidder releases through its own process; both schedulers race to open the bids.
        await asyncio.gather(
            bidder1.command(origins, "release_share", share=shares["bidder1"]),
            bidder2.command(origins, "release_share", share=shares["bidder2"]),
            bidder3.command(origins, "release_share", share=shares["bidder3"]),
            host.command(origins, "announce", text="请各投标人解密投标文件。"))
        async with asyncio.timeout(WAIT):
            ended = await observer_b.client.until("opening.decryption_ended")
        assert ended["event"]["data"] == {"decrypted": 3, "revoked": 0, "withdrawn": 0}

        # 唱标 on A while the bidders on B talk.
        for text in ("报价已收到。", "无异议。"):
            await asyncio.gather(host.command(origins, "read_next"),
                                 bidder3.command(origins, "chat", text=text))
        await host.command(origins, "read_next")
        record = await host.command(origins, "generate_record")
        generated = await bidder3.until(record["result"]["seq"], "opening.record_generated")
        record_sha = generated["event"]["data"]["record_sha256"]
        objection = await bidder2.command(origins, "raise_objection", text="第二名报价是否含税？")
        await host.until(objection["result"]["seq"], "opening.objection_raised")
        await asyncio.gather(
            host.command(origins, "answer_objection", objection=1, text="均为含税价。"),
            *(party.command(origins, "confirm_record",
                            **signing[party.name].confirm(section_code, record_sha))
              for party in (bidder1, bidder2, bidder3)))
        closed = await host.command(origins, "close")
        head = closed["result"]["seq"]
        for party in parties:
            await party.until(head, "opening.closed")
        for party in parties:
            await party.client.close()
        logs = {name: server.errors() for name, server in servers.items()}
        assert logs == {"A": [], "B": []}

    async with services.db.reading() as session:
        logged = list((await session.execute(
            select(Event.aggregate_seq, Event.type, Event.payload, Event.occurred_at)
            .where(Event.aggregate_type == "opening", Event.aggregate_id == str(section_id))
            .order_by(Event.aggregate_seq))).all())
        outcomes = list((await session.execute(select(Bid.outcome).where(
            Bid.section_id == section_id, Bid.outcome.is_not(None)))).scalars())
    assert outcomes == ["decrypted"] * 3

    # Every client on either process saw the log, in its order, each event once.
    participant, public = rendered_log(logged)
    assert [m["seq"] for m in participant] == list(range(1, head + 1))
    for party in participants:
        assert party.client.events == participant, party.name
    for party in (observer_a, observer_b):
        assert party.client.events == public, party.name
    types = [m["event"]["type"] for m in participant]
    assert types.count("bid.decrypted") == 3 and types.count("chat.message") == 6
    assert types.count("opening.price_read") == 3

    # Every acknowledged command's event is there, and each client saw events that came from
    # the other process (live, through the notifications).
    assert set(origins) <= {m["seq"] for m in participant}
    for party in parties:
        seen = {m["seq"] for m in party.client.events}
        other = {seq for seq, process in origins.items() if process != party.process}
        assert seen & other, party.name
