"""The rooms of one process: created on first use, read from the event log, woken on commit.

In one process the command path wakes the rooms right after its commit. With PostgreSQL every
inserted event also sends a NOTIFY carrying only ``opening:<section>:<seq>`` (migration 0005);
the backplane turns those into wake-ups, so rooms in every process see every commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

from sqlalchemy import select

from hall.room import LoggedEvent, Room
from tradesys.clock import Clock, isoformat_utc
from tradesys.db.database import Database
from tradesys.events.models import Event
from tradesys.opening.ceremony import AGGREGATE

log = logging.getLogger("hall.rooms")


#: Every this many seconds each connection is told the server time (the page's clock offset).
TIME_EVERY = 15.0
#: The ticker's beat: its listeners (the hall's access expiry check) run this often.
TICK = 1.0


class Rooms:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock
        self._ticker: asyncio.Task[None] | None = None
        self.rooms: dict[int, Room] = {}
        self._pending: set[int] = set()
        self._holders: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Called at every beat of the one ticker (hall/access.py checks expiry).
        self.tick_listeners: list[Callable[[], None]] = []

    async def load_events(self, section_id: int, after: int) -> list[LoggedEvent]:
        async with self.db.reading() as session:
            rows = (await session.execute(
                select(Event.aggregate_seq, Event.type, Event.payload, Event.occurred_at)
                .where(Event.aggregate_type == AGGREGATE, Event.aggregate_id == str(section_id),
                       Event.aggregate_seq > after)
                .order_by(Event.aggregate_seq))).all()
        return [LoggedEvent(seq, type_, json.loads(payload), at)
                for seq, type_, payload, at in rows]

    def room(self, section_id: int) -> Room:
        """The section's room, held for the caller until :meth:`release`. Counting holders
        (not joined connections) means a client that is still joining keeps the room alive
        while the last one leaves: it is never left in a room nobody wakes."""
        room = self.rooms.get(section_id)
        if room is None:
            room = self.rooms[section_id] = Room(section_id, self.load_events)
        self._holders[section_id] = self._holders.get(section_id, 0) + 1
        return room

    def release(self, section_id: int) -> None:
        """Forgets a room nobody holds any more (it is rebuilt from the log when needed)."""
        left = self._holders.get(section_id, 0) - 1
        if left > 0:
            self._holders[section_id] = left
            return
        self._holders.pop(section_id, None)
        self.rooms.pop(section_id, None)

    def notify(self, section_id: int) -> None:
        """Something was committed for this section's opening: the room reads it. Wake-ups
        that arrive while a read is pending fold into it (one read serves many commits)."""
        if section_id not in self.rooms or section_id in self._pending:
            return
        self._pending.add(section_id)
        task = asyncio.get_running_loop().create_task(self._refresh(section_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, section_id: int) -> None:
        self._pending.discard(section_id)
        room = self.rooms.get(section_id)
        if room is None:
            return
        try:
            await room.refresh()
        except Exception:
            log.exception("room refresh failed", extra={"section_id": section_id})

    def notify_all(self) -> None:
        for section_id in list(self.rooms):
            self.notify(section_id)

    def tell_time(self) -> None:
        """One ``time`` message per room, offered to all its connections."""
        if self.clock is None:
            return
        now = isoformat_utc(self.clock.now())
        for room in list(self.rooms.values()):
            room.tell_all(lambda head: json.dumps(
                {"type": "time", "seq": head, "server_time": now}, separators=(",", ":")))

    async def _tick(self) -> None:
        beats, every = 0, max(1, round(TIME_EVERY / TICK))
        while True:
            await asyncio.sleep(TICK)
            for listener in self.tick_listeners:
                try:
                    listener()
                except Exception:
                    log.exception("hall tick listener failed")
            beats += 1
            if beats % every == 0:
                self.tell_time()

    def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick(), name="hall-time")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
