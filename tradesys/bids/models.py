"""Tables of sealed bidding: registered encryption keys, section opening keys and their holder
shares, resumable uploads, bids with their receipts, and bid security (保证金).

The server stores ciphertext, hashes and public keys only. The opening private key is never
stored: only its k-of-n shares, each wrapped to a holder's key.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tradesys.db.base import Base, UTCDateTime

BigSize = BigInteger().with_variant(Integer, "sqlite")


class EncryptionKey(Base):
    """A public encryption key registered by a user: a bidder's (bound to its organisation,
    for sealing bids) or a key holder's (for receiving an opening-key share)."""

    __tablename__ = "encryption_keys"
    __table_args__ = (Index("ix_encryption_keys_org_purpose", "org_id", "purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    #: The uncompressed P-256 point, base64url without padding (docs/envelope.md).
    public_key: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OpeningKey(Base):
    """A section's opening public key; bidders seal the opening share of their data key to it."""

    __tablename__ = "opening_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), unique=True)
    public_key: Mapped[str] = mapped_column(String(100))
    threshold: Mapped[int] = mapped_column(Integer)
    holders: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OpeningKeyShare(Base):
    """One holder's Shamir share of an opening key, wrapped to that holder's public key."""

    __tablename__ = "opening_key_shares"
    __table_args__ = (
        UniqueConstraint("opening_key_id", "holder_user_id", name="uq_opening_share_holder"),
        UniqueConstraint("opening_key_id", "share_index", name="uq_opening_share_index"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opening_key_id: Mapped[int] = mapped_column(ForeignKey("opening_keys.id"), index=True)
    holder_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    holder_key_id: Mapped[int] = mapped_column(ForeignKey("encryption_keys.id"))
    share_index: Mapped[int] = mapped_column(Integer)
    #: The wrapped share as JSON (tradesys.bids.shamir); only the holder's key opens it.
    wrapped: Mapped[str] = mapped_column(Text)
    #: The unwrapped share the holder released at the opening (never before the deadline);
    #: erased once every bid has its outcome (tradesys.bids.opening.erase_holder_shares).
    released: Mapped[str | None] = mapped_column(Text)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BidUpload(Base):
    """A resumable upload of one sealed envelope, written to a file under the data directory."""

    __tablename__ = "bid_uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    size: Mapped[int] = mapped_column(BigSize)
    received: Mapped[int] = mapped_column(BigSize, default=0)
    #: Set once the envelope header has arrived and matched section, bidder and keys.
    header_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: open → completed | aborted
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Bid(Base):
    """A received sealed bid. Only the latest valid one per bidder and section counts."""

    __tablename__ = "bids"
    __table_args__ = (Index("ix_bids_section_org", "section_id", "org_id", "status"),
                      UniqueConstraint("public_id", name="uq_bids_public_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What bidders see and name it by (URLs, responses, receipts): random, 128 bits, url-safe.
    #: The integer id is one platform-wide sequence; shown, it would count others' bids.
    public_id: Mapped[str] = mapped_column(String(32),
                                           default=lambda: secrets.token_urlsafe(16))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: valid | replaced | withdrawn (later: decrypted | revoked | failed at the opening)
    status: Mapped[str] = mapped_column(String(16))
    envelope_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigSize)
    bidder_key_id: Mapped[int] = mapped_column(ForeignKey("encryption_keys.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The signed receipt (回执) as issued: canonical JSON and its signature.
    receipt: Mapped[str] = mapped_column(Text)
    receipt_signature: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The bidder's data-key share, released by the bidder after the deadline (base64url).
    #: Alone it reveals nothing; with the opening share it opens this one envelope.
    bidder_share: Mapped[str | None] = mapped_column(String(64))
    share_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: decrypted | revoked (撤销: the bidder's fault) | withdrawn (撤回: not the bidder's fault)
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The bid summary (开标一览表), canonical JSON, known only once decrypted.
    summary: Mapped[str | None] = mapped_column(Text)


class BidSecurity(Base):
    """Bid security (投标保证金): declared by the bidder, confirmed or rejected by the host."""

    __tablename__ = "bid_securities"
    __table_args__ = (UniqueConstraint("section_id", "org_id", name="uq_bid_security"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    #: declared | confirmed | rejected
    status: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(32))
    amount: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(100))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
