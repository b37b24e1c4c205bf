"""Login, logout, API tokens, and the admin's registration of organisations and users."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradesys.api.auth import CSRF_COOKIE, SESSION_COOKIE, client_ip, user_agent
from tradesys.api.console_schemas import (
    OrganisationListOut,
    OrganisationRowOut,
    PasswordResetDoneOut,
    PasswordResetOut,
    UserListOut,
)
from tradesys.api.errors import BadRequest
from tradesys.api.routing import Call, Param, Result, Router, json_response, to_json
from tradesys.api.schemas import (
    LoginOut,
    OrganisationOut,
    TokenInfoOut,
    TokenListOut,
    TokenOut,
    UserOut,
)
from tradesys.errors import NotFound, Unauthenticated
from tradesys.events.log import Actor
from tradesys.identity import admin, resets, service
from tradesys.identity.commands import (
    EditOrganisation,
    Login,
    NewOrganisation,
    NewToken,
    NewUser,
    RedeemReset,
)
from tradesys.identity.models import User
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.strict import parse_int

router = Router()

#: The shape of a token's public id (tradesys.identity.service.new_public_id).
TOKEN_ID = re.compile(r"tok_[A-Za-z0-9_-]{22}")
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
        # Only what the caller authenticated with: a caller using a bearer token ends that
        # token, not a session cookie that happens to ride along (perhaps another user's).
        via_session = principal.via == "session"
        if token and via_session:
            await service.close_session(session, token=token, actor=principal.actor, at=call.now)
        elif principal.via == "token" and principal.credential_id is not None:
            await service.revoke_presented_token(session, token_id=principal.credential_id,
                                                 actor=principal.actor, at=call.now)
        return {"ok": True}

    response = await call.command(work)
    if call.principal is not None:
        call.services.access_changed(call.principal.user_id)
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
    # Before the password: a refused lifetime is no login attempt and changes nothing.
    ttl = service.token_ttl(body.ttl_days, call.services.settings.token_max_ttl_days)
    user = await _verified_user(call, body.username, body.password)
    async with call.services.db.transaction() as session:
        token, row = await service.issue_api_token(
            session, user_id=user.id, name=body.name, actor=_actor(call, user), at=call.now, ttl=ttl
        )
    info = TokenInfoOut.of(row)
    return TokenOut(**info.model_dump(), token=token)


@router.endpoint(
    "GET",
    "/auth/tokens",
    summary="我的 API 令牌 (the caller's tokens that still work; never their secrets)",
    tag="identity",
    response=TokenListOut,
)
async def list_tokens(call: Call) -> Result:
    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await service.list_api_tokens(session, user_id=principal.user_id, at=call.now)
        return TokenListOut(items=[TokenInfoOut.of(row) for row in rows])

    return await call.read(work)


@router.endpoint(
    "DELETE",
    "/auth/tokens/{token_id}",
    summary="吊销 API 令牌 (revoke one of the caller's tokens)",
    tag="identity",
    response=TokenInfoOut,
)
async def revoke_token(call: Call) -> Response:
    public_id = call.request.path_params["token_id"]
    if not isinstance(public_id, str) or not TOKEN_ID.fullmatch(public_id):
        raise NotFound("token_not_found", "没有这个 API 令牌 (no such token)")
    revoked_user = 0

    async def work(session: AsyncSession, principal: Principal) -> Result:
        nonlocal revoked_user
        row = await service.revoke_api_token(session, user_id=principal.user_id,
                                             public_id=public_id, actor=principal.actor,
                                             at=call.now)
        revoked_user = row.user_id
        return TokenInfoOut.of(row)

    response = await call.command(work)
    call.services.access_changed(revoked_user)
    return response


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


async def _set_active(call: Call, active: bool) -> Response:
    user_id = call.path_int("user_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        principal.require_role(Role.ADMIN)
        user = await service.set_user_active(session, user_id=user_id, active=active,
                                             actor=principal.actor, at=call.now)
        return UserOut.of(user)

    response = await call.command(work)
    call.services.access_changed(user_id)
    return response


@router.endpoint(
    "POST",
    "/users/{user_id:int}/disable",
    summary="停用用户 (disable a user: its sessions, tokens and hall connections end; admin)",
    tag="identity",
    response=UserOut,
)
async def disable_user(call: Call) -> Response:
    return await _set_active(call, False)


@router.endpoint(
    "POST",
    "/users/{user_id:int}/enable",
    summary="启用用户 (re-enable a disabled user; admin)",
    tag="identity",
    response=UserOut,
)
async def enable_user(call: Call) -> Response:
    return await _set_active(call, True)


# -- the operator console (console.html): the registry, disabling, reset links -----------------


@router.endpoint("GET", "/organisations",
                 summary="机构列表 (every organisation with its number of users; admin)",
                 tag="identity", response=OrganisationListOut)
async def list_organisations(call: Call) -> Result:
    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        principal.require_role(Role.ADMIN)
        rows = await admin.list_organisations(session)
        return OrganisationListOut(items=[
            OrganisationRowOut(**OrganisationOut.of(row.organisation).model_dump(),
                               users=row.users) for row in rows])

    return await call.read(work)


@router.endpoint("PATCH", "/organisations/{org_id:int}",
                 summary="修改机构信息 (correct an organisation's name or credit code; admin)",
                 tag="identity", body=EditOrganisation, response=OrganisationOut)
async def edit_organisation(call: Call) -> Response:
    org_id = call.path_int("org_id")
    body: EditOrganisation = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        principal.require_role(Role.ADMIN)
        org = await admin.update_organisation(session, org_id=org_id, name=body.name,
                                              credit_code=body.credit_code,
                                              actor=principal.actor, at=call.now)
        return OrganisationOut.of(org)

    return await call.command(work)


async def _set_org_active(call: Call, active: bool) -> Response:
    org_id = call.path_int("org_id")
    users: list[int] = []

    async def work(session: AsyncSession, principal: Principal) -> Result:
        nonlocal users
        principal.require_role(Role.ADMIN)
        org, users = await admin.set_organisation_active(session, org_id=org_id, active=active,
                                                         actor=principal.actor, at=call.now)
        return OrganisationOut.of(org)

    response = await call.command(work)
    for user_id in users:
        call.services.access_changed(user_id)
    return response


@router.endpoint("POST", "/organisations/{org_id:int}/disable",
                 summary="停用机构 (disable an organisation: its users' sessions, tokens and hall "
                 "connections end; admin)", tag="identity", response=OrganisationOut)
async def disable_organisation(call: Call) -> Response:
    return await _set_org_active(call, False)


@router.endpoint("POST", "/organisations/{org_id:int}/enable",
                 summary="启用机构 (re-enable a disabled organisation; admin)", tag="identity",
                 response=OrganisationOut)
async def enable_organisation(call: Call) -> Response:
    return await _set_org_active(call, True)


ORG_FILTER = Param("org_id", "query", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                   description="only this organisation's users")


@router.endpoint("GET", "/users", summary="用户列表 (every user, or one organisation's; admin)",
                 tag="identity", response=UserListOut, params=(ORG_FILTER,))
async def list_users(call: Call) -> Result:
    raw = call.query("org_id")
    org_id = None
    if raw is not None:
        org_id = parse_int(raw, maximum=2**31 - 1)
        if org_id is None or org_id < 1:
            raise BadRequest("invalid_org_id", "机构编号须为正整数 (org_id must be a positive "
                             "whole number)")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        principal.require_role(Role.ADMIN)
        users = await admin.list_users(session, org_id=org_id)
        return UserListOut(items=[UserOut.of(user) for user in users])

    return await call.read(work)


@router.endpoint("POST", "/users/{user_id:int}/password-reset",
                 summary="生成一次性重置密码链接 (make a one-time password reset link; the token "
                 "is shown once; admin)", tag="identity", response=PasswordResetOut, status=201)
async def issue_password_reset(call: Call) -> Response:
    user_id = call.path_int("user_id")
    assert call.principal is not None
    principal = call.principal
    principal.require_role(Role.ADMIN)
    ttl = timedelta(seconds=call.services.settings.password_reset_ttl_seconds)
    # Not through call.command: an Idempotency-Key would store this answer, and with it the
    # token in the clear. A repeated request makes a new link, which supersedes the first.
    async with call.services.db.transaction() as session:
        issued = await resets.issue_reset(session, user_id=user_id, actor=principal.actor,
                                          at=call.now, ttl=ttl)
        user = await session.get_one(User, user_id)
        out = PasswordResetOut(user_id=user_id, username=user.username, token=issued.token,
                               link=f"reset.html#token={issued.token}",
                               expires_at=issued.reset.expires_at)
    call.services.committed()
    return json_response(to_json(out), 201)


@router.endpoint("POST", "/auth/password-reset",
                 summary="用一次性链接设置新密码 (set a new password with a reset link, once; "
                 "ends the user's sessions and tokens)", tag="identity", body=RedeemReset,
                 response=PasswordResetDoneOut, public=True)
async def redeem_password_reset(call: Call) -> Response:
    body: RedeemReset = call.body
    actor = Actor(ip=client_ip(call.request), user_agent=user_agent(call.request))
    async with call.services.db.transaction() as session:
        user = await resets.redeem_reset(session, token=body.token, password=body.password,
                                         actor=actor, at=call.now)
        out = PasswordResetDoneOut(username=user.username)
        user_id = user.id
    call.services.committed()
    call.services.access_changed(user_id)
    return json_response(to_json(out), 200)
