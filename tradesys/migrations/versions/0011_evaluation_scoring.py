"""evaluation schemes, review verdicts, signed score sheets, price explanations, clarifications
(评标办法、符合性审查、评分表、异常低价说明、澄清)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(name: str, target: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(target), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "evaluation_schemes",
        sa.Column("section_id", sa.Integer(), sa.ForeignKey("sections.id"), primary_key=True),
        sa.Column("scheme", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        _fk("set_by", "users.id"),
        _at("set_at"),
    )
    op.create_table(
        "review_verdicts",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("section_id", "sections.id"),
        _fk("member_id", "panel_members.id"),
        _fk("bid_id", "bids.id"),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _at("recorded_at"),
        sa.UniqueConstraint("member_id", "bid_id", "item", name="uq_review_verdicts_item"),
    )
    op.create_index("ix_review_verdicts_section_id", "review_verdicts", ["section_id"])
    op.create_table(
        "score_sheets",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("section_id", "sections.id"),
        _fk("member_id", "panel_members.id"),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        _at("submitted_at"),
        sa.UniqueConstraint("member_id", name="uq_score_sheets_member"),
    )
    op.create_index("ix_score_sheets_section_id", "score_sheets", ["section_id"])
    op.create_table(
        "price_explanations",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("section_id", "sections.id"),
        _fk("bid_id", "bids.id"),
        sa.Column("question", sa.Text(), nullable=False),
        _fk("requested_by", "users.id"),
        _at("requested_at"),
        _at("deadline"),
        sa.Column("answer", sa.Text(), nullable=True),
        _fk("answered_by", "users.id", nullable=True),
        _at("answered_at", nullable=True),
        sa.UniqueConstraint("bid_id", name="uq_price_explanations_bid"),
    )
    op.create_index("ix_price_explanations_section_id", "price_explanations", ["section_id"])
    op.create_table(
        "explanation_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("explanation_id", "price_explanations.id"),
        _fk("member_id", "panel_members.id"),
        sa.Column("accept", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _at("voted_at"),
        sa.UniqueConstraint("explanation_id", "member_id", name="uq_explanation_votes_member"),
    )
    op.create_index("ix_explanation_votes_explanation_id", "explanation_votes",
                    ["explanation_id"])
    op.create_table(
        "bid_clarifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("section_id", "sections.id"),
        _fk("bid_id", "bids.id"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        _fk("asked_by", "users.id"),
        _at("asked_at"),
        sa.Column("answer", sa.Text(), nullable=True),
        _fk("answered_by", "users.id", nullable=True),
        _at("answered_at", nullable=True),
        sa.UniqueConstraint("bid_id", "number", name="uq_bid_clarifications_number"),
    )
    op.create_index("ix_bid_clarifications_section_id", "bid_clarifications", ["section_id"])


def downgrade() -> None:
    for index, table in (("ix_bid_clarifications_section_id", "bid_clarifications"),
                         ("ix_explanation_votes_explanation_id", "explanation_votes"),
                         ("ix_price_explanations_section_id", "price_explanations"),
                         ("ix_score_sheets_section_id", "score_sheets"),
                         ("ix_review_verdicts_section_id", "review_verdicts")):
        op.drop_index(index, table_name=table)
        op.drop_table(table)
    op.drop_table("evaluation_schemes")
