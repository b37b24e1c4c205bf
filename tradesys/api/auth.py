"""Who is calling: a browser session cookie (CSRF-checked on writes) or a bearer API token."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from tradesys.errors import Forbidden, Unauthenticated
from tradesys.identity.principal import Principal
from tradesys.identity.service import csrf_matches, principal_from_session, principal_from_token
from tradesys.services import Services

SESSION_COOKIE = "tradesys_session"
CSRF_COOKIE = "tradesys_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def user_agent(request: Request) -> str | None:
    value = request.headers.get("user-agent")
    return value[:512] if value else None


async def authenticate(request: Request, session: AsyncSession, services: Services) -> Principal:
    now = services.clock.now()
    ip, agent = client_ip(request), user_agent(request)
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(
                "bad_authorization",
                "Authorization 须为 Bearer 令牌 (use 'Authorization: Bearer <token>')",
            )
        return await principal_from_token(
            session, token=token.strip(), at=now, ip=ip, user_agent=agent
        )
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated("login_required", "请先登录 (log in first)")
    principal, csrf_hash = await principal_from_session(
        session, token=cookie, at=now, ip=ip, user_agent=agent
    )
    if request.method not in SAFE_METHODS and not csrf_matches(
        csrf_hash, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden("csrf_failed", "缺少或错误的 CSRF 令牌 (missing or wrong CSRF token)")
    return principal
