"""One report: the body pushed to the platform for one outbox row.

``{"id", "platform_code", "dataset", "event_seq", "record", "release"}`` serialised with sorted
keys: the same row always gives the same bytes, so a retry is recognisable as a retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
        "record": build_record(topic, event, registration, settings),
        "release": release,
    }
    body = json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")
    return Report(key, project_id, body, document)


async def report_for(session: AsyncSession, row: OutboxRow,
                     settings: ReportingSettings) -> Report:
    event = EventFacts.of(await session.get_one(Event, row.event_seq))
    if row.project_id is None:
        raise ValueError(f"outbox row {row.id} has no project")
    registration = await registration_of(session, row.project_id)
    return make_report(row.topic, event, registration, settings, row.project_id)
