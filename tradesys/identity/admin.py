"""The platform operator's (平台运维) registry work: listing, editing and disabling organisations,
listing users. Registration itself is tradesys/identity/service.py (the CLI bootstrap shares it).

Every change is one event; a refused change leaves the rows as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict, Invalid, NotFound
from tradesys.events.log import Actor, append_event
from tradesys.identity.credit_code import is_valid_credit_code
from tradesys.identity.models import Organisation, User

INVALID_CODE = ("invalid_credit_code",
                "统一社会信用代码无效：须为18位且校验位正确 "
                "(invalid unified social credit code: 18 characters with a valid check "
                "character)")


@dataclass(frozen=True)
class OrganisationRow:
    organisation: Organisation
    users: int


def _not_found() -> NotFound:
    return NotFound("organisation_not_found", "机构不存在 (no such organisation)")


async def list_organisations(session: AsyncSession) -> list[OrganisationRow]:
    """Every organisation with its number of users, oldest first (the console's table)."""
    counts = (select(User.org_id, func.count(User.id).label("n")).group_by(User.org_id)
              .subquery())
    rows = await session.execute(
        select(Organisation, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.org_id == Organisation.id)
        .order_by(Organisation.id))
    return [OrganisationRow(org, int(n)) for org, n in rows.all()]


async def list_users(session: AsyncSession, *, org_id: int | None = None) -> list[User]:
    query = select(User).order_by(User.id)
    if org_id is not None:
        query = query.where(User.org_id == org_id)
    return list((await session.execute(query)).scalars())


async def update_organisation(session: AsyncSession, *, org_id: int, name: str | None,
                              credit_code: str | None, actor: Actor,
                              at: datetime) -> Organisation:
    """Correct an organisation's name or code (a typo at registration); the code is checked
    exactly as at registration, and stays unique."""
    org = await session.get(Organisation, org_id)
    if org is None:
        raise _not_found()
    changes: dict[str, str] = {}
    if credit_code is not None:
        credit_code = credit_code.strip().upper()
        if not is_valid_credit_code(credit_code):
            raise Invalid(*INVALID_CODE)
        if credit_code != org.credit_code:
            taken = (await session.execute(select(Organisation.id).where(
                Organisation.credit_code == credit_code))).scalar_one_or_none()
            if taken is not None:
                raise Conflict("organisation_exists",
                               "该统一社会信用代码已注册 (an organisation with this code exists)")
            changes["credit_code"] = credit_code
    if name is not None and name != org.name:
        changes["name"] = name
    if not changes:
        return org
    for key, value in changes.items():
        setattr(org, key, value)
    await append_event(session, actor=actor, at=at, aggregate_type="organisation",
                       aggregate_id=org.id, type="organisation.updated", payload=changes)
    return org


async def set_organisation_active(session: AsyncSession, *, org_id: int, active: bool,
                                  actor: Actor, at: datetime) -> tuple[Organisation, list[int]]:
    """Disable (or re-enable) an organisation: its users' sessions and tokens stop working at
    once (tradesys/identity/service.py checks the organisation on every request). Returns the
    organisation and its users' ids, whose open hall connections the caller closes."""
    org = await session.get(Organisation, org_id)
    if org is None:
        raise _not_found()
    if not active and actor.org_id == org_id:
        raise Conflict("cannot_disable_own_organisation",
                       "不能停用自己所在的机构 (you cannot disable your own organisation)")
    users = list((await session.execute(
        select(User.id).where(User.org_id == org_id))).scalars())
    if org.active == active:
        return org, users
    org.active = active
    await append_event(session, actor=actor, at=at, aggregate_type="organisation",
                       aggregate_id=org.id,
                       type="organisation.enabled" if active else "organisation.disabled",
                       payload={"credit_code": org.credit_code})
    return org, users
