"""publicity of the candidates, objections, awards and their notices, failed tenders (公示,
异议, 定标)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "publicities",
        sa.Column("section_id", sa.Integer(), sa.ForeignKey("sections.id"), primary_key=True),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notices.id"), nullable=False),
        sa.Column("published_at", UTC_TIME, nullable=False),
        sa.Column("publish_by", UTC_TIME, nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("ends_at", UTC_TIME, nullable=False),
        sa.Column("ended_at", UTC_TIME, nullable=True),
    )
    op.create_index("ix_publicities_ends_at", "publicities", ["ends_at"])
    op.create_table(
        "objections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("section_id", sa.Integer(), sa.ForeignKey("sections.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("raised_at", UTC_TIME, nullable=False),
        sa.Column("answer_by", UTC_TIME, nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", UTC_TIME, nullable=True),
        sa.Column("answered_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.UniqueConstraint("section_id", "number", name="uq_objections_number"),
    )
    op.create_index("ix_objections_section_id", "objections", ["section_id"])
    op.create_table(
        "awards",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("section_id", sa.Integer(), sa.ForeignKey("sections.id"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("price", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("awarded_at", UTC_TIME, nullable=False),
        sa.Column("awarded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notices.id"), nullable=False),
        sa.Column("declined_at", UTC_TIME, nullable=True),
        sa.Column("declined_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("section_id", "round", name="uq_awards_round"),
    )
    op.create_index("ix_awards_section_id", "awards", ["section_id"])
    op.create_table(
        "award_notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("award_id", sa.Integer(), sa.ForeignKey("awards.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("addressee_org_id", sa.Integer(), sa.ForeignKey("organisations.id"),
                  nullable=False),
        sa.Column("document_id", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("public_id", name="uq_award_notices_public_id"),
    )
    op.create_index("ix_award_notices_award_id", "award_notices", ["award_id"])
    op.create_index("ix_award_notices_addressee_org_id", "award_notices", ["addressee_org_id"])
    op.create_table(
        "tender_failures",
        sa.Column("section_id", sa.Integer(), sa.ForeignKey("sections.id"), primary_key=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notices.id"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tender_failures")
    op.drop_index("ix_award_notices_addressee_org_id", table_name="award_notices")
    op.drop_index("ix_award_notices_award_id", table_name="award_notices")
    op.drop_table("award_notices")
    op.drop_index("ix_awards_section_id", table_name="awards")
    op.drop_table("awards")
    op.drop_index("ix_objections_section_id", table_name="objections")
    op.drop_table("objections")
    op.drop_index("ix_publicities_ends_at", table_name="publicities")
    op.drop_table("publicities")
