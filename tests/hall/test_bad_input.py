"""Bad input in the hall: each is refused with an error on that connection, and nothing in the
database changes (every table's row count, the event log included)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.bids.test_opening import _envelope, bidder_share
from tests.bids.test_submission import sealing, submit
from tests.hall.conftest import PRICES
from tests.hall.support import HallClient
from tests.support import Flow, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.services import Services

#: A well-formed confirmation that no key signed (refused before any signature check).
UNSIGNED = {"record_sha256": "0" * 64, "key_id": "0" * 64, "signature": "A" * 86}


async def refused(client: HallClient, code: str, type: str, **fields: Any) -> dict[str, Any]:
    reply = await client.command(type, **fields)
    assert reply["type"] == "error", reply
    assert reply["code"] == code, reply
    assert reply["message"]
    return reply


async def test_unknown_malformed_and_oversized_frames_change_nothing(
        seed: Seed, services: Services, published: dict[str, Any], base: str) -> None:
    section_id = published["section_id"]
    bidder = await HallClient.open(base, section_id, token=seed.bidder1.token)
    before = await table_counts(services)
    await refused(bidder, "unknown_type", "shout")
    await refused(bidder, "bad_command", "chat", text="你好", extra="field")
    await refused(bidder, "bad_command", "release_share", share="not base64!")
    await refused(bidder, "bad_command", "answer_objection", objection="1", text="x")
    for raw, code in (("{not json", "bad_json"), ("[1, 2]", "unknown_type"),
                      (b"\x00\x01binary", "bad_frame"),
                      (json.dumps({"type": "chat", "text": "大" * 20_000}), "bad_frame")):
        await bidder.send_raw(raw)
        reply = await bidder.reply(None)
        assert reply["type"] == "error" and reply["code"] == code, reply
    # The connection is still good after all that.
    assert (await bidder.command("ping", t=1))["type"] == "time"
    assert await table_counts(services) == before
    # A frame over the hard limit (1 MiB) closes the connection (1009), still changing nothing.
    await bidder.send_raw("x" * (1024 * 1024 + 1))
    with pytest.raises(ConnectionClosed) as closed:
        await bidder.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert await table_counts(services) == before


async def test_roles_and_phases_are_enforced(
        client: httpx.AsyncClient, seed: Seed, services: Services, clock: AdjustableClock,
        app: Starlette, published: dict[str, Any], base: str) -> None:
    section_id = published["section_id"]
    host = await HallClient.open(base, section_id, token=seed.agency.token)
    bidder = await HallClient.open(base, section_id, token=seed.bidder1.token)
    outsider = await HallClient.open(base, section_id, token=seed.bidder4.token)
    observer = await HallClient.open(base, section_id)
    supervisor = await HallClient.open(base, section_id, token=seed.supervisor.token)
    procurer = await HallClient.open(base, section_id, token=seed.procurer.token)
    assert outsider.welcome["audience"] == "observer"  # a bidder with no bid here
    assert procurer.welcome["audience"] == "procurer"
    share = await bidder_share(client, section_id, seed.bidder1)
    before = await table_counts(services)
    # A bidder sending host commands; watchers sending anything but ping.
    for command in ("start_decryption", "read_next", "close", "generate_record"):
        await refused(bidder, "forbidden", command)
    await refused(bidder, "forbidden", "announce", text="我来主持")
    await refused(procurer, "forbidden", "start_decryption")
    await refused(observer, "forbidden", "chat", text="围观")
    await refused(supervisor, "forbidden", "chat", text="监督")
    await refused(supervisor, "forbidden", "pause", reason="x")
    # Decryption before the window opens.
    await refused(bidder, "wrong_phase", "release_share", share=share)
    # Nothing to read, no record to confirm yet; 流标 only with too few bids.
    await refused(host, "wrong_phase", "read_next")
    await refused(host, "wrong_phase", "declare_failed", reason="想流标")
    await refused(bidder, "wrong_phase", "confirm_record", **UNSIGNED)
    # Confirmation by a bidder with no bid in this section.
    await refused(outsider, "forbidden", "confirm_record", **UNSIGNED)
    await refused(outsider, "forbidden", "raise_objection", text="我也有异议")
    await refused(host, "objection_not_found", "answer_objection", objection=7, text="无此异议")
    await refused(host, "bidder_not_found", "mute", org_id=seed.bidder4.org_id)
    assert await table_counts(services) == before

    # The window opens, then ends (the clock passes it before the scheduler's pass).
    assert (await host.command("start_decryption"))["type"] == "ack"
    await refused(host, "wrong_phase", "start_decryption")
    await refused(host, "bidders_pending", "end_decryption")
    clock.advance(timedelta(minutes=31))
    after_window = await table_counts(services)
    await refused(bidder, "window_closed", "release_share", share=share)
    assert await table_counts(services) == after_window
    # Paused: no step may advance; resuming is the host's.
    assert (await host.command("pause", reason="网络故障"))["type"] == "ack"
    paused = await table_counts(services)
    await refused(host, "already_paused", "pause", reason="again")
    await refused(bidder, "forbidden", "resume", reason="我来恢复")
    assert await table_counts(services) == paused
    del app


async def test_chat_is_escaped_by_refusal_rate_limited_and_muted(
        seed: Seed, services: Services, published: dict[str, Any], base: str) -> None:
    section_id = published["section_id"]
    host = await HallClient.open(base, section_id, token=seed.agency.token)
    bidder = await HallClient.open(base, section_id, token=seed.bidder2.token)
    observer = await HallClient.open(base, section_id)
    before = await table_counts(services)
    await refused(bidder, "markup_refused", "chat", text="<script>alert(1)</script>")
    await refused(bidder, "markup_refused", "chat", text='<img src=x onerror="x()">')
    await refused(bidder, "bad_command", "chat", text="   ")
    await refused(bidder, "bad_command", "chat", text="长" * 1001)
    assert await table_counts(services) == before
    sent = 0
    for number in range(8):
        reply = await bidder.command("chat", text=f"第{number}条")
        if reply["type"] == "ack":
            sent += 1
        else:
            assert reply["code"] == "rate_limited"
    # Five attempts per ten seconds, refused ones included: the two with markup above count.
    assert sent == 3
    assert (await table_counts(services))["events"] == before["events"] + 3
    # Muted by the host: refused until unmuted.
    assert (await host.command("mute", org_id=seed.bidder3.org_id))["type"] == "ack"
    muted = await HallClient.open(base, section_id, token=seed.bidder3.token)
    await refused(muted, "muted", "chat", text="我要发言")
    # The public never sees chat.
    await host.command("announce", text="请各位投标人保持安静")
    await observer.until("opening.announcement")
    assert not [m for m in observer.events if m["event"]["type"].startswith("chat.")]
    await host.until("opening.announcement")
    assert [m["event"]["data"]["text"] for m in host.events
            if m["event"]["type"] == "chat.message"] == [f"第{n}条" for n in range(3)]


async def test_the_handshake_refuses_strangers(
        client: httpx.AsyncClient, seed: Seed, published: dict[str, Any], base: str) -> None:
    section_id = published["section_id"]
    login = await client.post("/api/v1/auth/login", json={
        "username": seed.bidder1.username, "password": seed.bidder1.password})
    cookie = f"tradesys_session={login.cookies['tradesys_session']}"
    host = base.removeprefix("ws://")
    cases = [
        ({"Cookie": cookie, "Origin": "http://evil.example"}, 403),  # cross-site hijacking
        ({"Cookie": cookie}, 403),  # no Origin at all
        ({"Authorization": "Bearer tsk_not-a-token"}, 401),
        ({"Authorization": "Basic abc"}, 401),
    ]
    for headers, status in cases:
        with pytest.raises(InvalidStatus) as refused_:
            await connect(f"{base}/hall/{section_id}/ws", additional_headers=headers)
        assert refused_.value.response.status_code == status
    for path, status in ((f"/hall/{section_id}/ws?after=abc", 400),
                         ("/hall/99999/ws", 404)):
        with pytest.raises(InvalidStatus) as refused_:
            await connect(f"{base}{path}")
        assert refused_.value.response.status_code == status
    # The same cookie from our own origin is accepted.
    own = await connect(f"{base}/hall/{section_id}/ws",
                        additional_headers={"Cookie": cookie, "Origin": f"http://{host}"})
    welcome = json.loads(await asyncio.wait_for(own.recv(), 10))
    assert welcome["audience"] == "bidder"
    await own.close()


async def test_bidders_cannot_chat_before_the_deadline(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock, app: Starlette, base: str) -> None:
    """Only a bidder with a valid bid may chat: before the deadline its message would tell
    every other bidder in the room that it has bid (办法 Art. 28). Closed until the list is
    out; over HTTP as over the WebSocket."""
    project = await flow.announced()
    section = project["notice"]["sections"][0]
    opening_key = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    for key, price in PRICES:
        bidder = seed.parties[key]
        assert (await submit(client, section["id"], bidder,
                             _envelope(section, bidder, opening_key, price))).status_code == 201
    host = await HallClient.open(base, section["id"], token=seed.agency.token)
    bidder1 = await HallClient.open(base, section["id"], token=seed.bidder1.token)
    bidder2 = await HallClient.open(base, section["id"], token=seed.bidder2.token)
    assert bidder1.welcome["audience"] == "bidder"
    before = await table_counts(services)
    await refused(bidder1, "chat_closed", "chat", text="我已投标，诸位好")
    over_http = await client.post(f"/api/v1/sections/{section['id']}/opening/commands",
                                  headers=seed.bidder2.auth,
                                  json={"type": "chat", "text": "我也投了"})
    assert_error(over_http, 409, "chat_closed")
    assert await table_counts(services) == before
    # The host may still speak to the room; no bidder's message reached anyone.
    assert (await host.command("chat", text="开标将于截止时间开始"))["type"] == "ack"
    for party in (host, bidder1, bidder2):
        await party.until("chat.message")
        assert [m["event"]["data"]["role"] for m in party.events
                if m["event"]["type"] == "chat.message"] == ["host"]
    # At the deadline the list is published (who bid is public now): chat opens.
    clock.advance(timedelta(days=21))
    await app.state.scheduler.run_once()
    # (The host's chat made the opening's row before the deadline: the list is still due.)
    await bidder1.until("opening.bids_published")
    assert (await bidder1.command("chat", text="投标人一已到"))["type"] == "ack"
