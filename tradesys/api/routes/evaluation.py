"""Evaluation (评标) over HTTP: the expert pool and the committee draw (docs/evaluation.md).

The draw endpoints run two transactions (commit, then reveal: docs/evaluation.md §5), so they
do not take ``Idempotency-Key``: a repeated request is refused as a second draw without a
reason (``redraw_reason_required``), which is the safe answer.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradesys.api.routing import Call, Content, Result, Router, json_response, to_json
from tradesys.award import report
from tradesys.documents.evaluation_report import render_report_pdf
from tradesys.evaluation import experts, panel, result, review, section_scheme, sheets
from tradesys.evaluation import scheme as schemes
from tradesys.identity.models import User
from tradesys.identity.principal import Principal
from tradesys.procurement.commands import CreditCode
from tradesys.strict import LINES, ONE_LINE, Strict

router = Router()

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
Region = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
UserId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Reason = Annotated[str, Field(min_length=1, max_length=5000)]


class ExpertProfileIn(Strict):
    specialties: Annotated[list[Code], Field(min_length=1, max_length=50)]
    region_code: Region
    ties: Annotated[list[CreditCode], Field(default_factory=list, max_length=200)]
    active: bool = True


class ExpertProfileOut(Strict):
    user_id: int
    username: str
    name: str
    specialties: list[str]
    region_code: str
    ties: list[str]
    active: bool


class ExpertProfileList(Strict):
    items: list[ExpertProfileOut]


class TieIn(Strict):
    credit_code: CreditCode


class PanelRequestIn(Strict):
    """A committee for the section (法 Art. 37): ``size`` members in all, of whom the named
    procurer's ``representatives`` are not drawn; the rest are drawn experts."""

    size: Annotated[int, Field(ge=1, le=99)]
    specialties: Annotated[list[Code], Field(min_length=1, max_length=20)]
    representatives: Annotated[list[UserId], Field(default_factory=list, max_length=50)]
    regions: Annotated[list[Region], Field(default_factory=list, max_length=50)]
    #: Required for any full draw after the first.
    reason: Reason | None = None


class ConflictIn(Strict):
    reason: Reason


def _profile_out(profile: Any, user: Any) -> ExpertProfileOut:
    data = experts.profile_json(profile)
    return ExpertProfileOut(username=user.username, name=user.display_name, **data)


@router.endpoint("PUT", "/experts/{user_id:int}/profile",
                 summary="专家入库或更新 (create or replace an expert's pool profile; operator "
                         "only)", tag="evaluation", body=ExpertProfileIn,
                 response=ExpertProfileOut)
async def save_profile(call: Call) -> Response:
    user_id = call.path_int("user_id")
    body: ExpertProfileIn = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        profile, user = await experts.save_profile(
            session, principal, user_id,
            experts.ProfileFields(body.specialties, body.region_code, body.ties, body.active),
            call.now)
        return _profile_out(profile, user)

    return await call.command(work)


@router.endpoint("GET", "/experts", summary="专家库 (the expert pool; operator only)",
                 tag="evaluation", response=ExpertProfileList)
async def list_profiles(call: Call) -> Result:
    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await experts.list_profiles(session, principal)
        return ExpertProfileList(items=[_profile_out(p, u) for p, u in rows])

    return await call.read(work)


@router.endpoint("POST", "/experts/me/ties",
                 summary="专家申报利害关系 (an expert declares a tie to an organisation)",
                 tag="evaluation", body=TieIn, response=ExpertProfileOut)
async def declare_tie(call: Call) -> Response:
    body: TieIn = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        profile = await experts.declare_tie(session, principal, body.credit_code, call.now)
        user = await session.get_one(User, principal.user_id)
        return _profile_out(profile, user)

    return await call.command(work)


async def _respond(call: Call, result: dict[str, Any], status: int) -> Response:
    call.services.committed()
    return json_response(to_json(result), status)


@router.endpoint("POST", "/sections/{section_id:int}/panel",
                 summary="抽取评标委员会 (draw the section's committee: commit, then reveal)",
                 tag="evaluation", body=PanelRequestIn, status=201)
async def request_panel(call: Call) -> Response:
    section_id = call.path_int("section_id")
    body: PanelRequestIn = call.body
    assert call.principal is not None
    result = await panel.request_panel(
        call.services.db, call.principal, section_id,
        panel.PanelRequest(size=body.size, specialties=body.specialties,
                           representatives=body.representatives, regions=body.regions,
                           reason=body.reason),
        call.now, call.services.rules)
    return await _respond(call, result, 201)


@router.endpoint("GET", "/sections/{section_id:int}/panel",
                 summary="评标委员会 (the committee; confidential until the result, 法 Art. 37)",
                 tag="evaluation")
async def view_panel(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await panel.view_panel(session, principal, section_id)

    return await call.read(work)


@router.endpoint("GET", "/experts/me/panels",
                 summary="我参加的评标委员会 (the sections whose committee the caller sits on)",
                 tag="evaluation")
async def my_panels(call: Call) -> Result:
    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await panel.my_seats(session, principal)

    return await call.read(work)


@router.endpoint("POST", "/sections/{section_id:int}/panel/conflict",
                 summary="专家申请回避 (a member declares a conflict; a new draw fills the seat)",
                 tag="evaluation", body=ConflictIn)
async def declare_conflict(call: Call) -> Response:
    section_id = call.path_int("section_id")
    body: ConflictIn = call.body
    assert call.principal is not None
    result = await panel.declare_conflict(call.services.db, call.principal, section_id,
                                          body.reason, call.now)
    return await _respond(call, result, 200)


# -- scoring: the scheme, the review, explanations, clarifications, sheets, the result ------

Points = Annotated[str, Field(pattern=r"^(0|[1-9][0-9]{0,2})(\.[0-9]{1,2})?$")]
Name = Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]
BidId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,32}$")]
Text = Annotated[str, Field(min_length=1, max_length=5000), LINES]
KeyId = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
SignatureText = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{86}$")]


#: A map whose keys are all checked (``patternProperties``): nothing else is accepted.
CLOSED: dict[str, Any] = {"additionalProperties": False}


class ReviewItemIn(Strict):
    id: Code
    name: Name


class CriterionIn(Strict):
    id: Code
    name: Name
    category: Literal["technical", "business"]
    max_score: Points
    min_score: Points = "0"


class SchemeIn(Strict):
    """The section's evaluation scheme. ``compliance`` omitted: the review items of 条例
    Art. 51 (docs/evaluation.md §9). Comprehensive: the price weight plus the criteria's
    maxima sum to 100."""

    method: Literal["lowest_price", "comprehensive"]
    compliance: Annotated[list[ReviewItemIn], Field(max_length=100)] | None = None
    price_weight: Points | None = None
    criteria: Annotated[list[CriterionIn], Field(default_factory=list, max_length=40)]


class VerdictItemIn(Strict):
    bid_id: BidId
    item: Code
    passed: bool
    reason: Annotated[str, Field(min_length=1, max_length=1000), LINES]


class VerdictsIn(Strict):
    """At most 100 verdicts a call: the largest body the document allows stays under the
    server's 1 MiB JSON limit (a reason of 1000 characters escaped is 6000 bytes)."""

    verdicts: Annotated[list[VerdictItemIn], Field(min_length=1, max_length=100)]


class QuestionIn(Strict):
    question: Text


class AnswerIn(Strict):
    answer: Text


class VoteIn(Strict):
    accept: bool
    reason: Text


class SheetIn(Strict):
    """Every score as a decimal string, bid by bid, criterion by criterion, signed with the
    member's own signing key over :func:`tradesys.evaluation.sheets.message`. At most 200 bids
    of 40 criteria (a scheme's most): the largest sheet stays under the 1 MiB JSON limit."""

    scores: Annotated[dict[BidId, Annotated[dict[Code, Points], Field(
        max_length=40, json_schema_extra=CLOSED)]], Field(max_length=200,
                                                          json_schema_extra=CLOSED)]
    key_id: KeyId
    signature: SignatureText


def _scheme(body: SchemeIn) -> schemes.Scheme:
    compliance = (schemes.DEFAULT_COMPLIANCE if body.compliance is None else
                  tuple(schemes.ReviewItem(r.id, r.name) for r in body.compliance))
    return schemes.Scheme(
        method=body.method, compliance=compliance,
        price_weight=Decimal(body.price_weight or "0"),
        criteria=tuple(schemes.Criterion(c.id, c.name, c.category, Decimal(c.max_score),
                                         Decimal(c.min_score)) for c in body.criteria))


def _bid_id(call: Call) -> str:
    return call.path_public_id("bid_id", "bid_not_found",
                               "本标段没有该开启的投标 (no such opened bid in this section)")


SECTION = "/sections/{section_id:int}/evaluation"
BID = SECTION + "/bids/{bid_id:str}"


@router.endpoint("PUT", SECTION + "/scheme",
                 summary="设置评标办法 (set the section's evaluation scheme; the host, before the "
                         "notice)", tag="evaluation", body=SchemeIn)
async def set_scheme(call: Call) -> Response:
    section_id = call.path_int("section_id")
    scheme = _scheme(call.body)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await section_scheme.set_scheme(session, principal, section_id, scheme, call.now)

    return await call.command(work)


@router.endpoint("GET", SECTION + "/scheme",
                 summary="评标办法 (the section's evaluation scheme, or the default)",
                 tag="evaluation")
async def read_scheme(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await section_scheme.read_scheme(session, principal, section_id)

    return await call.read(work)


@router.endpoint("GET", SECTION + "/bids",
                 summary="评标：开启的投标 (the opened bids; sitting committee members only)",
                 tag="evaluation")
async def evaluation_bids(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await review.read_bids(session, principal, section_id, call.services.rules)

    return await call.read(work)


@router.endpoint("POST", SECTION + "/verdicts",
                 summary="资格/符合性审查结论 (a member's pass/fail verdicts, each with a reason)",
                 tag="evaluation", body=VerdictsIn)
async def record_verdicts(call: Call) -> Response:
    section_id = call.path_int("section_id")
    verdicts = [review.VerdictIn(v.bid_id, v.item, v.passed, v.reason)
                for v in call.body.verdicts]

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await review.record_verdicts(session, principal, section_id, verdicts,
                                            call.services.rules, call.now)

    return await call.command(work)


@router.endpoint("POST", BID + "/explanation",
                 summary="要求异常低价说明 (ask the bidder to explain an abnormally low price)",
                 tag="evaluation", body=QuestionIn, status=201)
async def request_explanation(call: Call) -> Response:
    section_id, bid_id = call.path_int("section_id"), _bid_id(call)
    question = call.body.question

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await review.request_explanation(session, principal, section_id, bid_id,
                                                question, call.services.rules, call.now)

    return await call.command(work, status=201)


@router.endpoint("GET", BID + "/explanation",
                 summary="异常低价说明 (the explanation: its bidder, the host, the members)",
                 tag="evaluation")
async def view_explanation(call: Call) -> Result:
    section_id, bid_id = call.path_int("section_id"), _bid_id(call)

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await review.view_explanation(session, principal, section_id, bid_id,
                                             call.services.rules)

    return await call.read(work)


@router.endpoint("POST", BID + "/explanation/answer",
                 summary="投标人作出书面说明 (the bidder explains its price, before the deadline)",
                 tag="evaluation", body=AnswerIn)
async def answer_explanation(call: Call) -> Response:
    section_id, bid_id = call.path_int("section_id"), _bid_id(call)
    answer = call.body.answer

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await review.answer_explanation(session, principal, section_id, bid_id, answer,
                                               call.services.rules, call.now)

    return await call.command(work)


@router.endpoint("POST", BID + "/explanation/votes",
                 summary="表决异常低价说明 (a member votes to accept or reject the explanation)",
                 tag="evaluation", body=VoteIn)
async def vote_explanation(call: Call) -> Response:
    section_id, bid_id = call.path_int("section_id"), _bid_id(call)
    body: VoteIn = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await review.vote_explanation(session, principal, section_id, bid_id,
                                             body.accept, body.reason, call.services.rules,
                                             call.now)

    return await call.command(work)


@router.endpoint("POST", BID + "/clarifications",
                 summary="要求投标人澄清 (ask the bidder to clarify its bid; 条例 Art. 52)",
                 tag="evaluation", body=QuestionIn, status=201)
async def ask_bid_clarification(call: Call) -> Response:
    section_id, bid_id = call.path_int("section_id"), _bid_id(call)
    question = call.body.question

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await review.ask_clarification(session, principal, section_id, bid_id,
                                              question, call.services.rules, call.now)

    return await call.command(work, status=201)


@router.endpoint("GET", BID + "/clarifications",
                 summary="澄清 (the clarifications of a bid: its bidder, the host, the members)",
                 tag="evaluation")
async def list_bid_clarifications(call: Call) -> Result:
    section_id, bid_id = call.path_int("section_id"), _bid_id(call)

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await review.list_clarifications(session, principal, section_id, bid_id,
                                                call.services.rules)

    return await call.read(work)


@router.endpoint("POST", BID + "/clarifications/{number:int}/answer",
                 summary="投标人答复澄清 (the bidder answers; the bid itself never changes)",
                 tag="evaluation", body=AnswerIn)
async def answer_bid_clarification(call: Call) -> Response:
    section_id, bid_id = call.path_int("section_id"), _bid_id(call)
    number = call.path_int("number")
    answer = call.body.answer

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await review.answer_clarification(session, principal, section_id, bid_id,
                                                 number, answer, call.services.rules, call.now)

    return await call.command(work)


@router.endpoint("POST", SECTION + "/score-sheets",
                 summary="提交签名评分表 (a member submits their signed score sheet; final)",
                 tag="evaluation", body=SheetIn, status=201)
async def submit_sheet(call: Call) -> Response:
    section_id = call.path_int("section_id")
    body: SheetIn = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await sheets.submit_sheet(session, principal, section_id, body.scores,
                                         body.key_id, body.signature, call.services.rules,
                                         call.now)

    return await call.command(work, status=201)


@router.endpoint("GET", SECTION + "/result",
                 summary="评标结果 (ranking and candidates from the stored sheets; the host and "
                         "the members)", tag="evaluation")
async def evaluation_result(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await result.section_result(session, principal, section_id,
                                           call.services.rules)

    return await call.read(work)


# -- the evaluation report (评标报告; docs/award.md) -------------------------------------------

#: The report schema's text (at most 4000 characters).
ReportText = Annotated[str, Field(min_length=1, max_length=4000), LINES]


class DissentIn(Strict):
    """A member's written dissent (条例 Art. 53), before anyone signs."""

    opinion: ReportText
    reasons: ReportText


class ReportSignatureIn(Strict):
    """The member's signature over :func:`tradesys.documents.evaluation_report.signing_message`
    of the current report body, with their own registered signing key."""

    key_id: KeyId
    signature: SignatureText


class RefusalIn(Strict):
    seat: Annotated[int, Field(ge=1, le=25)]


REPORT = SECTION + "/report"


@router.endpoint("POST", REPORT,
                 summary="起草评标报告 (the host drafts the report from the complete result)",
                 tag="evaluation", status=201)
async def draft_report(call: Call) -> Response:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await report.draft_report(session, principal, section_id, call.services.rules,
                                         call.now)

    return await call.command(work, status=201)


@router.endpoint("GET", REPORT,
                 summary="评标报告 (the report with its signatures: host, procurer, sitting "
                         "members, supervisors)", tag="evaluation")
async def read_report(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await report.read_report(session, principal, section_id, call.services.rules)

    return await call.read(work)


@router.endpoint("GET", REPORT + ".pdf",
                 summary="评标报告 PDF (the same readers)", tag="evaluation",
                 produces=Content(("application/pdf",)))
async def report_pdf(call: Call) -> Response:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await report.report_pdf(session, principal, section_id, call.services.rules)

    body = await call.read(work)
    pdf = await asyncio.to_thread(render_report_pdf, body)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f"inline; filename=evaluation-report-{section_id}.pdf",
        "Cache-Control": "no-store"})


@router.endpoint("POST", REPORT + "/dissent",
                 summary="不同意见 (a member's written dissent; before anyone signs)",
                 tag="evaluation", body=DissentIn)
async def report_dissent(call: Call) -> Response:
    section_id = call.path_int("section_id")
    body: DissentIn = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await report.dissent(session, principal, section_id, body.opinion, body.reasons,
                                    call.services.rules, call.now)

    return await call.command(work)


@router.endpoint("POST", REPORT + "/signatures",
                 summary="签署评标报告 (a member signs the report with their own key)",
                 tag="evaluation", body=ReportSignatureIn)
async def sign_report(call: Call) -> Response:
    section_id = call.path_int("section_id")
    body: ReportSignatureIn = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await report.sign_report(session, principal, section_id, body.key_id,
                                        body.signature, call.services.rules, call.now)

    return await call.command(work)


@router.endpoint("POST", REPORT + "/refusals",
                 summary="记录拒签 (the host records a member who neither signed nor dissented "
                         "by the deadline: taken to agree, 条例 Art. 53)",
                 tag="evaluation", body=RefusalIn)
async def record_refusal(call: Call) -> Response:
    section_id = call.path_int("section_id")
    seat = call.body.seat

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return await report.record_refusal(session, principal, section_id, seat,
                                           call.services.rules, call.now)

    return await call.command(work)
