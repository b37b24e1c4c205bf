"""Settings read from ``TRADESYS_*`` environment variables.

With nothing set, the system runs on the embedded default: a SQLite file under ``./var/``
and no other service, so that a clean clone starts with one command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TRADESYS_{name}", default)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", "var")))
    database_url: str = ""
    #: Identifies this trading system towards the public service platform (交易系统标识码).
    platform_code: str = field(default_factory=lambda: _env("PLATFORM_CODE", "TS0000000001"))
    #: Seconds between scheduler passes; each pass also wakes when the clock is moved.
    scheduler_interval: float = field(
        default_factory=lambda: float(_env("SCHEDULER_INTERVAL", "1.0"))
    )
    #: Cookies carry the Secure flag unless explicitly served over plain HTTP (local default).
    secure_cookies: bool = field(
        default_factory=lambda: _env("SECURE_COOKIES", "false").lower() in ("1", "true", "yes")
    )
    session_ttl_seconds: int = field(
        default_factory=lambda: int(_env("SESSION_TTL_SECONDS", str(8 * 3600)))
    )
    #: Optional JSON file overriding the per-procedure period rules (see docs/rules.md).
    rules_file: str = field(default_factory=lambda: _env("RULES_FILE", ""))
    #: Largest tender document accepted, in bytes.
    max_document_bytes: int = field(
        default_factory=lambda: int(_env("MAX_DOCUMENT_BYTES", str(200 * 1024 * 1024)))
    )

    def __post_init__(self) -> None:
        if not self.database_url:
            url = os.environ.get("TRADESYS_DATABASE_URL") or default_sqlite_url(self.data_dir)
            object.__setattr__(self, "database_url", url)

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"


def default_sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'tradesys.db').resolve()}"
