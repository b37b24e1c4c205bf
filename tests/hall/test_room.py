"""The room's fan-out logic, with events from a list instead of the database (pure logic)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hall.room import DROP, Connection, LoggedEvent, Room
from hall.views import PARTICIPANT, PUBLIC

AT = datetime(2026, 3, 23, 2, 0, tzinfo=UTC)


class Log:
    def __init__(self) -> None:
        self.events: list[LoggedEvent] = []
        self.reads = 0

    def add(self, type: str, **payload: object) -> None:
        self.events.append(LoggedEvent(len(self.events) + 1, type, dict(payload), AT))

    async def load(self, _section_id: int, after: int) -> list[LoggedEvent]:
        self.reads += 1
        return [event for event in self.events if event.seq > after]


def drain(connection: Connection) -> list[dict[str, object]]:
    messages = []
    while not connection.queue.empty():
        messages.append(json.loads(connection.queue.get_nowait()))
    return messages


def welcome(head: int, _state: str) -> str:
    return json.dumps({"type": "welcome", "seq": head})


async def test_joining_after_n_gets_exactly_the_rest_then_live_events() -> None:
    log = Log()
    for number in range(5):
        log.add("opening.announcement", text=f"公告{number}")
    room = Room(1, log.load)
    connection = Connection(PARTICIPANT, 100)
    assert await room.join(connection, 3, welcome) == 5
    assert [m["seq"] for m in drain(connection)] == [5, 4, 5]  # welcome at 5, then 4, 5
    log.add("chat.message", text="你好")
    log.add("opening.announcement", text="公告5")
    await room.refresh()
    assert [m["seq"] for m in drain(connection)] == [6, 7]


async def test_the_public_view_skips_chat_and_participants_see_it() -> None:
    log = Log()
    room = Room(1, log.load)
    public, participant = Connection(PUBLIC, 100), Connection(PARTICIPANT, 100)
    await room.join(public, 0, welcome)
    await room.join(participant, 0, welcome)
    drain(public), drain(participant)
    log.add("chat.message", text="内部交流")
    log.add("bid.decrypted", bid_id=1, summary={"price": "1.00"})
    await room.refresh()
    assert [m["event"]["type"] for m in drain(participant)] == ["chat.message", "bid.decrypted"]
    [seen] = drain(public)
    assert seen["seq"] == 2 and seen["event"]["type"] == "bid.decrypted"
    assert "summary" not in seen["event"]["data"]  # no price before its reading


async def test_a_slow_connection_is_dropped_and_the_others_go_on() -> None:
    log = Log()
    room = Room(1, log.load)
    slow, fast = Connection(PUBLIC, 3), Connection(PUBLIC, 100)
    await room.join(slow, 0, welcome)
    await room.join(fast, 0, welcome)
    for number in range(5):
        log.add("opening.announcement", text=f"公告{number}")
    await room.refresh()
    assert slow.dropped and slow not in room.connections
    # Its backlog is replaced by the order to close (4008): nothing more is queued for it.
    assert slow.queue.qsize() == 1 and slow.queue.get_nowait() == DROP
    assert [m["seq"] for m in drain(fast)][1:] == [1, 2, 3, 4, 5]
    log.add("opening.announcement", text="后续")
    await room.refresh()
    assert [m["seq"] for m in drain(fast)] == [6]


async def test_one_read_serves_every_connection() -> None:
    log = Log()
    room = Room(1, log.load)
    connections = [Connection(PUBLIC, 10) for _ in range(50)]
    for connection in connections:
        await room.join(connection, 0, welcome)
    reads = log.reads
    log.add("opening.announcement", text="开标开始")
    await room.refresh()
    assert log.reads == reads + 1
    assert all(len(drain(connection)) == 2 for connection in connections)


async def test_a_gap_in_the_log_stops_the_room() -> None:
    log = Log()
    log.add("opening.announcement", text="一")
    log.events.append(LoggedEvent(3, "opening.announcement", {"text": "三"}, AT))
    room = Room(1, log.load)
    with pytest.raises(RuntimeError, match="expected event 2"):
        await room.refresh()


async def test_a_room_held_by_a_joining_client_outlives_the_last_leaver() -> None:
    """A client still joining (reading the log) while the last one leaves keeps the room: it
    must be the room that later commits wake, not an orphan."""
    from hall.rooms import Rooms

    rooms = Rooms(db=None)  # type: ignore[arg-type]
    log = Log()
    leaving = rooms.room(1)
    leaving.loader = log.load
    joining = rooms.room(1)
    assert joining is leaving
    rooms.release(1)  # the old client leaves while the new one is still joining
    assert rooms.rooms.get(1) is joining
    rooms.release(1)
    assert 1 not in rooms.rooms
