"""Publicity, objections and the award over HTTP (公示, 异议, 定标; docs/award.md §4–§7).

The routes parse, authorize through the domain and call it: tradesys.award.publicity,
tradesys.award.objections and tradesys.award.decision.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradesys.api.routing import Call, Content, Result, Router
from tradesys.award import decision, objections, publicity
from tradesys.award.models import AwardNotice
from tradesys.identity.principal import Principal
from tradesys.procurement.commands import CreditCode
from tradesys.strict import LINES, Strict

router = Router()

Text = Annotated[str, Field(min_length=1, max_length=5000), LINES]

SECTION = "/sections/{section_id:int}"
NOTICE = "/award-notices/{notice_id:str}"


class ObjectionIn(Strict):
    """A bidder's written objection to the candidates (条例 Art. 54)."""

    text: Text


class AnswerIn(Strict):
    answer: Text


class AwardIn(Strict):
    """The winner: the first-ranked candidate still in the running when ``credit_code`` is
    omitted; a lower-ranked one only with a ``reason``."""

    credit_code: CreditCode | None = None
    reason: Text | None = None


class DeclineIn(Strict):
    reason: Text


@router.endpoint("POST", SECTION + "/publicity",
                 summary="公示中标候选人 (the host publishes the final report's candidates)",
                 tag="award", status=201)
async def publish_candidates(call: Call) -> Response:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await publicity.publish(session, principal, section_id, call.services.rules,
                                       call.now)

    return await call.command(work, status=201)


@router.endpoint("GET", SECTION + "/publicity",
                 summary="中标候选人公示 (the candidates and the period; public, no committee)",
                 tag="award", public=True)
async def read_publicity(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        return await publicity.read(session, section_id)

    return await call.read(work)


@router.endpoint("POST", SECTION + "/objections",
                 summary="提出异议 (a bidder of the section objects, during the publicity)",
                 tag="award", body=ObjectionIn, status=201)
async def raise_objection(call: Call) -> Response:
    section_id = call.path_int("section_id")
    text = call.body.text

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await objections.raise_objection(session, principal, section_id, text,
                                                call.services.rules, call.now)

    return await call.command(work, status=201)


@router.endpoint("GET", SECTION + "/objections",
                 summary="异议 (the objections: the objector its own; host, procurer, "
                         "supervisors all)", tag="award")
async def list_objections(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await objections.list_objections(session, principal, section_id,
                                                call.services.rules)

    return await call.read(work)


@router.endpoint("POST", SECTION + "/objections/{number:int}/answer",
                 summary="答复异议 (the procurer or the host answers an objection)",
                 tag="award", body=AnswerIn)
async def answer_objection(call: Call) -> Response:
    section_id, number = call.path_int("section_id"), call.path_int("number")
    answer = call.body.answer

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await objections.answer_objection(session, principal, section_id, number,
                                                 answer, call.services.rules, call.now)

    return await call.command(work)


@router.endpoint("POST", SECTION + "/award",
                 summary="定标 (the host awards, after the publicity, with no objection open; "
                         "issues every notice)", tag="award", body=AwardIn, status=201)
async def award(call: Call) -> Response:
    section_id = call.path_int("section_id")
    body: AwardIn = call.body
    services, now = call.services, call.now
    assert call.principal is not None
    # The notices are signed and rendered in a read transaction first (slow: WeasyPrint);
    # the command decides again under its lock and uses what still matches.
    async with services.db.reading() as session:
        rendered = await decision.prerender(session, call.principal, section_id,
                                            body.credit_code, body.reason, services.rules,
                                            services.receipt_key, now)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await decision.award(session, principal, section_id, body.credit_code,
                                    body.reason, services.rules, services.receipt_key, now,
                                    rendered)

    return await call.command(work, status=201)


@router.endpoint("GET", SECTION + "/award",
                 summary="定标情况 (awards, notices' ids and SHA-256; a bidder sees its own)",
                 tag="award")
async def award_status(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await decision.status(session, principal, section_id, call.services.rules)

    return await call.read(work)


@router.endpoint("POST", SECTION + "/award/decline",
                 summary="放弃中标 (the winner declines, or the host records it; with reason)",
                 tag="award", body=DeclineIn)
async def decline(call: Call) -> Response:
    section_id = call.path_int("section_id")
    reason = call.body.reason

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await decision.decline(session, principal, section_id, reason,
                                      call.services.rules, call.now)

    return await call.command(work)


@router.endpoint("POST", SECTION + "/award/failure",
                 summary="记录招标失败 (the host records the failed tender of a report with no "
                         "candidate)", tag="award", status=201)
async def record_failure(call: Call) -> Response:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await decision.record_failure(session, principal, section_id,
                                             call.services.rules, call.now)

    return await call.command(work, status=201)


def _notice_id(call: Call) -> str:
    return call.path_public_id("notice_id", "notice_not_found",
                               "通知书不存在 (no such notice for your organisation)")


async def _notice(call: Call) -> AwardNotice:
    notice_id = _notice_id(call)
    assert call.principal is not None
    async with call.services.db.reading() as session:
        return await decision.addressed_notice(session, call.principal, notice_id)


def _file(body: bytes, media_type: str, name: str) -> Response:
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"})


@router.endpoint("GET", NOTICE + "/notice.json",
                 summary="通知书文件 (the signed notice file, exactly as issued; its addressee "
                         "only)", tag="award", produces=Content(("application/json",)))
async def notice_json(call: Call) -> Response:
    notice = await _notice(call)
    return _file(notice.body.encode(), "application/json", f"{notice.document_id}.json")


@router.endpoint("GET", NOTICE + "/notice.json.sig",
                 summary="通知书签名 (the platform's Ed25519 signature, base64; its addressee "
                         "only)", tag="award", produces=Content(("text/plain",)))
async def notice_signature(call: Call) -> Response:
    notice = await _notice(call)
    return _file(notice.signature.encode(), "text/plain", f"{notice.document_id}.json.sig")


@router.endpoint("GET", NOTICE + "/notice.pdf",
                 summary="通知书 PDF (its addressee only)", tag="award",
                 produces=Content(("application/pdf",)))
async def notice_pdf(call: Call) -> Response:
    notice = await _notice(call)
    return _file(notice.pdf, "application/pdf", f"{notice.document_id}.pdf")
