"""A project's timeline (项目时间线): the milestones of its procedure, for its supervisors.

Read-only and deliberately narrow. Only the event *types* named in :data:`MILESTONES` are shown,
each with its time and a fixed Chinese label — never an event's payload nor who caused it. So the
timeline cannot reveal bid contents, prices before the opening reads them, or who has bid or
obtained the documents before the deadline: those events (``bid.*``, ``document.obtained``,
``security.*``, ``question.asked``…) are simply not milestones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Forbidden
from tradesys.events.models import Event
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Grant, Role
from tradesys.procurement.access import Action, authorize_project, grants_of

#: event type → its label on the timeline. Anything not here stays off the timeline.
MILESTONES: dict[str, str] = {
    "project.registered": "项目登记",
    "project.entrustment_accepted": "受托方接受委托",
    "project.entrustment_declined": "受托方拒绝委托",
    "document.uploaded": "上传招标文件",
    "notice.published": "发布公告",
    "clarification.published": "发布澄清或修改",
    "question.answered": "答复投标人提问",
    "section.closed": "标段截止投标",
    "opening.decryption_started": "开标：开始解密",
    "opening.decryption_ended": "开标：解密结束",
    "opening.bids_published": "开标：公布投标文件",
    "opening.paused": "开标：暂停",
    "opening.resumed": "开标：继续",
    "opening.record_generated": "开标：生成开标记录",
    "opening.record_confirmed": "开标：确认开标记录",
    "opening.failed": "开标失败",
    "opening.closed": "开标结束",
    "project.cancelled": "终止招标",
}

#: The grants of the project's parties who may read its timeline besides the supervisors.
PARTY_GRANTS = frozenset({Grant.OWNER, Grant.HOST, Grant.SUPERVISOR})


@dataclass(frozen=True)
class Milestone:
    seq: int
    type: str
    label: str
    occurred_at: datetime


async def project_timeline(
    session: AsyncSession, principal: Principal, project_id: int
) -> list[Milestone]:
    """The project's milestones in log order, for its parties, supervisors and the admin.

    A bidder may see an announced project's public file but not its timeline (``forbidden``):
    the timeline is the supervisor's view of how the procedure ran, not a bidder's business.
    """
    project = await authorize_project(session, principal, project_id, Action.VIEW)
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        held = await grants_of(session, project.id, principal.org_id)
        if not held & PARTY_GRANTS:
            raise Forbidden("not_project_party",
                            "无权查看项目时间线：仅限项目当事人与监督部门 "
                            "(only the project's parties and supervisors see its timeline)")
    rows = (await session.execute(
        select(Event.seq, Event.type, Event.occurred_at)
        .where(Event.project_id == project.id, Event.type.in_(list(MILESTONES)))
        .order_by(Event.seq)
    )).all()
    return [Milestone(seq, kind, MILESTONES[kind], at) for seq, kind, at in rows]
