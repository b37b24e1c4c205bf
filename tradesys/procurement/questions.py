"""Questions on the tender documents and their answers (答疑).

A question comes from a bidder that obtained the documents, before the clarification deadline.
Answers are shown to everyone without the asker's identity (招标人不得透露提问人).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict, Forbidden, NotFound
from tradesys.events.log import append_event
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement.access import Action, authorize_project
from tradesys.procurement.commands import AnswerQuestion, AskQuestion
from tradesys.procurement.documents import has_obtained
from tradesys.procurement.kinds import ProjectState
from tradesys.procurement.models import Question
from tradesys.procurement.notices import tender_notice


async def ask(
    session: AsyncSession,
    principal: Principal,
    project_id: int,
    command: AskQuestion,
    now: datetime,
) -> Question:
    principal.require_role(Role.BIDDER)
    project = await authorize_project(session, principal, project_id, Action.VIEW)
    notice = await tender_notice(session, project.id)
    if project.state != ProjectState.ANNOUNCED or notice is None:
        raise Conflict(
            "not_open_for_questions", "项目当前不接受提问 (the project is not taking questions)"
        )
    assert notice.clarification_deadline is not None
    if now > notice.clarification_deadline:
        raise Conflict(
            "clarification_deadline_passed",
            "已过澄清截止时间 (the clarification deadline has passed)",
        )
    if not await has_obtained(session, project.id, principal.org_id):
        raise Forbidden(
            "documents_not_obtained",
            "须先获取招标文件才能提问 (obtain the tender documents before asking)",
        )
    question = Question(
        project_id=project.id,
        asked_by_org=principal.org_id,
        asked_by_user=principal.user_id,
        text=command.text,
        asked_at=now,
    )
    session.add(question)
    await session.flush()
    await append_event(
        session,
        actor=principal.actor,
        at=now,
        aggregate_type="project",
        aggregate_id=project.id,
        project_id=project.id,
        type="question.asked",
        payload={"question_id": question.id, "text": command.text},
    )
    return question


async def answer(
    session: AsyncSession,
    principal: Principal,
    project_id: int,
    question_id: str,
    command: AnswerQuestion,
    now: datetime,
) -> Question:
    """``question_id`` is the question's public id."""
    project = await authorize_project(session, principal, project_id, Action.MANAGE)
    question = (await session.execute(
        select(Question).where(Question.public_id == question_id,
                               Question.project_id == project.id).with_for_update()
    )).scalar_one_or_none()
    if question is None:
        raise NotFound("question_not_found", "问题不存在 (no such question)")
    if question.answer is not None:
        raise Conflict("already_answered", "该问题已答复 (the question is already answered)")
    notice = await tender_notice(session, project.id)
    if notice is not None and notice.bid_deadline is not None and now >= notice.bid_deadline:
        raise Conflict("deadline_passed", "投标已截止 (the bid deadline has passed)")
    question.answer = command.answer
    question.answered_at = now
    question.answered_by = principal.user_id
    await append_event(
        session,
        actor=principal.actor,
        at=now,
        aggregate_type="project",
        aggregate_id=project.id,
        project_id=project.id,
        type="question.answered",
        payload={"question_id": question.id, "answer": command.answer},
    )
    return question


async def list_questions(
    session: AsyncSession, principal: Principal, project_id: int
) -> list[tuple[Question, bool]]:
    """Questions with a flag: whether the caller may see who asked (its own or as manager)."""
    project = await authorize_project(session, principal, project_id, Action.VIEW)
    rows = (
        await session.execute(
            select(Question).where(Question.project_id == project.id).order_by(Question.id)
        )
    ).scalars()
    result = []
    for question in rows:
        own = question.asked_by_org == principal.org_id
        if principal.role is Role.BIDDER and not own and question.answer is None:
            continue
        result.append((question, own))
    return result
