"""Tables of the steps after the evaluation: the report (``evaluation.report_*`` events), the
publicity, objections, awards with their notices and a failed tender (``award.*`` events). The
events are the truth; these rows are written in the same transaction."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradesys.db.base import Base, UTCDateTime


class EvaluationReport(Base):
    """A section's report: drafted once from the stored result, final when every sitting
    member has signed (or is recorded as refusing without reasons)."""

    __tablename__ = "evaluation_reports"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    #: The report JSON without ``signatures`` (canonical JSON); dissents are added to it.
    body: Mapped[str] = mapped_column(Text)
    #: SHA-256 of ``body`` (tradesys.documents.evaluation_report.body_sha256).
    sha256: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReportSignature(Base):
    """One sitting member's answer to the report: ``signed`` or ``refused``."""

    __tablename__ = "report_signatures"
    __table_args__ = (UniqueConstraint("member_id", name="uq_report_signatures_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_members.id"))
    status: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(200))
    #: The body SHA-256 the signature is over.
    sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Publicity(Base):
    """The publicity of a section's candidates (中标候选人公示, 条例 Art. 54): one per section,
    from the final report; ``ended_at`` is set by the scheduler once ``ends_at`` has passed."""

    __tablename__ = "publicities"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    #: The candidates as published (canonical JSON list of rank, name, credit code, price).
    candidates: Mapped[str] = mapped_column(Text)
    #: The final report's SHA-256 the candidates come from.
    report_sha256: Mapped[str] = mapped_column(String(64))
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The rule book's latest day for publishing (report final + publicity_publish_days).
    publish_by: Mapped[datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(Boolean)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Objection(Base):
    """A bidder's objection (异议) to the candidates, raised during the publicity."""

    __tablename__ = "objections"
    __table_args__ = (UniqueConstraint("section_id", "number", name="uq_objections_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    #: 1, 2, … within the section (what the API names it by).
    number: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The rule book's deadline for the answer (raised_at + objection_answer_days).
    answer_by: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Award(Base):
    """One award (定标) of a section to a candidate; ``declined`` when the winner declines,
    after which the next award (``round`` + 1) goes to another candidate."""

    __tablename__ = "awards"
    __table_args__ = (UniqueConstraint("section_id", "round", name="uq_awards_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    credit_code: Mapped[str] = mapped_column(String(18))
    rank: Mapped[int] = mapped_column(Integer)
    price: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    #: Why a higher-ranked candidate still in the running was passed over (else null).
    reason: Mapped[str | None] = mapped_column(Text)
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    awarded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The result announcement (中标结果公告) on the public notices.
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decline_reason: Mapped[str | None] = mapped_column(Text)


class AwardNotice(Base):
    """One signed notice of an award: the award notice to the winner or a result notice to
    another bidder (documents.notices). Only the addressee's organisation downloads it."""

    __tablename__ = "award_notices"
    __table_args__ = (UniqueConstraint("public_id", name="uq_award_notices_public_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What the API names it by: random, so ids say nothing about other bidders' notices.
    public_id: Mapped[str] = mapped_column(String(32),
                                           default=lambda: secrets.token_urlsafe(16))
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    addressee_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    document_id: Mapped[str] = mapped_column(String(120))
    #: The notice file: exactly its canonical JSON, as signed.
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    #: The platform's detached Ed25519 signature (base64) and the key's fingerprint.
    signature: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TenderFailure(Base):
    """A failed tender (招标失败): the report named no candidate, or every candidate declined.
    The procurer re-tenders (a new project); this section is closed for award."""

    __tablename__ = "tender_failures"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
