"""The long-lived parts one running system shares, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tradesys.bids.upload_files import UploadFiles
from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.opening.commands import OpeningCommands
from tradesys.procurement.rules import RuleBook
from tradesys.read_cache import ReadCache
from tradesys.reporting.facts import ReportingSettings
from tradesys.settings import Settings
from tradesys.storage import FileStore

if TYPE_CHECKING:  # built by the composition root; the core never imports archive at run time
    from archive.publication import TreeHeadPublisher


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    rules: RuleBook
    documents: FileStore
    reporting: ReportingSettings
    report_key: Ed25519PrivateKey
    receipt_key: Ed25519PrivateKey
    uploads: UploadFiles
    #: The opening ceremony's commands (the hall and the API both run them).
    opening: OpeningCommands
    #: Called after every committed command (the relay wakes on it).
    commit_listeners: list[Callable[[], None]] = field(default_factory=list)
    #: Public read bodies, dropped on every commit (see tradesys/read_cache.py).
    read_cache: ReadCache = field(default_factory=ReadCache)
    #: Called with a user id after a commit that may end that user's access (logout, token
    #: revoked, user disabled): the hall re-checks the user's open connections. Other
    #: processes learn it from the event's notification (PostgreSQL).
    access_listeners: list[Callable[[int], None]] = field(default_factory=list)
    #: Signs the event log's public tree heads (archive/publication.py); None: not served.
    tree_heads: TreeHeadPublisher | None = None

    def __post_init__(self) -> None:
        self.read_cache.max_entries = self.settings.read_cache_entries
        self.commit_listeners.append(self.read_cache.invalidate)

    def committed(self) -> None:
        for listener in self.commit_listeners:
            listener()

    def access_changed(self, user_id: int) -> None:
        for listener in self.access_listeners:
            listener(user_id)
