"""the public feed's own sequence (outbox.public_seq); an index for the chat limit

The pull feed's cursor was the event sequence number, so the gap between two public releases
counted every event on the platform in between, bids before the deadline included. A release
now gets its own number when it becomes public (its project's first notice), in publication
order, gapless: existing rows are numbered here as the feed served them.

The hall's chat limit holds across server processes by counting the user's recent messages in
the log: ``ix_events_actor_type_at`` makes that a short index range.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_actor_type_at", "events",
                    ["actor_user_id", "type", "occurred_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("public_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                   nullable=True))
        batch.create_unique_constraint("uq_outbox_public_seq", ["public_seq"])
    bind = op.get_bind()
    announced = dict(bind.execute(sa.text(
        "SELECT project_id, MIN(seq) FROM events WHERE type = 'notice.published' "
        "AND project_id IS NOT NULL GROUP BY project_id")).all())
    rows = bind.execute(sa.text(
        "SELECT id, event_seq, project_id FROM outbox ORDER BY event_seq")).all()
    # The order the feed served them in: each row at its own place, or (before its project's
    # notice) at the notice's place, just before it.
    placed = sorted(
        ((max(event_seq, announced[project_id]), event_seq, row_id)
         for row_id, event_seq, project_id in rows if project_id in announced))
    for number, (_place, _seq, row_id) in enumerate(placed, start=1):
        bind.execute(sa.text("UPDATE outbox SET public_seq = :n WHERE id = :id"),
                     {"n": number, "id": row_id})


def downgrade() -> None:
    op.drop_index("ix_events_actor_type_at", table_name="events")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_public_seq", type_="unique")
        batch.drop_column("public_seq")
