"""A task that makes one pass every ``interval`` seconds, and at once when woken.

The scheduler and the report relay are both this: everything they do is derived from the
database, so a pass can run at any moment, twice, or after a restart, with the same result.
They wake when the clock jumps (tests and the demo move it) and when told to.
"""

from __future__ import annotations

import asyncio
import logging

from tradesys.clock import Clock

log = logging.getLogger("tradesys.background")


class Background:
    name = "tradesys-background"

    def __init__(self, clock: Clock, interval: float) -> None:
        self.clock = clock
        self.interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run_once(self) -> object:
        raise NotImplementedError

    def wake(self) -> None:
        """Thread-safe: the clock's owner may call it from another thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("background pass failed", extra={"task": self.name})
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass

    @property
    def running(self) -> bool:
        """Whether the task is started and has not ended (the console's scheduler state)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.clock.subscribe(self.wake)
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
