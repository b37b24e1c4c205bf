"""Across processes: PostgreSQL LISTEN/NOTIFY carrying sequence numbers, never documents.

Channel ``tradesys_events`` (the insert trigger of migration 0005), payload
``<aggregate_type>:<aggregate_id>:<aggregate_seq>`` — tens of bytes against the 8000-byte cap.
The room reads the events itself. A lost connection is re-established with backoff, and then
every room re-reads (notifications sent while it was away are gone, the log is not).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from hall.rooms import Rooms
from tradesys.opening.ceremony import AGGREGATE
from tradesys.strict import parse_int

log = logging.getLogger("hall.backplane")

CHANNEL = "tradesys_events"
#: The aggregate of users' events (tradesys/identity/service.py).
USER_AGGREGATE = "user"


def dsn_of(database_url: str) -> str:
    """asyncpg wants ``postgresql://``; SQLAlchemy's URL names the driver."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class PostgresBackplane:
    def __init__(self, database_url: str, rooms: Rooms,
                 listeners: list[Callable[[], None]] | None = None,
                 user_listeners: list[Callable[[int], None]] | None = None) -> None:
        self.dsn = dsn_of(database_url)
        self.rooms = rooms
        #: Told of every event any process commits (the public read cache drops its pages).
        self.listeners = list(listeners or [])
        #: Told the user id of every event on a user (a logout, a revoked token, a disabled
        #: user in any process: the hall re-checks that user's connections, hall/access.py).
        self.user_listeners = list(user_listeners or [])
        self.notifications = 0
        self._task: asyncio.Task[None] | None = None

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self.notifications += 1
        for listener in self.listeners:
            listener()
        aggregate, _, rest = payload.partition(":")
        if aggregate == USER_AGGREGATE:
            user, _, _seq = rest.partition(":")
            if user.isdigit():
                for user_listener in self.user_listeners:
                    user_listener(int(user))
            return
        if aggregate != AGGREGATE:
            return
        section, _, _seq = rest.partition(":")
        section_id = parse_int(section, maximum=2**31 - 1)
        if section_id is not None:
            self.rooms.notify(section_id)

    async def _run(self) -> None:
        import asyncpg

        delay = 0.5
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self.dsn)
                await connection.add_listener(CHANNEL, self._on_notify)
                delay = 0.5
                self.rooms.notify_all()  # anything committed while we were not listening
                for listener in self.listeners:
                    listener()
                closed = asyncio.Event()
                connection.add_termination_listener(lambda _c, done=closed: done.set())
                await closed.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("hall backplane connection lost; reconnecting", exc_info=True)
            finally:
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def start(self) -> None:
        """Starts listening in the background: the server starts (and answers /readyz with
        503) even while the database is unreachable; once listening, every room re-reads."""
        self._task = asyncio.create_task(self._run(), name="hall-backplane")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
