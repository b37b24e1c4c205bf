"""bid opening: released bidder shares and per-bid outcomes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    ("bidder_share", sa.String(length=64)),
    ("share_released_at", sa.DateTime(timezone=True)),
    ("outcome", sa.String(length=16)),
    ("outcome_reason", sa.Text()),
    ("opened_at", sa.DateTime(timezone=True)),
    ("summary", sa.Text()),
]


def upgrade() -> None:
    with op.batch_alter_table("bids") as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bids") as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
