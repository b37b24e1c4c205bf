"""The opening's index row: which phase each section's opening is in and when its timers fall.

The events (aggregate ``opening``) are the truth; this row is written in the same transaction
as each of them so that the scheduler finds due openings with one indexed query, and so that
commands on one opening serialize on its row lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tradesys.db.base import Base, UTCDateTime


class Opening(Base):
    __tablename__ = "openings"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    phase: Mapped[str] = mapped_column(String(16), index=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    window_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirm_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    record_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
