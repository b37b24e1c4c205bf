"""electronic archives: one row per built version of a project's archive (issue 14)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigSize = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "archives",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("previous_sha256", sa.String(length=64), nullable=True),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("payload_files", sa.Integer(), nullable=False),
        sa.Column("payload_octets", BigSize, nullable=False),
        sa.Column("tree_size", BigSize, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("built_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.UniqueConstraint("project_id", "version", name="uq_archives_version"),
        sa.UniqueConstraint("sha256", name=op.f("uq_archives_sha256")),
    )
    op.create_index("ix_archives_project_id", "archives", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_archives_project_id", table_name="archives")
    op.drop_table("archives")
