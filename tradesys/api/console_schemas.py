"""Answers of the operator console's endpoints (console.html): the registry, reset links,
supervisor grants and the operations status."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tradesys.api.schemas import OrganisationOut, UserOut


class OrganisationRowOut(OrganisationOut):
    users: int


class OrganisationListOut(BaseModel):
    items: list[OrganisationRowOut]


class UserListOut(BaseModel):
    items: list[UserOut]


class PasswordResetOut(BaseModel):
    """Shown once: the token is stored as its SHA-256 only and cannot be shown again."""

    user_id: int
    username: str
    token: str
    #: The page that takes the token, relative to the site; the token rides in the fragment,
    #: which browsers never send to a server nor put in a Referer.
    link: str
    expires_at: datetime


class PasswordResetDoneOut(BaseModel):
    username: str


class SupervisorGrantOut(BaseModel):
    org_id: int
    name: str
    credit_code: str
    granted_at: datetime


class SupervisorGrantListOut(BaseModel):
    project_id: int
    items: list[SupervisorGrantOut]


class ReplayOut(BaseModel):
    requeued: int


class ReadinessOut(BaseModel):
    status: str
    database: str
    event_chain_seq: int | None


class BackgroundOut(BaseModel):
    """A background task's state (the scheduler, the report relay)."""

    configured: bool
    running: bool
    interval_seconds: float | None
    passes: int | None = None
    last_pass_at: datetime | None = None


class RelayOut(BackgroundOut):
    """The report relay; not configured when no ``TRADESYS_PLATFORM_URL`` is set. Backlog and
    dead letters are ``GET /platform/status``."""

    delivered: int | None = None
    dead_lettered: int | None = None
    last_error: str | None = None


class OperationsStatusOut(BaseModel):
    checked_at: datetime
    readiness: ReadinessOut
    scheduler: BackgroundOut
    relay: RelayOut
