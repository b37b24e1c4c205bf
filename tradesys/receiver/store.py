"""The receiver's own storage. Its schema is made by ``create_all`` at start: it is a reference
peer for tests and demos, not part of the trading system's migrated database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tradesys.db.base import UTCDateTime


class ReceiverBase(DeclarativeBase):
    metadata = MetaData()


class ReceivedReport(ReceiverBase):
    __tablename__ = "received_reports"

    #: Arrival order: tests check that each project's reports arrived in event order.
    arrival: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    platform_code: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(64))
    ocid: Mapped[str] = mapped_column(String(200), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
