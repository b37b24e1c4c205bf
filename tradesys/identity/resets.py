"""One-time password reset links (重置密码链接): the admin issues one, its holder sets a new
password once.

Why so: the operator must be able to get a locked-out user back in without ever knowing (or
choosing) the password. The link's token is shown once to the admin and stored as its SHA-256
only, like sessions; it is looked up by that digest and compared in constant time; it works once,
until it expires (``TRADESYS_PASSWORD_RESET_TTL_SECONDS``, on the server clock), and not after a
newer link for the same user. Using it ends every session and API token the user holds: whoever
had the old password is out. Neither the token nor the password is ever logged or put in an
event.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict, Invalid, NotFound
from tradesys.events.log import Actor, append_event
from tradesys.identity.models import ApiToken, LoginSession, PasswordReset, User
from tradesys.identity.passwords import MIN_LENGTH, hash_password
from tradesys.identity.service import new_token, org_active, token_digest

PREFIX = "rst"


@dataclass(frozen=True)
class IssuedReset:
    token: str
    reset: PasswordReset


def _invalid() -> NotFound:
    return NotFound("reset_not_found",
                    "重置链接无效：请向平台运维人员索取新的链接 (this reset link is not valid)")


async def issue_reset(session: AsyncSession, *, user_id: int, actor: Actor, at: datetime,
                      ttl: timedelta) -> IssuedReset:
    """A new link for the user; any earlier link of theirs still unused stops working."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user_not_found", "用户不存在 (no such user)")
    if not user.active:
        raise Conflict("user_disabled",
                       "该用户已停用，请先启用再重置密码 (the user is disabled: enable it first)")
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None),
               PasswordReset.revoked_at.is_(None))
        .values(revoked_at=at))
    token = new_token(PREFIX)
    row = PasswordReset(token_hash=token_digest(token), user_id=user_id,
                        created_by=actor.user_id, created_at=at, expires_at=at + ttl)
    session.add(row)
    await session.flush()
    await append_event(session, actor=actor, at=at, aggregate_type="user", aggregate_id=user_id,
                       type="user.password_reset_issued",
                       payload={"reset_id": row.id, "expires_at": row.expires_at.isoformat()})
    return IssuedReset(token, row)


async def redeem_reset(session: AsyncSession, *, token: str, password: str, actor: Actor,
                       at: datetime) -> User:
    """Set the user's new password with a link's token, once. A refused attempt (unknown,
    used, expired or superseded link, weak password) changes nothing."""
    digest = token_digest(token)
    row = (await session.execute(
        select(PasswordReset).where(PasswordReset.token_hash == digest).with_for_update()
    )).scalar_one_or_none()
    # The index lookup finds the row by a digest the caller cannot choose; the comparison is
    # constant-time all the same, so no timing tells how much of a digest matched.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise _invalid()
    if row.used_at is not None:
        raise Conflict("reset_used",
                       "此重置链接已使用过，不能再次使用 (this reset link was already used)")
    if row.revoked_at is not None:
        raise Conflict("reset_superseded",
                       "此重置链接已被更新的链接取代 (a newer reset link replaced this one)")
    if row.expires_at <= at:
        raise Conflict("reset_expired",
                       "此重置链接已过期，请向平台运维人员索取新的链接 (this reset link expired)")
    user = await session.get(User, row.user_id)
    if user is None or not user.active or not await org_active(session, user.org_id):
        raise _invalid()
    if len(password) < MIN_LENGTH:
        raise Invalid(
            "weak_password",
            f"密码至少 {MIN_LENGTH} 位 (the password needs at least {MIN_LENGTH} characters)",
        )
    user.password_hash = hash_password(password)
    row.used_at = at
    sessions = await session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=at))
    tokens = await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at))
    await append_event(session, actor=Actor(user_id=user.id, org_id=user.org_id, ip=actor.ip,
                                            user_agent=actor.user_agent),
                       at=at, aggregate_type="user", aggregate_id=user.id,
                       type="user.password_reset",
                       payload={"reset_id": row.id,
                                "sessions_revoked": int(sessions.rowcount),  # type: ignore[attr-defined]
                                "tokens_revoked": int(tokens.rowcount)})  # type: ignore[attr-defined]
    return user
