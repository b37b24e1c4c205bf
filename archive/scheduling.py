"""The scheduler's archive job: a project is archived once it has ended.

Why it watches events rather than scanning projects: a project can only end by an event (a
contract concluded, a tender or an opening failed, the project cancelled), and the log is read
by ``seq``, its primary key, so each pass reads only the events since the last one. The first
pass after a start reads from the beginning and catches up on projects that ended while the
process was down (those with a version already are skipped; a correction is a deliberate
second build, never the scheduler's — but for a contract amendment concluded after the
project's newest version, ``AMENDING_EVENTS``, which the scheduler archives as the next
version). A project whose ending event leaves other sections still
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

from sqlalchemy import func, select

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
#: Events that add to the record of a project already archived: a concluded amendment of its
#: contract (合同变更) is part of the project's file (办法 Art. 40), so it gets a new version
#: (which names the previous one's SHA-256), never an edit of the old.
AMENDING_EVENTS = ("contract.amended",)
#: Events read per query while looking for endings.
BATCH = 5000


def archive_jobs(config: ArchiveConfig) -> tuple[Job, ...]:
    watermark = 0

    async def archive_ended_projects(db: Database, clock: Clock) -> int:
        """Builds version 1 of each project that has ended since the last pass; the number
        built."""
        nonlocal watermark
        candidates: list[int] = []
        amended: dict[int, int] = {}  #: project → its last amending event's seq
        async with db.reading() as session:
            while True:
                rows = (await session.execute(
                    select(Event.seq, Event.project_id, Event.type).where(
                        Event.seq > watermark,
                        Event.type.in_(ENDING_EVENTS + AMENDING_EVENTS))
                    .order_by(Event.seq).limit(BATCH))).all()
                for seq, project_id, type_ in rows:
                    watermark = seq
                    if project_id is None:
                        continue
                    if type_ in AMENDING_EVENTS:
                        amended[project_id] = seq
                    if project_id not in candidates:
                        candidates.append(project_id)
                if len(rows) < BATCH:
                    break
            # The log each project's newest version covers (tree_size = the log's size then).
            covered = dict((await session.execute(
                select(ArchiveVersion.project_id, func.max(ArchiveVersion.tree_size))
                .where(ArchiveVersion.project_id.in_(candidates))
                .group_by(ArchiveVersion.project_id))).all()) if candidates else {}
        built = 0
        for project_id in candidates:
            if project_id in covered and amended.get(project_id, 0) <= covered[project_id]:
                continue  # archived, and nothing since that its archive lacks
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
