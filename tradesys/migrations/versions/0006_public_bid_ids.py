"""opaque public ids for bids and questions: random, not guessable, not ordered

Bid ids were one platform-wide sequence, shown to bidders (URLs, responses, receipts): a bidder
replacing its bid learned from the difference how many bids others had submitted meanwhile,
which is a secret until the deadline (办法 Art. 28); question ids showed how many questions
were hidden from a bidder. Each bid and question gets a random 128-bit url-safe
``public_id``; existing rows are backfilled with fresh random values.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("bids", "questions")


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        table = sa.table(name, sa.column("id", sa.Integer()), sa.column("public_id", sa.String()))
        for (row_id,) in bind.execute(sa.select(table.c.id)).all():
            bind.execute(table.update().where(table.c.id == row_id)
                         .values(public_id=secrets.token_urlsafe(16)))
        with op.batch_alter_table(name) as batch:
            batch.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
            batch.create_unique_constraint(f"uq_{name}_public_id", ["public_id"])


def downgrade() -> None:
    for name in reversed(TABLES):
        with op.batch_alter_table(name) as batch:
            batch.drop_constraint(f"uq_{name}_public_id", type_="unique")
            batch.drop_column("public_id")
