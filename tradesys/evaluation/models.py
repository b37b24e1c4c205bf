"""Tables of the expert pool and the committees: the index rows of the ``expert`` and
``panel`` events (the events are the truth; these rows are written in the same transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradesys.db.base import Base, UTCDateTime


class ExpertProfile(Base):
    """An evaluation expert of the pool (评标专家库): a user of role ``expert``."""

    __tablename__ = "expert_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    #: JSON array of specialty codes, sorted.
    specialties: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(String(6))
    #: JSON array of the credit codes of organisations the expert is tied to, sorted.
    ties: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PanelDraw(Base):
    """One draw for a section: ``full`` (the committee) or ``replacement`` (one seat)."""

    __tablename__ = "panel_draws"
    __table_args__ = (UniqueConstraint("section_id", "number", name="uq_panel_draws_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    #: 1, 2, … per section, as in the events.
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    #: ``committed`` (seed hash logged), ``revealed`` (seed and members logged) or
    #: ``abandoned`` (never revealed; a later full draw took its place, with a reason).
    state: Mapped[str] = mapped_column(String(16))
    seats: Mapped[int] = mapped_column(Integer)
    commitment: Mapped[str] = mapped_column(String(64))
    #: The panel request (JSON: size, specialties, regions, representatives).
    request: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PanelMember(Base):
    """A seat on a section's committee: a drawn expert or a procurer's representative."""

    __tablename__ = "panel_members"
    __table_args__ = (Index("ix_panel_members_section_status", "section_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    draw_id: Mapped[int] = mapped_column(ForeignKey("panel_draws.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: ``expert`` (drawn) or ``representative`` (named by the procurer, not drawn).
    kind: Mapped[str] = mapped_column(String(16))
    seat: Mapped[int] = mapped_column(Integer)
    #: ``active``, ``withdrawn`` (declared a conflict; their conclusions are void, 条例 Art. 48)
    #: or ``superseded`` (a later full draw replaced the whole committee).
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
