"""Evaluation (评标) over HTTP: the expert pool and the committee draw (docs/evaluation.md).

The draw endpoints run two transactions (commit, then reveal: docs/evaluation.md §5), so they
do not take ``Idempotency-Key``: a repeated request is refused as a second draw without a
reason (``redraw_reason_required``), which is the safe answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradesys.api.routing import Call, Result, Router, json_response, to_json
from tradesys.evaluation import experts, panel
from tradesys.identity.models import User
from tradesys.identity.principal import Principal
from tradesys.procurement.commands import CreditCode
from tradesys.strict import Strict

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
