"""What a report is built from: immutable events, never the live tables.

A report for an event is a pure function of that event and the project's registration event,
so a report re-sent after a crash has exactly the same body (the receiver de-duplicates by
key and body) and reports what was true when the step happened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tradesys.events.models import Event


@dataclass(frozen=True)
class EventFacts:
    seq: int
    type: str
    occurred_at: datetime
    payload: dict[str, Any]
    #: The entry's hash in the log: the release's id (opaque, unlike ``seq``).
    hash: str

    @classmethod
    def of(cls, row: Event) -> EventFacts:
        return cls(row.seq, row.type, row.occurred_at, json.loads(row.payload), row.hash)


@dataclass(frozen=True)
class ReportingSettings:
    platform_code: str
    pub_service_plat_code: str
    ocid_prefix: str
    public_base_url: str
    publisher_name: str
