"""The pull face: releases in commit order, and records compiled per ``ocid``.

The cursor is the event sequence number. Appends to the event log are serialised by the chain
head lock, so sequence order is commit order: a reader that has seen ``seq = N`` can never
later find a committed release with a smaller number (the flaw of timestamp cursors).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.events.models import Event, OutboxRow
from tradesys.procurement.models import Project
from tradesys.reporting.facts import EventFacts, ReportingSettings
from tradesys.reporting.ocds import build_release
from tradesys.reporting.report import registration_of

#: The event that makes a project public: before it, nothing of the project is in a feed.
ANNOUNCED = "notice.published"


async def _announced_at(session: AsyncSession, project_ids: set[int]) -> dict[int, int]:
    """The sequence number of each project's first published notice (absent: unannounced)."""
    if not project_ids:
        return {}
    rows = await session.execute(
        select(Event.project_id, func.min(Event.seq))
        .where(Event.project_id.in_(project_ids), Event.type == ANNOUNCED)
        .group_by(Event.project_id))
    return {project_id: seq for project_id, seq in rows.all() if project_id is not None}


async def releases_after(session: AsyncSession, settings: ReportingSettings, cursor: int,
                         limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """Up to ``limit`` releases after the cursor, and the last event seq scanned.

    A registered project is not public until its notice is published (the API answers 404
    for it to anyone but its parties), so its releases from before the notice (the planning
    release) are served at the notice's place in the feed, just before it: the notice commits
    after any cursor that passed them, so no reader misses them. A page may therefore hold
    those few releases beyond ``limit``.
    """
    releases: list[dict[str, Any]] = []
    registrations: dict[int, EventFacts] = {}
    last: int | None = None

    async def add(topic: str, project_id: int, event: Event) -> None:
        if project_id not in registrations:
            registrations[project_id] = await registration_of(session, project_id)
        releases.append(build_release(topic, EventFacts.of(event), registrations[project_id],
                                      settings))

    while len(releases) < limit:
        rows = (
            await session.execute(
                select(OutboxRow.topic, OutboxRow.project_id, Event)
                .join(Event, Event.seq == OutboxRow.event_seq)
                .where(OutboxRow.event_seq > (cursor if last is None else last))
                .order_by(OutboxRow.event_seq)
                .limit(limit - len(releases))
            )
        ).all()
        if not rows:
            break
        announced = await _announced_at(session, {row[1] for row in rows})
        for topic, project_id, event in rows:
            last = event.seq
            notice = announced.get(project_id)
            if notice is None or event.seq < notice:
                continue  # not public yet: served with the notice, when it comes
            if event.seq == notice:
                earlier = (await session.execute(
                    select(OutboxRow.topic, Event).join(Event, Event.seq == OutboxRow.event_seq)
                    .where(OutboxRow.project_id == project_id, OutboxRow.event_seq < notice)
                    .order_by(OutboxRow.event_seq))).all()
                for earlier_topic, earlier_event in earlier:
                    await add(earlier_topic, project_id, earlier_event)
            await add(topic, project_id, event)
    return releases, last


async def releases_of_project(session: AsyncSession, settings: ReportingSettings,
                              project_code: str) -> list[dict[str, Any]] | None:
    """The project's releases, or None when there is no such project or it is unannounced."""
    project_id = (
        await session.execute(select(Project.id).where(Project.code == project_code))
    ).scalar_one_or_none()
    if project_id is None or not await _announced_at(session, {project_id}):
        return None
    rows = (
        await session.execute(
            select(OutboxRow.topic, Event).join(Event, Event.seq == OutboxRow.event_seq)
            .where(OutboxRow.project_id == project_id).order_by(OutboxRow.event_seq)
        )
    ).all()
    registration = await registration_of(session, project_id)
    return [build_release(topic, EventFacts.of(event), registration, settings)
            for topic, event in rows]


def _merge(base: Any, update: Any) -> Any:
    """OCDS merge, simplified to what our releases use: objects merge field by field, arrays
    of objects with ids merge by id, anything else is replaced by the newer value."""
    if isinstance(base, dict) and isinstance(update, dict):
        merged = dict(base)
        for key, value in update.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    if (isinstance(base, list) and isinstance(update, list) and update
            and all(isinstance(item, dict) and "id" in item for item in base + update)):
        by_id = {item["id"]: item for item in base}
        for item in update:
            by_id[item["id"]] = _merge(by_id.get(item["id"], {}), item)
        return list(by_id.values())
    return update


def compile_record(ocid: str, releases: list[dict[str, Any]]) -> dict[str, Any]:
    compiled: dict[str, Any] = {}
    for release in releases:
        compiled = _merge(compiled, {k: v for k, v in release.items() if k != "tag"})
    compiled.update(id=f"{releases[-1]['id']}-compiled", tag=["compiled"])
    return {"ocid": ocid, "releases": releases, "compiledRelease": compiled}
