"""The authenticated caller of a request, as the domain sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tradesys.errors import Forbidden
from tradesys.events.log import Actor
from tradesys.identity.roles import Role


@dataclass(frozen=True)
class Principal:
    user_id: int
    org_id: int
    username: str
    role: Role
    ip: str | None = None
    user_agent: str | None = None
    #: How the caller authenticated: "session" (browser cookie) or "token" (bearer).
    via: str = "session"
    #: The row id of that session or token, and when it expires (None: never): a hall
    #: connection is closed when either ends (hall/access.py).
    credential_id: int | None = None
    expires_at: datetime | None = None

    @property
    def actor(self) -> Actor:
        return Actor(
            user_id=self.user_id, org_id=self.org_id, ip=self.ip, user_agent=self.user_agent
        )

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            names = "、".join(role.value for role in roles)
            raise Forbidden(
                "role_forbidden",
                f"此操作需要以下角色之一：{names} (this action needs one of the roles: {names})",
            )
