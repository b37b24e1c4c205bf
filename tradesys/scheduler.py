"""The scheduler: runs the time-driven transitions against the server clock.

It wakes every ``interval`` seconds, and at once when the clock jumps (tests and the demo move
the clock instead of waiting). Everything it does is derived from the database, so it needs no
state of its own to survive a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.procurement.deadlines import close_due_sections

log = logging.getLogger("tradesys.scheduler")

Job = Callable[[Database, Clock], Awaitable[object]]

JOBS: tuple[Job, ...] = (close_due_sections,)


class Scheduler:
    def __init__(
        self, db: Database, clock: Clock, *, interval: float = 1.0, jobs: tuple[Job, ...] = JOBS
    ) -> None:
        self.db = db
        self.clock = clock
        self.interval = interval
        self.jobs = jobs
        self.passes = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run_once(self) -> None:
        for job in self.jobs:
            try:
                await job(self.db, self.clock)
            except Exception:
                log.exception("scheduler job failed", extra={"job": job.__name__})
        self.passes += 1

    def wake(self) -> None:
        """Thread-safe: may be called from the clock's owner in another thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            await self.run_once()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.clock.subscribe(self.wake)
        self._task = asyncio.create_task(self._run(), name="tradesys-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
