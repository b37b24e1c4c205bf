"""The scheduler's archive job: a project is archived once it has ended.

Why it watches events rather than scanning projects: a project can only end by an event (a
contract concluded, a tender or an opening failed, the project cancelled), and the log is read
by ``seq``, its primary key, so each pass reads only the events since the last one. The first
pass after a start reads from the beginning and catches up on projects that ended while the
process was down (those with a version already are skipped; a correction is a deliberate
second build, never the scheduler's). A project whose ending event leaves other sections still
under way is checked again at its next ending event. A build that fails (a stored file
missing) is logged and tried again after the next start, not at every pass.

Wired into ``tradesys/app.py``'s scheduler beside the contract jobs (``build_archive_config``
makes its configuration from the running system's keys and settings): every project is
archived at the first pass after it ends, so an ``archive.built`` event follows the ending
event of any project taken to its end with the scheduler running (``tradesys demo`` included).
A pass that builds a large archive holds the scheduler's other jobs until it is done (the bag
is written in a worker thread, so the server itself is not held).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from archive.builder import ArchiveConfig, build_archive
from archive.ending import NotEnded
from archive.models import ArchiveVersion
from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.events.models import Event
from tradesys.scheduler import Job

log = logging.getLogger("tradesys.archive")

#: The events after which a project may have ended (archive/ending.py).
ENDING_EVENTS = ("contract.concluded", "award.failed", "opening.failed", "project.cancelled")
#: Events read per query while looking for endings.
BATCH = 5000


def archive_jobs(config: ArchiveConfig) -> tuple[Job, ...]:
    watermark = 0

    async def archive_ended_projects(db: Database, clock: Clock) -> int:
        """Builds version 1 of each project that has ended since the last pass; the number
        built."""
        nonlocal watermark
        candidates: list[int] = []
        async with db.reading() as session:
            while True:
                rows = (await session.execute(
                    select(Event.seq, Event.project_id).where(
                        Event.seq > watermark, Event.type.in_(ENDING_EVENTS))
                    .order_by(Event.seq).limit(BATCH))).all()
                for seq, project_id in rows:
                    watermark = seq
                    if project_id is not None and project_id not in candidates:
                        candidates.append(project_id)
                if len(rows) < BATCH:
                    break
            archived = set((await session.execute(select(ArchiveVersion.project_id).where(
                ArchiveVersion.project_id.in_(candidates)))).scalars()) if candidates else set()
        built = 0
        for project_id in candidates:
            if project_id in archived:
                continue
            try:
                await build_archive(db, clock, config, project_id)
            except NotEnded:
                continue
            except Exception:
                log.exception("archiving failed", extra={"project_id": project_id})
                continue
            built += 1
        return built

    return (archive_ended_projects,)
