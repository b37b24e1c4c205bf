"""The archive's index row: one per built version of a project's archive (``archive.built``
events are the truth; the row is written in the same transaction).

Why a row at all: the next build must know the last version and its SHA-256 (a correction is a
new version that names the old one), and a retrieval must find the bag's folder, without
scanning the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradesys.db.base import Base, UTCDateTime

BigSize = BigInteger().with_variant(Integer, "sqlite")


class ArchiveVersion(Base):
    __tablename__ = "archives"
    __table_args__ = (UniqueConstraint("project_id", "version", name="uq_archives_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    #: 1, 2, … per project; a bag is never rewritten, a correction is the next version.
    version: Mapped[int] = mapped_column(Integer)
    #: The archive's SHA-256: of its ``tagmanifest-sha256.txt`` (docs/archive.md).
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: The previous version's SHA-256 (null for version 1).
    previous_sha256: Mapped[str | None] = mapped_column(String(64))
    #: The bag's folder, relative to the data directory.
    path: Mapped[str] = mapped_column(String(300))
    payload_files: Mapped[int] = mapped_column(Integer)
    payload_octets: Mapped[int] = mapped_column(BigSize)
    #: The signed tree head the events are proved against.
    tree_size: Mapped[int] = mapped_column(BigSize)
    root_hash: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    built_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
