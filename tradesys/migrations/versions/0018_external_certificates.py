"""contract certificates from an external CA: which rows are external, and their chains

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contract_certificates") as batch:
        batch.add_column(sa.Column("external", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("chain_pem", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contract_certificates") as batch:
        batch.drop_column("chain_pem")
        batch.drop_column("external")
