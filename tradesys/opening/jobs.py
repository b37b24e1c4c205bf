"""The opening's time-driven steps, run by the scheduler: publish the bid list once a section
has closed, open bids as their shares arrive, and end the decryption window when it is over.

Like every scheduler job they derive all they need from the database, so a pass after a restart
(or in a second process) picks up exactly where the opening stands.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.events.log import Actor
from tradesys.opening.ceremony import advance_decryption, load, publish_bid_list
from tradesys.opening.models import Opening
from tradesys.opening.state import DECRYPTING, WAITING, OpeningState
from tradesys.procurement.kinds import SectionState
from tradesys.procurement.models import Section
from tradesys.procurement.rules import RuleBook
from tradesys.scheduler import Job
from tradesys.storage import FileStore


def _due(state: OpeningState, now: object) -> bool:
    """Whether a decryption pass would change anything (checked before taking the lock)."""
    if state.paused or len(state.holder_shares) < state.threshold:
        return False
    if state.window_ends_at is not None and now >= state.window_ends_at:  # type: ignore[operator]
        return True
    undecided = state.undecided()
    return not undecided or any(b.share_released for b in undecided)


def opening_jobs(rules: RuleBook, store: FileStore, opened_dir: Path) -> tuple[Job, ...]:
    async def publish_bid_lists(db: Database, clock: Clock) -> list[int]:
        async with db.reading() as session:
            due = list((await session.execute(
                select(Section.id).outerjoin(Opening, Opening.section_id == Section.id)
                # A host's chat or announcement before the deadline makes the row (phase
                # waiting): such a section is due too, or its opening would never start.
                .where(Section.state == SectionState.CLOSED.value,
                       Opening.section_id.is_(None) | (Opening.phase == WAITING))
                .order_by(Section.bid_deadline, Section.id))).scalars())
        published = []
        for section_id in due:
            async with db.transaction() as session:
                if await publish_bid_list(session, section_id, clock.now(), rules) is not None:
                    published.append(section_id)
        return published

    async def advance_decryptions(db: Database, clock: Clock) -> list[int]:
        async with db.reading() as session:
            running = list((await session.execute(
                select(Opening.section_id).where(Opening.phase == DECRYPTING,
                                                 Opening.paused.is_(False)))).scalars())
            due = [section_id for section_id in running
                   if _due((await load(session, section_id, lock=False)).state, clock.now())]
        advanced = []
        for section_id in due:
            async with db.transaction() as session:
                ctx = await load(session, section_id)
                progress = await advance_decryption(session, ctx, Actor.system(), clock.now(),
                                                    store, opened_dir)
                if progress.opened or progress.ended:
                    advanced.append(section_id)
        return advanced

    return (publish_bid_lists, advance_decryptions)
