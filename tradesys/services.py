"""The long-lived parts one running system shares, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.procurement.rules import RuleBook
from tradesys.settings import Settings
from tradesys.storage import FileStore


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    rules: RuleBook
    documents: FileStore
    extras: dict[str, object] = field(default_factory=dict)
