"""The scheduler: runs the time-driven transitions against the server clock.

Everything it does is derived from the database, so it needs no state of its own to survive a
restart: the first pass after a start catches up on whatever fell due while it was down.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from tradesys.award.publicity import end_due_publicities
from tradesys.background import Background
from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.procurement.deadlines import close_due_sections

log = logging.getLogger("tradesys.scheduler")

Job = Callable[[Database, Clock], Awaitable[object]]

JOBS: tuple[Job, ...] = (close_due_sections, end_due_publicities)


class Scheduler(Background):
    name = "tradesys-scheduler"

    def __init__(self, db: Database, clock: Clock, *, interval: float = 1.0,
                 jobs: tuple[Job, ...] = JOBS,
                 on_change: Callable[[], None] | None = None) -> None:
        super().__init__(clock, interval)
        self.db = db
        self.jobs = jobs
        self.on_change = on_change
        self.passes = 0
        #: When the last pass ended, on the server clock (the console shows it).
        self.last_pass_at: datetime | None = None

    async def run_once(self) -> None:
        changed = False
        for job in self.jobs:
            try:
                changed = bool(await job(self.db, self.clock)) or changed
            except Exception:
                log.exception("scheduler job failed", extra={"job": job.__name__})
            else:
                # Tell the listeners (the hall's rooms, the relay) after each job that changed
                # something, so the next job's work is not held back by this one's.
                if changed and self.on_change is not None:
                    self.on_change()
                    changed = False
        self.passes += 1
        self.last_pass_at = self.clock.now()
