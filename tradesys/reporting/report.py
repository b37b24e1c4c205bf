"""One report: the body pushed to the platform for one outbox row.

``{"id", "platform_code", "dataset", "event_seq", "record", "release"}`` serialised with sorted
keys: the same row always gives the same bytes, so a retry is recognisable as a retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.clock import isoformat_utc
from tradesys.events.models import Event, OutboxRow
from tradesys.reporting.dataspec import build_record
from tradesys.reporting.facts import EventFacts, ReportingSettings
from tradesys.reporting.ocds import build_release


@dataclass(frozen=True)
class Report:
    key: str
    project_id: int | None
    body: bytes
    document: dict[str, Any]
    committed_at: datetime


async def registration_of(session: AsyncSession, project_id: int) -> EventFacts:
    row = (
        await session.execute(
            select(Event).where(Event.aggregate_type == "project",
                                Event.aggregate_id == str(project_id),
                                Event.type == "project.registered")
        )
    ).scalar_one()
    return EventFacts.of(row)


def make_report(topic: str, event: EventFacts, registration: EventFacts,
                settings: ReportingSettings, project_id: int | None) -> Report:
    release = build_release(topic, event, registration, settings)
    key = f"{release['ocid']}/{release['id']}"
    document = {
        "id": key,
        "platform_code": settings.platform_code,
        "pub_service_plat_code": settings.pub_service_plat_code,
        "dataset": topic,
        "event_seq": event.seq,
        "committed_at": isoformat_utc(event.occurred_at),
        "record": build_record(topic, event, registration, settings),
        "release": release,
    }
    body = json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")
    return Report(key, project_id, body, document, event.occurred_at)


async def reports_for(session: AsyncSession, rows: list[OutboxRow],
                      settings: ReportingSettings) -> list[Report]:
    """The reports of outbox rows, in the given order (one registration lookup per project)."""
    events = {
        event.seq: event
        for event in (await session.execute(
            select(Event).where(Event.seq.in_([row.event_seq for row in rows])))).scalars()
    }
    registrations: dict[int, EventFacts] = {}
    reports = []
    for row in rows:
        if row.project_id is None:
            raise ValueError(f"outbox row {row.id} has no project")
        if row.project_id not in registrations:
            registrations[row.project_id] = await registration_of(session, row.project_id)
        reports.append(make_report(row.topic, EventFacts.of(events[row.event_seq]),
                                   registrations[row.project_id], settings, row.project_id))
    return reports


async def report_for(session: AsyncSession, row: OutboxRow,
                     settings: ReportingSettings) -> Report:
    return (await reports_for(session, [row], settings))[0]
