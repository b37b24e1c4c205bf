"""Appending to the event log.

Each event's ``hash`` is SHA-256 over the canonical JSON of all its fields including
``prev_hash``, the hash of the event before it in the global chain. Appends take a row lock on
the chain head first, so the chain never forks and ``seq`` is the order of commit: a reader
paging by ``seq`` never skips an event committed later with a smaller number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.clock import isoformat_utc
from tradesys.events.canonical import canonical_json
from tradesys.events.models import ChainHead, Event, OutboxRow

GENESIS_HASH = "0" * 64
CHAIN_HEAD_ID = 1
#: The event that makes a project public (its notice): from then on its reports are in the
#: public feed, numbered by ``outbox.public_seq``.
PUBLISHES_PROJECT = "notice.published"


@dataclass(frozen=True)
class Actor:
    """Who caused a change, and from where (Art. 49 of the 电子招标投标办法)."""

    user_id: int | None = None
    org_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(user_agent="tradesys-scheduler")


def event_hash_material(
    *,
    seq: int,
    prev_hash: str,
    aggregate_type: str,
    aggregate_id: str,
    aggregate_seq: int,
    type: str,
    project_id: int | None,
    payload: str,
    actor_user_id: int | None,
    actor_org_id: int | None,
    ip: str | None,
    user_agent: str | None,
    occurred_at: datetime,
) -> bytes:
    return canonical_json(
        {
            "seq": seq,
            "prev_hash": prev_hash,
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
            "aggregate_seq": aggregate_seq,
            "type": type,
            "project_id": project_id,
            "payload": payload,
            "actor_user_id": actor_user_id,
            "actor_org_id": actor_org_id,
            "ip": ip,
            "user_agent": user_agent,
            "occurred_at": isoformat_utc(occurred_at),
        }
    )


def hash_event_row(row: Event) -> str:
    material = event_hash_material(
        seq=row.seq,
        prev_hash=row.prev_hash,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        aggregate_seq=row.aggregate_seq,
        type=row.type,
        project_id=row.project_id,
        payload=row.payload,
        actor_user_id=row.actor_user_id,
        actor_org_id=row.actor_org_id,
        ip=row.ip,
        user_agent=row.user_agent,
        occurred_at=row.occurred_at,
    )
    return hashlib.sha256(material).hexdigest()


async def append_event(
    session: AsyncSession,
    *,
    actor: Actor,
    at: datetime,
    aggregate_type: str,
    aggregate_id: str | int,
    type: str,
    payload: dict[str, Any],
    project_id: int | None = None,
    report_as: str | None = None,
) -> Event:
    """Append one event (and its outbox row when ``report_as`` names a data set).

    Must be called inside the write transaction that makes the change it records.
    """
    head = (
        await session.execute(
            select(ChainHead).where(ChainHead.id == CHAIN_HEAD_ID).with_for_update()
        )
    ).scalar_one()
    aggregate_key = str(aggregate_id)
    last = (
        await session.execute(
            select(func.max(Event.aggregate_seq)).where(
                Event.aggregate_type == aggregate_type, Event.aggregate_id == aggregate_key
            )
        )
    ).scalar_one()
    row = Event(
        seq=head.seq + 1,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_key,
        aggregate_seq=(last or 0) + 1,
        type=type,
        project_id=project_id,
        payload=canonical_json(payload).decode("utf-8"),
        actor_user_id=actor.user_id,
        actor_org_id=actor.org_id,
        ip=actor.ip,
        user_agent=(actor.user_agent or None) and actor.user_agent[:512],
        occurred_at=at,
        prev_hash=head.hash,
        hash="",
    )
    row.hash = hash_event_row(row)
    session.add(row)
    await session.flush()
    await session.execute(
        update(ChainHead).where(ChainHead.id == CHAIN_HEAD_ID).values(seq=row.seq, hash=row.hash)
    )
    if report_as is not None:
        await queue_report(session, row, report_as, at)
    elif type == PUBLISHES_PROJECT:
        await number_public_reports(session, project_id)
    return row


async def queue_report(session: AsyncSession, event: Event, topic: str, at: datetime) -> None:
    """Owe the platform a report of ``event`` as data set ``topic`` (one outbox row).

    Normally written with the event (``append_event(report_as=…)``); called on its own for a
    report that must wait for a later fact, e.g. a registration naming an organisation that has
    not yet accepted the entrustment is reported only once it accepts.
    """
    session.add(
        OutboxRow(
            event_seq=event.seq,
            project_id=event.project_id,
            topic=topic,
            status="pending",
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
    )
    await session.flush()
    await number_public_reports(session, event.project_id)


async def number_public_reports(session: AsyncSession, project_id: int | None) -> None:
    """Gives the project's reports not yet public their places in the public feed, once the
    project is public (its notice is in the log): the next numbers after the feed's last, in
    log order. Called with the chain head locked (every append holds it), so numbers are
    handed out one transaction at a time, in commit order, with no gaps: the difference
    between two public releases' numbers counts public releases only, never the bids,
    sign-ins or other events in between."""
    if project_id is None:
        return
    public = (await session.execute(select(Event.seq).where(
        Event.project_id == project_id, Event.type == PUBLISHES_PROJECT).limit(1))).first()
    if public is None:
        return
    waiting = (await session.execute(
        select(OutboxRow).where(OutboxRow.project_id == project_id,
                                OutboxRow.public_seq.is_(None))
        .order_by(OutboxRow.event_seq))).scalars().all()
    if not waiting:
        return
    last = (await session.execute(select(func.max(OutboxRow.public_seq)))).scalar_one() or 0
    for number, row in enumerate(waiting, start=last + 1):
        row.public_seq = number
    await session.flush()


def event_payload(row: Event) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(row.payload)
    return value
