"""contract amendments (合同变更): each amendment's document and its two signatures

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contract_amendments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("contracts.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("base_sha256", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("proposed_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("contract_id", "number", name="uq_contract_amendments_number"),
    )
    op.create_index("ix_contract_amendments_contract_id", "contract_amendments",
                    ["contract_id"])
    op.create_table(
        "contract_amendment_signatures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("amendment_id", sa.Integer(), sa.ForeignKey("contract_amendments.id"),
                  nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("certificate_id", sa.Integer(), sa.ForeignKey("contract_certificates.id"),
                  nullable=False),
        sa.Column("certify", sa.Boolean(), nullable=False),
        sa.Column("prepared_pdf", sa.LargeBinary(), nullable=False),
        sa.Column("document_digest", sa.LargeBinary(), nullable=False),
        sa.Column("reserved_start", sa.Integer(), nullable=False),
        sa.Column("reserved_end", sa.Integer(), nullable=False),
        sa.Column("signed_attributes", sa.LargeBinary(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_sha256", sa.String(length=64), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("amendment_id", "field",
                            name="uq_contract_amendment_signatures_field"),
    )
    op.create_index("ix_contract_amendment_signatures_amendment_id",
                    "contract_amendment_signatures", ["amendment_id"])


def downgrade() -> None:
    op.drop_index("ix_contract_amendment_signatures_amendment_id",
                  table_name="contract_amendment_signatures")
    op.drop_table("contract_amendment_signatures")
    op.drop_index("ix_contract_amendments_contract_id", table_name="contract_amendments")
    op.drop_table("contract_amendments")
