"""bid opening hall: the openings index, and commit notifications for the hall's rooms

On PostgreSQL every inserted event notifies channel ``tradesys_events`` with
``aggregate_type:aggregate_id:aggregate_seq`` (a few bytes, far under the 8000-byte cap). The
notification is sent at commit, so a room in any process reads only committed events.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "openings",
        sa.Column("section_id", sa.Integer(), sa.ForeignKey("sections.id"), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_sha256", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_openings_phase", "openings", ["phase"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('tradesys_events', NEW.aggregate_type || ':' ||
                                  NEW.aggregate_id || ':' || NEW.aggregate_seq);
                RETURN NULL;
            END $$
            """
        )
        op.execute("CREATE TRIGGER events_notify AFTER INSERT ON events "
                   "FOR EACH ROW EXECUTE FUNCTION events_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_notify ON events")
        op.execute("DROP FUNCTION IF EXISTS events_notify()")
    op.drop_index("ix_openings_phase", table_name="openings")
    op.drop_table("openings")
