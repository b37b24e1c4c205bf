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


# -- scoring (docs/evaluation.md §9–§16) -----------------------------------------------------

class EvaluationScheme(Base):
    """A section's evaluation scheme (评标办法), set before the notice and frozen by it."""

    __tablename__ = "evaluation_schemes"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    #: Canonical JSON of :meth:`tradesys.evaluation.scheme.Scheme.as_json`.
    scheme: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    set_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewVerdict(Base):
    """One member's pass/fail on one review item of one bid, with the reason; the latest
    recorded stands. Void once the member leaves the committee (条例 Art. 48)."""

    __tablename__ = "review_verdicts"
    __table_args__ = (UniqueConstraint("member_id", "bid_id", "item",
                                       name="uq_review_verdicts_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_members.id"))
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    item: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScoreSheet(Base):
    """A member's signed score sheet (评分表): final once submitted."""

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("member_id", name="uq_score_sheets_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_members.id"))
    #: The signed bytes: canonical JSON (tradesys.evaluation.sheets.message).
    document: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PriceExplanation(Base):
    """The written explanation of an abnormally low price (12号令 Art. 21, 87号令 Art. 60): one
    request per bid, the bidder's answer, and the members' votes (:class:`ExplanationVote`)."""

    __tablename__ = "price_explanations"
    __table_args__ = (UniqueConstraint("bid_id", name="uq_price_explanations_bid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    question: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExplanationVote(Base):
    __tablename__ = "explanation_votes"
    __table_args__ = (UniqueConstraint("explanation_id", "member_id",
                                       name="uq_explanation_votes_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    explanation_id: Mapped[int] = mapped_column(ForeignKey("price_explanations.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_members.id"))
    accept: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BidClarification(Base):
    """A clarification (澄清) asked of one bidder and its written answer (条例 Art. 52): a
    message beside the bid, never a change to it."""

    __tablename__ = "bid_clarifications"
    __table_args__ = (UniqueConstraint("bid_id", "number", name="uq_bid_clarifications_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    #: 1, 2, … per bid.
    number: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
