"""No frame is an error of the server's own (issue 10): a hall connection refuses deep nesting,
numbers JSON cannot hold, non-ASCII digits in ``after=`` and control characters in text with a
clear error, keeps reading, answers in valid JSON only, and changes nothing. The chat limit is
one limit whichever edge a chat comes through."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.hall.support import TIMEOUT, HallClient
from tests.hall.test_bad_input import refused
from tests.support import Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.services import Services


def strict_json(text: str) -> Any:
    """What any JSON parser may be given: no NaN or Infinity (RFC 8259)."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


async def raw_reply(client: HallClient) -> dict[str, Any]:
    """The next reply (error or time), every frame up to it parsed strictly (HallClient.recv's
    json.loads would take Infinity)."""
    while True:
        text = await asyncio.wait_for(client.ws.recv(), TIMEOUT)
        assert isinstance(text, str)
        message: dict[str, Any] = strict_json(text)
        if message["type"] in ("error", "time"):
            return message


async def test_deep_nesting_is_refused_and_the_reader_lives(
        seed: Seed, services: Services, published: dict[str, Any], base: str) -> None:
    bidder = await HallClient.open(base, published["section_id"], token=seed.bidder1.token)
    before = await table_counts(services)
    # Inside the 16 KiB frame limit, and far past the parser's recursion limit.
    for raw in ("[" * 10_000, "{\"a\":" * 3000, json.dumps(
            {"type": "chat", "text": "x", "id": None}).replace("null", "[" * 40 + "]" * 40)):
        await bidder.send_raw(raw)
        reply = await bidder.reply(None)
        assert reply["type"] == "error" and reply["code"] == "json_too_deep", reply
        assert reply["message"]
    # The same connection still reads and answers.
    assert (await bidder.command("ping", t=1))["type"] == "time"
    assert await table_counts(services) == before


async def test_a_ping_with_a_number_json_cannot_hold_is_answered_in_json(
        published: dict[str, Any], base: str) -> None:
    watcher = await HallClient.open(base, published["section_id"])
    for number in ("1e400", "-1e400", "NaN", "Infinity", "-Infinity"):
        await watcher.send_raw(f'{{"type":"ping","id":"p1","t":{number}}}')
        reply = await raw_reply(watcher)
        assert reply["type"] == "error" and reply["code"] == "number_out_of_range", reply
    # Finite numbers are still echoed.
    await watcher.send_raw('{"type":"ping","id":"p2","t":1.5e300}')
    answer = await raw_reply(watcher)
    assert answer["type"] == "time" and answer["t"] == 1.5e300 and answer["id"] == "p2"
    await watcher.close()


async def test_after_takes_ascii_digits_only(published: dict[str, Any], base: str) -> None:
    for after in ("²", "¹", "٣", "１", "-1", "+1", "1_0", "9" * 40):
        with pytest.raises(InvalidStatus) as refused_:
            await connect(f"{base}/hall/{published['section_id']}/ws?after={after}")
        response = refused_.value.response
        assert response.status_code == 400, after
        assert json.loads(response.body)["error"]["code"] == "bad_after"
    # The server is still there, and after= in ASCII digits still works.
    watcher = await HallClient.open(base, published["section_id"], after=1)
    assert watcher.welcome["type"] == "welcome"
    await watcher.close()


async def test_control_characters_in_hall_text_are_refused(
        seed: Seed, services: Services, published: dict[str, Any], base: str) -> None:
    section_id = published["section_id"]
    host = await HallClient.open(base, section_id, token=seed.agency.token)
    bidder = await HallClient.open(base, section_id, token=seed.bidder1.token)
    before = await table_counts(services)
    for bad in ("\x00", "\x1b[2J", "\x7f", "\x85", "\u2028", "\n", "\t"):
        reply = await refused(bidder, "bad_command", "chat", text=f"你{bad}好")
        assert "text" in reply["message"]
    for bad in ("\x00", "\x1b", "\x08"):
        await refused(host, "bad_command", "announce", text=f"请{bad}安静")
        await refused(bidder, "bad_command", "raise_objection", text=f"异{bad}议")
        await refused(host, "bad_command", "pause", reason=f"网{bad}络")
    await bidder.send_raw(json.dumps({"type": "chat", "text": "你好", "id": "a\x00b"}))
    reply = await bidder.reply("a\x00b")
    assert reply["type"] == "error" and reply["code"] == "bad_command", reply
    assert await table_counts(services) == before
    # A multi-line announcement keeps its line breaks.
    assert (await host.command("announce", text="第一条\n第二条"))["type"] == "ack"
    shown = await bidder.until("opening.announcement")
    assert shown["event"]["data"]["text"] == "第一条\n第二条"


async def test_one_chat_limit_for_http_and_websocket(
        client: httpx.AsyncClient, seed: Seed, services: Services, clock: AdjustableClock,
        published: dict[str, Any], base: str) -> None:
    section_id = published["section_id"]
    url = f"/api/v1/sections/{section_id}/opening/commands"
    bidder = await HallClient.open(base, section_id, token=seed.bidder2.token)
    for number in range(3):
        response = await client.post(url, headers=seed.bidder2.auth,
                                     json={"type": "chat", "text": f"HTTP 第{number}条"})
        assert response.status_code == 200, response.text
    for number in range(2):
        assert (await bidder.command("chat", text=f"WS 第{number}条"))["type"] == "ack"
    before = await table_counts(services)
    # Five in ten seconds, counted together: the sixth is refused on either edge.
    await refused(bidder, "rate_limited", "chat", text="第六条")
    over_http = await client.post(url, headers=seed.bidder2.auth,
                                  json={"type": "chat", "text": "第七条"})
    error = assert_error(over_http, 429, "rate_limited")
    assert error["details"]["retry_after"] >= 1
    assert over_http.headers["Retry-After"] == str(error["details"]["retry_after"])
    assert await table_counts(services) == before
    # Per user: another bidder chats freely meanwhile.
    other = await client.post(url, headers=seed.bidder1.auth,
                              json={"type": "chat", "text": "我是另一家"})
    assert other.status_code == 200, other.text
    # Server time moves past the window (the injected clock, no sleeping): allowed again.
    clock.advance(timedelta(seconds=11))
    assert (await bidder.command("chat", text="十一秒后"))["type"] == "ack"
    await bidder.close()


async def test_an_integral_float_is_an_integer_on_both_edges(
        client: httpx.AsyncClient, seed: Seed, services: Services,
        published: dict[str, Any], base: str) -> None:
    """JSON Schema counts ``3.0`` as the integer 3: an HTTP body and a hall frame read it the
    same way (tradesys.strict.parse_command); ``3.5`` stays refused on both, changing nothing."""
    section_id = published["section_id"]
    url = f"/api/v1/sections/{section_id}/opening/commands"
    host = await HallClient.open(base, section_id, token=seed.agency.token)
    org = seed.bidder1.org_id
    before = await table_counts(services)
    await refused(host, "bad_command", "mute", org_id=org + 0.5)
    over_http = await client.post(url, headers=seed.agency.auth,
                                  json={"type": "mute", "org_id": org + 0.5})
    assert_error(over_http, 422)
    assert await table_counts(services) == before

    reply = await host.command("mute", org_id=float(org))
    assert reply["type"] == "ack", reply
    muted = await host.until("chat.muted")
    assert muted["event"]["data"]["org_id"] == org
    assert isinstance(muted["event"]["data"]["org_id"], int)
    response = await client.post(url, headers=seed.agency.auth,
                                 json={"type": "unmute", "org_id": float(org)})
    assert response.status_code == 200, response.text
    unmuted = await host.until("chat.unmuted")
    assert unmuted["event"]["data"]["org_id"] == org
    await host.close()
