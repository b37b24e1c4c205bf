"""Registered public encryption keys: bidders' (bound to their organisation) and key holders'.

Only public keys ever reach the server; the private halves stay with their owners (browser
IndexedDB or a password-protected file).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.errors import EnvelopeError
from tradesys.bids.keys import key_id, load_public_key, public_key_bytes, public_key_text
from tradesys.bids.models import EncryptionKey
from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.events.log import append_event
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role


class KeyPurpose(StrEnum):
    BIDDER = "bidder"  # seals bids: the bidder's own share of every data key
    HOLDER = "holder"  # receives a share of section opening keys
    #: ECDSA P-256: signs what its owner confirms (the opening record; an evaluation member's
    #: score sheet), verifiable by anyone.
    SIGNING = "signing"


HOLDER_ROLES = (Role.AGENCY, Role.PROCURER, Role.SUPERVISOR)


async def register_key(session: AsyncSession, principal: Principal, purpose: KeyPurpose,
                       public_key: str, now: datetime) -> EncryptionKey:
    if purpose is KeyPurpose.BIDDER:
        principal.require_role(Role.BIDDER)
    elif purpose is KeyPurpose.SIGNING:
        principal.require_role(Role.BIDDER, Role.EXPERT, *HOLDER_ROLES)
    else:
        principal.require_role(*HOLDER_ROLES)
    try:
        raw = public_key_bytes(load_public_key(public_key))
    except (EnvelopeError, ValueError) as error:
        raise Invalid("invalid_public_key", "公钥无效：须为 P-256 未压缩点的 base64url 编码 "
                      "(the public key must be a P-256 uncompressed point, base64url)") from error
    identifier = key_id(raw)
    existing = (await session.execute(
        select(EncryptionKey).where(EncryptionKey.key_id == identifier))).scalar_one_or_none()
    if existing is not None:
        raise Conflict("key_registered", "该公钥已登记 (this public key is already registered)")
    key = EncryptionKey(org_id=principal.org_id, user_id=principal.user_id, purpose=purpose.value,
                        public_key=public_key_text(load_public_key(raw)), key_id=identifier,
                        created_at=now)
    session.add(key)
    await session.flush()
    await append_event(session, actor=principal.actor, at=now, aggregate_type="organisation",
                       aggregate_id=principal.org_id, type="key.registered",
                       payload={"key_id": identifier, "purpose": purpose.value,
                                "user_id": principal.user_id, "public_key": key.public_key})
    return key


async def revoke_key(session: AsyncSession, principal: Principal, key: int,
                     now: datetime) -> EncryptionKey:
    """Revoke a registered key (撤销): from now on it seals no bid, receives no opening-key share
    and verifies no new confirmation. Needs only the login, never the private half: a key
    whose private half is lost, or kept in another browser, must still be revocable.

    What the key already did stays as it was (bids sealed with it, shares already wrapped to
    it, confirmations it signed). An organisation's bidder and signing keys may be revoked by
    any of its users of a role that registers them; a holder key only by its own user, the
    person the shares are wrapped to."""
    row = (await session.execute(
        select(EncryptionKey).where(EncryptionKey.id == key).with_for_update())
    ).scalar_one_or_none()
    if row is None or row.org_id != principal.org_id:
        raise NotFound("key_not_found", "公钥不存在 (no such key of your organisation)")
    if row.purpose == KeyPurpose.BIDDER.value:
        principal.require_role(Role.BIDDER)
    elif row.purpose == KeyPurpose.SIGNING.value:
        principal.require_role(Role.BIDDER, *HOLDER_ROLES)
    elif row.user_id != principal.user_id:
        raise Forbidden("not_key_owner", "持钥人公钥只能由其本人撤销 (only its own user revokes a "
                        "key holder's key)")
    if row.revoked_at is not None:
        raise Conflict("key_revoked", "该公钥已撤销 (the key is already revoked)")
    row.revoked_at = now
    await session.flush()
    await append_event(session, actor=principal.actor, at=now, aggregate_type="organisation",
                       aggregate_id=principal.org_id, type="key.revoked",
                       payload={"key_id": row.key_id, "purpose": row.purpose,
                                "user_id": row.user_id})
    return row


async def active_holder_key(session: AsyncSession, user_id: int) -> EncryptionKey | None:
    return (await session.execute(
        select(EncryptionKey).where(EncryptionKey.user_id == user_id,
                                    EncryptionKey.purpose == KeyPurpose.HOLDER.value,
                                    EncryptionKey.revoked_at.is_(None))
        .order_by(EncryptionKey.id.desc()).limit(1))).scalar_one_or_none()


async def bidder_key_by_point(session: AsyncSession, org_id: int,
                              raw_point: bytes) -> EncryptionKey | None:
    return (await session.execute(
        select(EncryptionKey).where(EncryptionKey.key_id == key_id(raw_point),
                                    EncryptionKey.org_id == org_id,
                                    EncryptionKey.purpose == KeyPurpose.BIDDER.value,
                                    EncryptionKey.revoked_at.is_(None)))).scalar_one_or_none()


async def signing_key(session: AsyncSession, org_id: int, identifier: str) -> EncryptionKey | None:
    """An organisation's registered, unrevoked signing key with this key id."""
    return (await session.execute(
        select(EncryptionKey).where(EncryptionKey.key_id == identifier,
                                    EncryptionKey.org_id == org_id,
                                    EncryptionKey.purpose == KeyPurpose.SIGNING.value,
                                    EncryptionKey.revoked_at.is_(None)))).scalar_one_or_none()


async def keys_of(session: AsyncSession, principal: Principal) -> list[EncryptionKey]:
    return list((await session.execute(
        select(EncryptionKey).where(EncryptionKey.org_id == principal.org_id)
        .order_by(EncryptionKey.id))).scalars())
