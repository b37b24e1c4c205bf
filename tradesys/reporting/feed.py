"""The pull face: releases in publication order, and records compiled per ``ocid``.

The cursor is the release's public sequence number (``outbox.public_seq``): handed out when a
release becomes public — at once for a project whose notice is out, at the notice for what came
before it (the planning release) — one transaction at a time under the log's chain-head lock,
so the order is commit order and a reader that has seen ``N`` never later finds a public
release with a smaller number. Consecutive public releases differ by exactly 1: unlike the
event sequence, the gap counts nothing the public may not see (bids before the deadline,
sign-ins, chat). Nothing of a project is in the feed before its notice is published.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.events.models import Event, OutboxRow
from tradesys.procurement.models import Project
from tradesys.reporting.facts import EventFacts, ReportingSettings
from tradesys.reporting.ocds import build_release
from tradesys.reporting.report import registration_of


async def releases_after(session: AsyncSession, settings: ReportingSettings, cursor: int,
                         limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """Up to ``limit`` public releases after the cursor, and the public sequence number of
    the last one (None: nothing new)."""
    rows = (await session.execute(
        select(OutboxRow.topic, OutboxRow.project_id, OutboxRow.public_seq, Event)
        .join(Event, Event.seq == OutboxRow.event_seq)
        .where(OutboxRow.public_seq > cursor)
        .order_by(OutboxRow.public_seq).limit(limit))).all()
    registrations: dict[int, EventFacts] = {}
    releases: list[dict[str, Any]] = []
    last: int | None = None
    for topic, project_id, public_seq, event in rows:
        if project_id not in registrations:
            registrations[project_id] = await registration_of(session, project_id)
        releases.append(build_release(topic, EventFacts.of(event), registrations[project_id],
                                      settings))
        last = public_seq
    return releases, last


async def releases_of_project(session: AsyncSession, settings: ReportingSettings,
                              project_code: str) -> list[dict[str, Any]] | None:
    """The project's public releases, or None when there is no such project or it is not
    public (nothing of it has been published)."""
    project_id = (
        await session.execute(select(Project.id).where(Project.code == project_code))
    ).scalar_one_or_none()
    if project_id is None:
        return None
    rows = (
        await session.execute(
            select(OutboxRow.topic, Event).join(Event, Event.seq == OutboxRow.event_seq)
            .where(OutboxRow.project_id == project_id, OutboxRow.public_seq.is_not(None))
            .order_by(OutboxRow.public_seq)
        )
    ).all()
    if not rows:
        return None
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
