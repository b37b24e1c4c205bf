"""Organisations, users, login, sessions and API tokens.

Secrets (passwords, session and API tokens) are never stored or logged in the clear: passwords
as argon2id hashes, tokens as SHA-256 digests, compared in constant time by the index lookup of
a digest the caller cannot choose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict, Invalid, NotFound, Unauthenticated
from tradesys.events.log import Actor, append_event
from tradesys.identity import throttle
from tradesys.identity.credit_code import is_valid_credit_code
from tradesys.identity.models import ApiToken, LoginSession, Organisation, User
from tradesys.identity.passwords import MIN_LENGTH, hash_password, verify_password
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


async def register_organisation(
    session: AsyncSession, *, name: str, credit_code: str, actor: Actor, at: datetime
) -> Organisation:
    credit_code = credit_code.strip().upper()
    if not is_valid_credit_code(credit_code):
        raise Invalid(
            "invalid_credit_code",
            "统一社会信用代码无效：须为18位且校验位正确 "
            "(invalid unified social credit code: 18 characters with a valid check "
            "character)",
        )
    existing = (
        await session.execute(
            select(Organisation.id).where(Organisation.credit_code == credit_code)
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            "organisation_exists",
            "该统一社会信用代码已注册 (an organisation with this code exists)",
        )
    org = Organisation(name=name, credit_code=credit_code, created_at=at)
    session.add(org)
    await session.flush()
    await append_event(
        session,
        actor=actor,
        at=at,
        aggregate_type="organisation",
        aggregate_id=org.id,
        type="organisation.registered",
        payload={"name": name, "credit_code": credit_code},
    )
    return org


async def create_user(
    session: AsyncSession,
    *,
    org_id: int,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    actor: Actor,
    at: datetime,
) -> User:
    if len(password) < MIN_LENGTH:
        raise Invalid(
            "weak_password",
            f"密码至少 {MIN_LENGTH} 位 (the password needs at least {MIN_LENGTH} characters)",
        )
    if await session.get(Organisation, org_id) is None:
        raise NotFound("organisation_not_found", "机构不存在 (no such organisation)")
    taken = (
        await session.execute(select(User.id).where(User.username == username))
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict("username_taken", "用户名已被使用 (this user name is taken)")
    user = User(
        org_id=org_id,
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role.value,
        active=True,
        created_at=at,
    )
    session.add(user)
    await session.flush()
    await append_event(
        session,
        actor=actor,
        at=at,
        aggregate_type="user",
        aggregate_id=user.id,
        type="user.created",
        payload={"username": username, "org_id": org_id, "role": role.value},
    )
    return user


async def set_user_active(
    session: AsyncSession, *, user_id: int, active: bool, actor: Actor, at: datetime
) -> User:
    """Disables (or re-enables) a user. A disabled user's sessions and tokens stop working at
    once, and its open hall connections close (the event reaches every process)."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user_not_found", "用户不存在 (no such user)")
    if not active and actor.user_id == user_id:
        raise Conflict("cannot_disable_self", "不能停用自己的账户 (you cannot disable yourself)")
    if user.active == active:
        return user
    user.active = active
    await append_event(
        session,
        actor=actor,
        at=at,
        aggregate_type="user",
        aggregate_id=user.id,
        type="user.enabled" if active else "user.disabled",
        payload={"username": user.username},
    )
    return user


async def check_login(
    session: AsyncSession, *, username: str, password: str, ip: str, at: datetime
) -> User | None:
    """Verify a password, refusing while this user name from this address, or the address,
    must wait (tradesys/identity/throttle.py).

    A failure is recorded (in its own committed transaction by the caller) and returns None.
    """
    await throttle.check(session, username=username, ip=ip, at=at)
    user = (
        await session.execute(select(User).where(User.username == username))
    ).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active or not await org_active(session, user.org_id):
        return None
    await throttle.forget_pair(session, username=username, ip=ip)
    return user


async def org_active(session: AsyncSession, org_id: int) -> bool:
    """Whether the organisation is enabled: a disabled one's users are refused like disabled
    users (the console's 停用机构)."""
    return bool((await session.execute(
        select(Organisation.active).where(Organisation.id == org_id))).scalar_one_or_none())


async def record_login_failure(
    session: AsyncSession, *, username: str, ip: str, at: datetime
) -> None:
    await throttle.record_failure(session, username=username, ip=ip, at=at)


@dataclass(frozen=True)
class IssuedSession:
    token: str
    csrf_token: str
    expires_at: datetime


async def open_session(
    session: AsyncSession, *, user: User, actor: Actor, at: datetime, ttl: timedelta
) -> IssuedSession:
    token = new_token("sess")
    csrf = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=token_digest(token),
        csrf_hash=token_digest(csrf),
        user_id=user.id,
        created_at=at,
        expires_at=at + ttl,
    )
    session.add(row)
    await session.flush()
    await append_event(
        session,
        actor=actor,
        at=at,
        aggregate_type="user",
        aggregate_id=user.id,
        type="user.logged_in",
        payload={"session_id": row.id},
    )
    return IssuedSession(token, csrf, row.expires_at)


async def close_session(session: AsyncSession, *, token: str, actor: Actor, at: datetime) -> None:
    row = (
        await session.execute(
            select(LoginSession).where(LoginSession.token_hash == token_digest(token))
        )
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = at
    await append_event(
        session,
        actor=actor,
        at=at,
        aggregate_type="user",
        aggregate_id=row.user_id,
        type="user.logged_out",
        payload={"session_id": row.id},
    )


def token_ttl(ttl_days: int | None, max_days: int) -> timedelta:
    """A token's lifetime: ``max_days`` unless asked for less; more is refused (every token
    ends: a leaked one must not work for ever)."""
    if ttl_days is None:
        return timedelta(days=max_days)
    if ttl_days > max_days:
        raise Invalid(
            "token_ttl_too_long",
            f"API 令牌有效期最长 {max_days} 天 (a token lives at most {max_days} days)",
            {"max_ttl_days": max_days},
        )
    return timedelta(days=ttl_days)


def new_public_id() -> str:
    return f"tok_{secrets.token_urlsafe(16)}"


async def issue_api_token(
    session: AsyncSession,
    *,
    user_id: int,
    name: str,
    actor: Actor,
    at: datetime,
    ttl: timedelta,
) -> tuple[str, ApiToken]:
    token = new_token("tsk")
    row = ApiToken(
        public_id=new_public_id(),
        token_hash=token_digest(token),
        user_id=user_id,
        name=name,
        created_at=at,
        expires_at=at + ttl,
    )
    session.add(row)
    await session.flush()
    await append_event(
        session,
        actor=actor,
        at=at,
        aggregate_type="user",
        aggregate_id=user_id,
        type="user.token_issued",
        payload={"token_id": row.id, "public_id": row.public_id, "name": name},
    )
    return token, row


async def list_api_tokens(session: AsyncSession, *, user_id: int, at: datetime
                          ) -> list[ApiToken]:
    """The user's tokens that still work (neither revoked nor expired), newest first."""
    rows = await session.execute(
        select(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
               (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > at))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return list(rows.scalars())


async def _revoke_token_row(session: AsyncSession, row: ApiToken, *, actor: Actor,
                            at: datetime) -> None:
    row.revoked_at = at
    await append_event(
        session,
        actor=actor,
        at=at,
        aggregate_type="user",
        aggregate_id=row.user_id,
        type="user.token_revoked",
        payload={"token_id": row.id, "public_id": row.public_id},
    )


async def revoke_api_token(session: AsyncSession, *, user_id: int, public_id: str,
                           actor: Actor, at: datetime) -> ApiToken:
    """Revokes one of the user's own tokens. Another user's token, an unknown one and one
    already revoked are all "not found": the answer tells nothing about other users."""
    row = (
        await session.execute(
            select(ApiToken).where(ApiToken.public_id == public_id,
                                   ApiToken.user_id == user_id,
                                   ApiToken.revoked_at.is_(None)))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("token_not_found", "没有这个 API 令牌 (no such token)")
    await _revoke_token_row(session, row, actor=actor, at=at)
    return row


async def revoke_presented_token(session: AsyncSession, *, token_id: int, actor: Actor,
                                 at: datetime) -> None:
    """Logout with a bearer token ends that token."""
    row = await session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        await _revoke_token_row(session, row, actor=actor, at=at)


def _principal(user: User, via: str, ip: str | None, user_agent: str | None, *,
               credential_id: int, expires_at: datetime | None) -> Principal:
    return Principal(
        user_id=user.id,
        org_id=user.org_id,
        username=user.username,
        role=Role(user.role),
        ip=ip,
        user_agent=user_agent,
        via=via,
        credential_id=credential_id,
        expires_at=expires_at,
    )


async def principal_from_session(
    session: AsyncSession, *, token: str, at: datetime, ip: str | None, user_agent: str | None
) -> tuple[Principal, str]:
    """The caller of a session cookie, and the digest of its CSRF token."""
    row = (
        await session.execute(
            select(LoginSession, User, Organisation.active)
            .join(User, User.id == LoginSession.user_id)
            .join(Organisation, Organisation.id == User.org_id)
            .where(LoginSession.token_hash == token_digest(token))
        )
    ).one_or_none()
    if row is None:
        raise Unauthenticated("session_invalid", "请重新登录 (the session is not valid)")
    login, user, org_ok = row
    if login.revoked_at is not None or login.expires_at <= at or not user.active or not org_ok:
        raise Unauthenticated("session_expired", "会话已过期，请重新登录 (the session expired)")
    principal = _principal(user, "session", ip, user_agent, credential_id=login.id,
                           expires_at=login.expires_at)
    return principal, login.csrf_hash


async def principal_from_token(
    session: AsyncSession, *, token: str, at: datetime, ip: str | None, user_agent: str | None
) -> Principal:
    row = (
        await session.execute(
            select(ApiToken, User, Organisation.active)
            .join(User, User.id == ApiToken.user_id)
            .join(Organisation, Organisation.id == User.org_id)
            .where(ApiToken.token_hash == token_digest(token))
        )
    ).one_or_none()
    if row is None:
        raise Unauthenticated("token_invalid", "API 令牌无效 (the API token is not valid)")
    api_token, user, org_ok = row
    expired = api_token.expires_at is not None and api_token.expires_at <= at
    if api_token.revoked_at is not None or expired or not user.active or not org_ok:
        raise Unauthenticated("token_expired", "API 令牌已失效 (the API token expired)")
    return _principal(user, "token", ip, user_agent, credential_id=api_token.id,
                      expires_at=api_token.expires_at)


async def credential_active(session: AsyncSession, *, via: str, credential_id: int,
                            at: datetime) -> bool:
    """Whether a session or token a caller authenticated with still admits it: not revoked,
    not expired, its user not disabled (the hall asks this of open connections)."""
    table = LoginSession if via == "session" else ApiToken
    row = (
        await session.execute(
            select(table.revoked_at, table.expires_at, User.active, Organisation.active)
            .join(User, User.id == table.user_id)
            .join(Organisation, Organisation.id == User.org_id)
            .where(table.id == credential_id))
    ).one_or_none()
    if row is None:
        return False
    revoked_at, expires_at, active, org_ok = row
    return (revoked_at is None and (expires_at is None or expires_at > at) and bool(active)
            and bool(org_ok))


def csrf_matches(csrf_hash: str, presented: str | None) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(csrf_hash, token_digest(presented))


async def bootstrap_admin(
    session: AsyncSession,
    *,
    org_name: str,
    credit_code: str,
    username: str,
    password: str,
    at: datetime,
) -> User:
    """Create the platform operator's organisation and first admin (``tradesys admin create``)."""
    actor = Actor(user_agent="tradesys-cli")
    # Look the organisation up by the code as register_organisation would store it.
    credit_code = credit_code.strip().upper()
    org = (
        await session.execute(select(Organisation).where(Organisation.credit_code == credit_code))
    ).scalar_one_or_none()
    if org is None:
        org = await register_organisation(
            session, name=org_name, credit_code=credit_code, actor=actor, at=at
        )
    return await create_user(
        session,
        org_id=org.id,
        username=username,
        display_name=username,
        password=password,
        role=Role.ADMIN,
        actor=actor,
        at=at,
    )
