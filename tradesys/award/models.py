"""Tables of the evaluation report: index rows of the ``evaluation.report_*`` events (the
events are the truth; these rows are written in the same transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
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
