"""Setting and reading a section's evaluation scheme (评标办法).

The host sets it while the project is only registered; publishing the tender notice freezes
it (the scheme is part of the tender documents bidders answer to, so it may not change once
they can see it). The ``evaluation.scheme_set`` event holds the scheme and its SHA-256; the last
one before the notice is the scheme the section is evaluated by. A section that never had one
is evaluated by :data:`tradesys.evaluation.scheme.DEFAULT_SCHEME`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict, NotFound
from tradesys.evaluation import scheme as schemes
from tradesys.evaluation.models import EvaluationScheme, PanelMember
from tradesys.events.canonical import canonical_json
from tradesys.events.log import append_event
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement.access import Action, authorize_project
from tradesys.procurement.kinds import ProjectState
from tradesys.procurement.models import Section

AGGREGATE = "evaluation"


async def section_of(session: AsyncSession, section_id: int, *, lock: bool = False) -> Section:
    section = await session.get(Section, section_id, with_for_update=lock,
                                populate_existing=lock)
    if section is None:
        raise NotFound("section_not_found", "标段不存在 (no such section)")
    return section


async def scheme_of(session: AsyncSession, section_id: int) -> tuple[schemes.Scheme, bool]:
    """The section's scheme and whether it is the default (none was set)."""
    row = await session.get(EvaluationScheme, section_id)
    if row is None:
        return schemes.DEFAULT_SCHEME, True
    return schemes.from_json(json.loads(row.scheme)), False


async def set_scheme(session: AsyncSession, principal: Principal, section_id: int,
                     scheme: schemes.Scheme, now: datetime) -> dict[str, Any]:
    section = await section_of(session, section_id)
    project = await authorize_project(session, principal, section.project_id, Action.MANAGE,
                                      for_update=True)
    if project.state != ProjectState.REGISTERED:
        raise Conflict("scheme_frozen", "招标公告发布后评标办法不得更改 (the evaluation scheme "
                       "is part of the tender documents: it is fixed once the notice is "
                       "published)")
    schemes.validate(scheme)
    body = scheme.as_json()
    row = await session.get(EvaluationScheme, section_id, with_for_update=True)
    if row is None:
        row = EvaluationScheme(section_id=section_id)
        session.add(row)
    row.scheme, row.sha256 = canonical_json(body).decode(), scheme.sha256()
    row.set_by, row.set_at = principal.user_id, now
    await session.flush()
    await append_event(session, actor=principal.actor, at=now, aggregate_type=AGGREGATE,
                       aggregate_id=section_id, project_id=project.id,
                       type="evaluation.scheme_set",
                       payload={"scheme": body, "sha256": row.sha256})
    return view(section_id, scheme, default=False)


def view(section_id: int, scheme: schemes.Scheme, *, default: bool) -> dict[str, Any]:
    return {"section_id": section_id, "default": default, "sha256": scheme.sha256(),
            **scheme.as_json()}


async def read_scheme(session: AsyncSession, principal: Principal, section_id: int
                      ) -> dict[str, Any]:
    """Whoever may see the project sees its scheme (bidders once it is announced: it is in the
    tender documents), and so do the section's sitting committee members."""
    section = await section_of(session, section_id)
    if principal.role is Role.EXPERT:  # members hold no project grant: membership is the test
        sitting = await session.scalar(select(PanelMember.id).where(
            PanelMember.section_id == section_id, PanelMember.user_id == principal.user_id,
            PanelMember.status == "active").limit(1))
        if sitting is None:
            raise NotFound("project_not_found", "项目不存在 (no such project)")
    else:
        await authorize_project(session, principal, section.project_id, Action.VIEW)
    scheme, default = await scheme_of(session, section_id)
    return view(section_id, scheme, default=default)
