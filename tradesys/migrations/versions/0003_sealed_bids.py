"""sealed bids: keys, opening keys, uploads, bids, bid security

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 17:59:39.284655
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "encryption_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_encryption_keys_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_encryption_keys_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encryption_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_encryption_keys_key_id")),
    )
    with op.batch_alter_table("encryption_keys", schema=None) as batch_op:
        batch_op.create_index("ix_encryption_keys_org_purpose", ["org_id", "purpose"], unique=False)
        batch_op.create_index(batch_op.f("ix_encryption_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "bid_securities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_bid_securities_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_bid_securities_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["sections.id"], name=op.f("fk_bid_securities_section_id_sections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_securities")),
        sa.UniqueConstraint("section_id", "org_id", name="uq_bid_security"),
    )
    op.create_table(
        "bid_uploads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("received", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("header_checked", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_bid_uploads_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["sections.id"], name=op.f("fk_bid_uploads_section_id_sections")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_bid_uploads_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_uploads")),
    )
    with op.batch_alter_table("bid_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bid_uploads_section_id"), ["section_id"], unique=False)

    op.create_table(
        "bids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("envelope_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bidder_key_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("receipt_signature", sa.String(length=200), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bidder_key_id"],
            ["encryption_keys.id"],
            name=op.f("fk_bids_bidder_key_id_encryption_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_bids_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["sections.id"], name=op.f("fk_bids_section_id_sections")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["users.id"], name=op.f("fk_bids_submitted_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids")),
    )
    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bids_section_id"), ["section_id"], unique=False)
        batch_op.create_index(
            "ix_bids_section_org", ["section_id", "org_id", "status"], unique=False
        )

    op.create_table(
        "opening_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=100), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("holders", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_id"], ["sections.id"], name=op.f("fk_opening_keys_section_id_sections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_keys")),
        sa.UniqueConstraint("section_id", name=op.f("uq_opening_keys_section_id")),
    )
    op.create_table(
        "opening_key_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opening_key_id", sa.Integer(), nullable=False),
        sa.Column("holder_user_id", sa.Integer(), nullable=False),
        sa.Column("holder_key_id", sa.Integer(), nullable=False),
        sa.Column("share_index", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("released", sa.Text(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["holder_key_id"],
            ["encryption_keys.id"],
            name=op.f("fk_opening_key_shares_holder_key_id_encryption_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_user_id"],
            ["users.id"],
            name=op.f("fk_opening_key_shares_holder_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["opening_key_id"],
            ["opening_keys.id"],
            name=op.f("fk_opening_key_shares_opening_key_id_opening_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_key_shares")),
        sa.UniqueConstraint("opening_key_id", "holder_user_id", name="uq_opening_share_holder"),
        sa.UniqueConstraint("opening_key_id", "share_index", name="uq_opening_share_index"),
    )
    with op.batch_alter_table("opening_key_shares", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opening_key_shares_opening_key_id"), ["opening_key_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opening_key_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opening_key_shares_opening_key_id"))

    op.drop_table("opening_key_shares")
    op.drop_table("opening_keys")
    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.drop_index("ix_bids_section_org")
        batch_op.drop_index(batch_op.f("ix_bids_section_id"))

    op.drop_table("bids")
    with op.batch_alter_table("bid_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bid_uploads_section_id"))

    op.drop_table("bid_uploads")
    op.drop_table("bid_securities")
    with op.batch_alter_table("encryption_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encryption_keys_user_id"))
        batch_op.drop_index("ix_encryption_keys_org_purpose")

    op.drop_table("encryption_keys")
