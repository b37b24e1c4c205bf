"""Tables of the event log, its chain head, and the report outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradesys.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Event(Base):
    """One state change. Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint(
            "aggregate_type", "aggregate_id", "aggregate_seq", name="uq_events_aggregate_seq"
        ),
        Index("ix_events_project", "project_id", "seq"),
        #: A user's recent events of a type: the chat limit across processes (0010).
        Index("ix_events_actor_type_at", "actor_user_id", "type", "occurred_at"),
    )

    #: Position in the global chain; assigned under the chain-head lock, so it is commit order.
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    aggregate_type: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    aggregate_seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_org_id: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ChainHead(Base):
    """The single row every event writer locks: it serializes appends to the global chain."""

    __tablename__ = "event_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))


class OutboxRow(Base):
    """A report owed to the public service platform, written with its event (invariant 4)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_project", "status", "project_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_seq: Mapped[int] = mapped_column(ForeignKey("events.seq"), unique=True)
    project_id: Mapped[int | None] = mapped_column(Integer)
    #: The platform data set this event is reported as (TENDER_PROJECT, NOTICE, ...).
    topic: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: A relay that took the row owns it until then; another relay may take it after.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The release's place in the public feed (1, 2, 3, … in publication order, gapless),
    #: set when it becomes public (its project's first notice; at once after it); null while
    #: not public. The feed's cursor: unlike ``event_seq`` it counts nothing else.
    public_seq: Mapped[int | None] = mapped_column(BigId, unique=True)
