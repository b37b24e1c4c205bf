"""mutual entrustment (委托): pending grants and standing entrustments

A project registered by one organisation that names another (an agency naming the procurer, a
procurer naming its agency) gives the named organisation a *pending* grant until it accepts,
unless that organisation registered a standing entrustment for the registering one. Existing
grants stay active.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("project_grants") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False,
                                   server_default="active"))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "standing_entrustments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("counterpart_org_id", sa.Integer(), sa.ForeignKey("organisations.id"),
                  nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_standing_entrustments_pair", "standing_entrustments",
                    ["org_id", "counterpart_org_id"])


def downgrade() -> None:
    op.drop_index("ix_standing_entrustments_pair", table_name="standing_entrustments")
    op.drop_table("standing_entrustments")
    with op.batch_alter_table("project_grants") as batch:
        batch.drop_column("decided_at")
        batch.drop_column("status")
