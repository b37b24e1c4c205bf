"""Who a caller is to one opening: host, bidder, procurer, supervisor or public observer.

The answer decides both what the caller may do (the ceremony's commands) and what the hall
shows it (chat and actor details are for participants only).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.models import Bid
from tradesys.bids.submission import VALID
from tradesys.errors import DomainError
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement.access import Action, authorize_project, grants_of, supervises
from tradesys.procurement.kinds import ProjectState
from tradesys.procurement.models import Project, Section

HOST, BIDDER, PROCURER, SUPERVISOR, OBSERVER = (
    "host", "bidder", "procurer", "supervisor", "observer")
#: Audiences that take part (and see the participants' chat).
PARTICIPANTS = frozenset({HOST, BIDDER, PROCURER, SUPERVISOR})


@dataclass(frozen=True)
class Audience:
    kind: str
    user_id: int | None = None
    org_id: int | None = None

    @property
    def participant(self) -> bool:
        return self.kind in PARTICIPANTS


async def audience_of(session: AsyncSession, principal: Principal | None, section: Section,
                      project: Project) -> Audience:
    if principal is None:
        return Audience(OBSERVER)
    me = {"user_id": principal.user_id, "org_id": principal.org_id}
    if principal.role is Role.ADMIN:
        return Audience(SUPERVISOR, **me)
    if principal.role is Role.SUPERVISOR:
        # Supervision follows jurisdiction: a department not granted the project watches as
        # the public does (tradesys/procurement/supervisors.py).
        granted = await supervises(session, principal, project.id)
        return Audience(SUPERVISOR if granted else OBSERVER, **me)
    if principal.role is Role.BIDDER:
        has_bid = (await session.execute(select(Bid.id).where(
            Bid.section_id == section.id, Bid.org_id == principal.org_id,
            Bid.status == VALID).limit(1))).scalar_one_or_none()
        return Audience(BIDDER if has_bid is not None else OBSERVER, **me)
    if principal.role in (Role.AGENCY, Role.PROCURER):
        try:
            await authorize_project(session, principal, project.id, Action.MANAGE)
            return Audience(HOST, **me)
        except DomainError:
            pass
        if principal.role is Role.PROCURER and await grants_of(session, project.id,
                                                               principal.org_id):
            return Audience(PROCURER, **me)
    return Audience(OBSERVER, **me)


def visible_to_public(project: Project) -> bool:
    """A room exists for the public once the project is announced (its notice is public)."""
    return project.state != ProjectState.REGISTERED
