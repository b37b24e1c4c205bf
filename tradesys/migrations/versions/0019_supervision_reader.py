"""the supervision channel's read-only role on PostgreSQL (行政监督通道: read-only by construction)

Issue 15: supervision reads the trading data and can write none of it. On PostgreSQL that is
a role, ``tradesys_supervision``, with SELECT only: on every trading table but the secrets
(tokens, sessions, reset links, idempotent replies, opening-key shares), and on every column of
``users`` and ``bids`` but their secrets (the password hash, the bidder's released data-key
share). Nothing else is granted, and no default privilege: a table a later migration adds is
unreadable to supervision until that migration decides (tests/supervision/test_reader_role.py
fails for a table nobody decided on). Its own state will live in schema ``supervision``, which
the role owns. SQLite has no roles: supervision opens the file read-only (``mode=ro``).

The role is cluster-wide and made once (``IF NOT EXISTS``); a migrating user without CREATEROLE
gets a notice and the grants are skipped, for a database administrator to make
(docs/supervision.md). Its password, if any, is the administrator's to set.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "tradesys_supervision"
#: Tables supervision never reads: credentials and the secrets of the opening.
SECRET_TABLES = ("api_tokens", "login_sessions", "password_resets", "idempotency_keys",
                 "opening_key_shares", "alembic_version")
#: Tables supervision reads but for these columns.
SECRET_COLUMNS = {"users": ("password_hash",), "bids": ("bidder_share",)}


def _role_exists(bind: sa.engine.Connection) -> bool:
    return bool(bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"),
                             {"role": ROLE}).scalar())


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
            BEGIN
              CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
            EXCEPTION WHEN insufficient_privilege THEN
              RAISE NOTICE 'cannot create role {ROLE}: a database administrator must';
            END;
          END IF;
        END $$;
    """)
    bind = op.get_bind()
    if not _role_exists(bind):
        return
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    op.execute(f"CREATE SCHEMA IF NOT EXISTS supervision AUTHORIZATION {ROLE}")
    tables = bind.exec_driver_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name").scalars().all()
    for table in tables:
        if table in SECRET_TABLES:
            continue
        if table in SECRET_COLUMNS:
            columns = bind.execute(sa.text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'public' AND table_name = :table ORDER BY ordinal_position"),
                {"table": table}).scalars().all()
            readable = ", ".join(f'"{c}"' for c in columns if c not in SECRET_COLUMNS[table])
            op.execute(f'GRANT SELECT ({readable}) ON "{table}" TO {ROLE}')
        else:
            op.execute(f'GRANT SELECT ON "{table}" TO {ROLE}')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    if not _role_exists(op.get_bind()):
        return
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}")
    for table in SECRET_COLUMNS:
        op.execute(f'REVOKE SELECT ON "{table}" FROM {ROLE}')  # noqa: S608 (constants)
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {ROLE}")
    op.execute("DROP SCHEMA IF EXISTS supervision")
