"""Login, logout, API tokens, and the admin's registration of organisations and users."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradesys.api.auth import CSRF_COOKIE, SESSION_COOKIE, client_ip, user_agent
from tradesys.api.routing import Call, Result, Router, json_response, to_json
from tradesys.api.schemas import LoginOut, OrganisationOut, TokenOut, UserOut
from tradesys.errors import Unauthenticated
from tradesys.events.log import Actor
from tradesys.identity import service
from tradesys.identity.commands import Login, NewOrganisation, NewToken, NewUser
from tradesys.identity.models import User
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role

router = Router()

BAD_LOGIN = ("bad_credentials", "用户名或密码错误 (wrong user name or password)")


async def _verified_user(call: Call, username: str, password: str) -> User:
    """Check a password; a failure is committed (for rate limiting) before refusing."""
    ip = client_ip(call.request)
    async with call.services.db.transaction() as session:
        user = await service.check_login(
            session, username=username, password=password, ip=ip, at=call.now
        )
        if user is None:
            await service.record_login_failure(session, username=username, ip=ip, at=call.now)
    if user is None:
        raise Unauthenticated(*BAD_LOGIN)
    return user


def _actor(call: Call, user: User) -> Actor:
    return Actor(
        user_id=user.id,
        org_id=user.org_id,
        ip=client_ip(call.request),
        user_agent=user_agent(call.request),
    )


@router.endpoint(
    "POST",
    "/auth/login",
    summary="登录 (log in, browser session)",
    tag="identity",
    body=Login,
    response=LoginOut,
    public=True,
)
async def login(call: Call) -> Response:
    body: Login = call.body
    user = await _verified_user(call, body.username, body.password)
    ttl = timedelta(seconds=call.services.settings.session_ttl_seconds)
    async with call.services.db.transaction() as session:
        issued = await service.open_session(
            session, user=user, actor=_actor(call, user), at=call.now, ttl=ttl
        )
    out = LoginOut(
        user=UserOut.of(user), csrf_token=issued.csrf_token, expires_at=issued.expires_at
    )
    response = json_response(to_json(out), 200)
    secure = call.services.settings.cookies_secure
    max_age = int(ttl.total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    # Readable by the page so it can send X-CSRF-Token; useless to another site.
    response.set_cookie(
        CSRF_COOKIE,
        issued.csrf_token,
        max_age=max_age,
        httponly=False,
        samesite="strict",
        secure=secure,
        path="/",
    )
    return response


@router.endpoint("POST", "/auth/logout", summary="退出登录 (log out)", tag="identity")
async def logout(call: Call) -> Response:
    token = call.request.cookies.get(SESSION_COOKIE)
    via_session = False

    async def work(session: AsyncSession, principal: Principal) -> Result:
        nonlocal via_session
        # Only the session the caller authenticated with: a caller using a bearer token does
        # not end a session cookie that happens to ride along (perhaps another user's).
        via_session = principal.via == "session"
        if token and via_session:
            await service.close_session(session, token=token, actor=principal.actor, at=call.now)
        return {"ok": True}

    response = await call.command(work)
    if via_session:
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.endpoint(
    "POST",
    "/auth/tokens",
    summary="签发 API 令牌 (issue a bearer token for the CLI)",
    tag="identity",
    body=NewToken,
    response=TokenOut,
    status=201,
    public=True,
)
async def issue_token(call: Call) -> TokenOut:
    body: NewToken = call.body
    user = await _verified_user(call, body.username, body.password)
    ttl = timedelta(days=body.ttl_days) if body.ttl_days else None
    async with call.services.db.transaction() as session:
        token, row = await service.issue_api_token(
            session, user_id=user.id, name=body.name, actor=_actor(call, user), at=call.now, ttl=ttl
        )
    return TokenOut(token=token, expires_at=row.expires_at)


@router.endpoint("GET", "/me", summary="当前用户 (who am I)", tag="identity", response=UserOut)
async def me(call: Call) -> Result:
    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        user = await session.get(User, principal.user_id)
        assert user is not None
        return UserOut.of(user)

    return await call.read(work)


@router.endpoint(
    "POST",
    "/organisations",
    summary="登记机构 (register an organisation; admin)",
    tag="identity",
    body=NewOrganisation,
    response=OrganisationOut,
    status=201,
)
async def create_organisation(call: Call) -> Response:
    body: NewOrganisation = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        principal.require_role(Role.ADMIN)
        org = await service.register_organisation(
            session,
            name=body.name,
            credit_code=body.credit_code,
            actor=principal.actor,
            at=call.now,
        )
        return OrganisationOut.of(org)

    return await call.command(work, status=201)


@router.endpoint(
    "POST",
    "/users",
    summary="创建用户 (create a user; admin)",
    tag="identity",
    body=NewUser,
    response=UserOut,
    status=201,
)
async def create_user(call: Call) -> Response:
    body: NewUser = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        principal.require_role(Role.ADMIN)
        user = await service.create_user(
            session,
            org_id=body.org_id,
            username=body.username,
            display_name=body.display_name,
            password=body.password,
            role=body.role,
            actor=principal.actor,
            at=call.now,
        )
        return UserOut.of(user)

    return await call.command(work, status=201)
