"""token public ids and the login throttle's index

API tokens get an opaque public id (``tok_`` + 16 random bytes, base64url): what a user lists
and revokes (``DELETE /api/v1/auth/tokens/{id}``); the sequential row id is never shown, so it
says nothing about how many tokens exist. Existing tokens get one each. Login failures are
counted per (user name, address) as well: an index for that.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
    tokens = sa.table("api_tokens", sa.column("id", sa.Integer()),
                      sa.column("public_id", sa.String(length=32)))
    connection = op.get_bind()
    for (row_id,) in connection.execute(sa.select(tokens.c.id)).all():
        connection.execute(tokens.update().where(tokens.c.id == row_id).values(
            public_id="tok_" + secrets.token_urlsafe(16)))
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index("ix_api_tokens_public_id", ["public_id"], unique=True)
    op.create_index("ix_login_attempts_username_ip_at", "login_attempts",
                    ["username", "ip", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_username_ip_at", table_name="login_attempts")
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_index("ix_api_tokens_public_id")
        batch_op.drop_column("public_id")
