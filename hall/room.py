"""A room: one section's opening, as a list of rendered events and the connections watching.

The room reads new events from the log when told (by the backplane, or in-process after a
commit), renders each once per view class, and offers the text to every connection's bounded
queue. A connection whose queue is full is dropped (it resumes with ``after=N``): one slow
client never slows the room. Joining under the room's lock means a client gets the catch-up
and then the live events with no gap and no repeat.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hall.views import render
from tradesys.opening.state import OpeningState

log = logging.getLogger("hall.room")

SLOW_CONSUMER = 4008


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    type: str
    payload: dict[str, Any]
    at: datetime


Loader = Callable[[int, int], Awaitable[list[LoggedEvent]]]


#: Put in a connection's queue in place of everything it could not take: the writer closes.
DROP = "\x00drop"
#: Put in a connection's queue when its access ended (hall/access.py): the writer closes 4003.
REVOKED = "\x00revoked"

SendNow = Callable[[str], bool]


class Connection:
    """One client's outgoing side.

    A message goes straight to the socket when nothing is waiting before it and the socket
    can take it at once (``send_now``, from the transport); otherwise it waits in a bounded
    queue drained by the connection's writer task. Most broadcasts thus cost one write per
    client and no task switch. A client that falls ``queue_size`` messages behind is dropped:
    its queue is replaced by :data:`DROP` and the writer closes it with 4008.
    """

    __slots__ = ("dropped", "queue", "send_now", "sending", "view")

    def __init__(self, view: str, queue_size: int, send_now: SendNow | None = None) -> None:
        self.view = view
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.send_now = send_now
        #: The writer has taken a message and is waiting for the socket to take it.
        self.sending = False
        self.dropped = False

    def offer(self, text: str) -> bool:
        if self.dropped:
            return False
        if (self.send_now is not None and not self.sending and self.queue.empty()
                and self.send_now(text)):
            return True
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(DROP)
            return False
        return True

    def revoke(self) -> None:
        """Nothing more for this client, not even what is queued: the writer closes 4003."""
        self.dropped = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(REVOKED)

    async def next_text(self) -> str:
        return await self.queue.get()


@dataclass
class Room:
    section_id: int
    loader: Loader
    head: int = 0
    state: OpeningState = field(default_factory=OpeningState)
    texts: list[dict[str, str | None]] = field(default_factory=list)
    connections: set[Connection] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    loaded: bool = False
    _state_json: tuple[int, str] = (-1, "")

    def state_json(self) -> str:
        """The room state as JSON, made once per head (every joining client gets it)."""
        if self._state_json[0] != self.head:
            self._state_json = (self.head, json.dumps(
                self.state.snapshot(), ensure_ascii=False, separators=(",", ":")))
        return self._state_json[1]

    async def refresh(self) -> int:
        async with self.lock:
            await self._load()
            return self.head

    async def _load(self) -> list[dict[str, str | None]]:
        fresh = await self.loader(self.section_id, self.head)
        rendered = []
        for event in fresh:
            if event.seq != self.head + 1:
                # Sequences are gapless per aggregate; anything else is a bug worth stopping on.
                raise RuntimeError(f"room {self.section_id}: expected event {self.head + 1}, "
                                   f"got {event.seq}")
            self.state.apply(event.seq, event.type, event.payload, event.at)
            texts = render(event.seq, event.type, event.payload, event.at,
                           self.state.public_bid_id)
            self.texts.append(texts)
            rendered.append(texts)
            self.head = event.seq
        for texts in rendered:
            self._fan_out(texts)
        return rendered

    def _fan_out(self, texts: dict[str, str | None]) -> None:
        for connection in list(self.connections):
            text = texts[connection.view]
            if text is not None and not connection.offer(text):
                self.connections.discard(connection)

    async def join(self, connection: Connection, after: int,
                   welcome: Callable[[int, str], str]) -> int:
        """Queues the welcome (state as of the head), the events after ``after``, and from
        then on every live event. Returns the head at joining."""
        async with self.lock:
            if not self.loaded:
                # Afterwards every commit wakes the room (in-process, or the backplane's
                # notification), so a joining client need not read the log again.
                await self._load()
                self.loaded = True
            connection.offer(welcome(self.head, self.state_json()))
            for texts in self.texts[after:]:
                text = texts[connection.view]
                if text is not None and not connection.offer(text):
                    return self.head
            self.connections.add(connection)
            return self.head

    def leave(self, connection: Connection) -> None:
        self.connections.discard(connection)

    def tell_all(self, make: Callable[[int], str]) -> None:
        """A message for every connection (the periodic server time), made once."""
        text = make(self.head)
        for connection in list(self.connections):
            if not connection.offer(text):
                self.connections.discard(connection)

