"""``Idempotency-Key`` on writes (DESIGN.md §5).

The stored response is written in the same transaction as the write it answers, so a retry
after a lost response gets the same answer and the write happens once. A key reused with a
different request body is refused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from tradesys.db.base import Base, UTCDateTime
from tradesys.errors import Invalid

MAX_KEY_LENGTH = 200
#: Visible ASCII, no spaces: a header value survives proxies as it is (HTTP trims spaces and
#: may re-encode anything beyond ASCII), so a retry presents byte for byte the same key.
KEY_PATTERN = f"^[!-~]{{1,{MAX_KEY_LENGTH}}}$"
_KEY = re.compile(KEY_PATTERN)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotency_principal_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise Invalid(
            "invalid_idempotency_key",
            f"Idempotency-Key 须为 1–{MAX_KEY_LENGTH} 个可见 ASCII 字符 "
            f"(the key must be 1-{MAX_KEY_LENGTH} visible ASCII characters, no spaces)",
        )
    return key


async def lookup(
    session: AsyncSession, principal: str, key: str, fingerprint: str
) -> StoredResponse | None:
    record = (
        await session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
            )
        )
    ).scalar_one_or_none()
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise Invalid(
            "idempotency_key_reused",
            "该 Idempotency-Key 已用于另一个请求 "
            "(this Idempotency-Key was already used with a different request)",
        )
    return StoredResponse(record.status_code, record.response_body)


async def remember(
    session: AsyncSession,
    principal: str,
    key: str,
    fingerprint: str,
    response: StoredResponse,
    at: datetime,
) -> None:
    session.add(
        IdempotencyRecord(
            principal=principal,
            key=key,
            request_hash=fingerprint,
            status_code=response.status_code,
            response_body=response.body,
            created_at=at,
        )
    )
    await session.flush()
