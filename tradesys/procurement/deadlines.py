"""Time-driven transitions: bidding closes at the bid deadline.

Driven from the database (sections still tendering whose deadline has passed), so a pass after
a restart closes everything that fell due while the server was down. Each section closes in its
own transaction, re-checked under a row lock, so two schedulers never close one twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tradesys.clock import Clock, isoformat_utc
from tradesys.db.database import Database
from tradesys.events.log import Actor, append_event
from tradesys.procurement.kinds import SectionState
from tradesys.procurement.models import Section


async def close_due_sections(db: Database, clock: Clock) -> list[int]:
    now = clock.now()
    async with db.reading() as session:
        due = list(
            (
                await session.execute(
                    select(Section.id)
                    .where(
                        Section.state == SectionState.TENDERING.value, Section.bid_deadline <= now
                    )
                    .order_by(Section.bid_deadline, Section.id)
                )
            ).scalars()
        )
    closed = []
    for section_id in due:
        async with db.transaction() as session:
            section = await session.get(
                Section, section_id, with_for_update=True, populate_existing=True
            )
            at = clock.now()
            if (
                section is None
                or section.state != SectionState.TENDERING
                or section.bid_deadline is None
                or section.bid_deadline > at
            ):
                continue
            section.state = SectionState.CLOSED.value
            section.closed_at = at
            await append_event(
                session,
                actor=Actor.system(),
                at=at,
                aggregate_type="section",
                aggregate_id=section.id,
                project_id=section.project_id,
                type="section.closed",
                payload={
                    "code": section.code,
                    "bid_deadline": isoformat_utc(section.bid_deadline),
                    "lag_ms": _lag_ms(section.bid_deadline, at),
                },
            )
            closed.append(section.id)
    return closed


def _lag_ms(due: datetime, at: datetime) -> int:
    return max(0, int((at - due).total_seconds() * 1000))


async def oldest_overdue(db: Database, clock: Clock) -> datetime | None:
    """The deadline of the section that should have closed longest ago (scheduler lag)."""
    async with db.reading() as session:
        return (
            await session.execute(
                select(Section.bid_deadline)
                .where(
                    Section.state == SectionState.TENDERING.value,
                    Section.bid_deadline <= clock.now(),
                )
                .order_by(Section.bid_deadline)
                .limit(1)
            )
        ).scalar_one_or_none()
