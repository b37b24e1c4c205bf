"""Tables of projects, sections, grants, notices, documents, questions and clarifications."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradesys.db.base import Base, UTCDateTime

Money = Numeric(18, 2)


class Project(Base):
    """A tender project (招标项目), split into sections (标段/包)."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: TENDER_PROJECT_CODE, also the root of the unified deal code.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    trade_type: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    procedure: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6))
    content: Mapped[str] = mapped_column(Text)
    owner_name: Mapped[str] = mapped_column(String(200))
    procurer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    agency_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    approval_number: Mapped[str | None] = mapped_column(String(100))
    approval_dept_name: Mapped[str | None] = mapped_column(String(200))
    supervise_dept_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class ProjectGrant(Base):
    """Which organisation may act on which project, and as what.

    ``owner`` for the procurer (招标人), ``host`` for the entrusted agency (招标代理机构),
    ``supervisor`` for the supervising department, ``expert`` for panel members.
    """

    __tablename__ = "project_grants"
    __table_args__ = (UniqueConstraint("project_id", "org_id", "grant", name="uq_project_grant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    grant: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: ``active``; or, for an organisation named by another's registration (委托 must be
    #: mutual), ``pending`` until it accepts and ``declined`` if it refuses. Only an active grant
    #: lets anyone act on or see the project.
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StandingEntrustment(Base):
    """An organisation's standing consent to be named on the projects another registers
    (长期委托): a procurer that always works with one agency, or an agency that accepts every
    project of one procurer. Projects registered while it is in force need no acceptance each."""

    __tablename__ = "standing_entrustments"
    __table_args__ = (Index("ix_standing_entrustments_pair", "org_id", "counterpart_org_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The organisation that consents (the one that will be named).
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    #: The organisation whose registrations may name it.
    counterpart_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Section(Base):
    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("project_id", "lot_no", name="uq_sections_lot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    #: BID_SECTION_CODE: the project code plus a three-digit lot number.
    code: Mapped[str] = mapped_column(String(48), unique=True)
    lot_no: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    budget: Mapped[Decimal | None] = mapped_column(Money)
    ceiling_price: Mapped[Decimal | None] = mapped_column(Money)
    bid_security: Mapped[Decimal | None] = mapped_column(Money)
    state: Mapped[str] = mapped_column(String(16))
    bid_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notice(Base):
    """A public announcement: the tender notice (招标公告) or a termination notice."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_published", "published_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    doc_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    doc_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clarification_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bid_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opening_place: Mapped[str | None] = mapped_column(String(200))
    consortium_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[str | None] = mapped_column(String(200))


class TenderDocument(Base):
    """A tender document file (招标文件), stored by its SHA-256 under the data directory."""

    __tablename__ = "tender_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DocumentObtain(Base):
    """Who obtained the tender documents and when (获取招标文件记录)."""

    __tablename__ = "document_obtains"
    __table_args__ = (Index("ix_document_obtains_project_org", "project_id", "org_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("tender_documents.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    obtained_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Question(Base):
    """A bidder's question on the documents. Answers are published without the asker's name."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("public_id", name="uq_questions_public_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What the API names it by: random, so that ids do not show how many questions others
    #: asked (hidden from a bidder until answered).
    public_id: Mapped[str] = mapped_column(String(32),
                                           default=lambda: secrets.token_urlsafe(16))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    asked_by_org: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    asked_by_user: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Clarification(Base):
    """A clarification or amendment (澄清/修改) of the tender documents."""

    __tablename__ = "clarifications"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_clarifications_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    changes_bid_content: Mapped[bool] = mapped_column(Boolean)
    previous_bid_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    new_bid_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("tender_documents.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
