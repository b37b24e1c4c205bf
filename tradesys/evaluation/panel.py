"""The evaluation committee (评标委员会) of a section: the request, the auditable draw,
replacement after a declared conflict, and who may see the members.

A draw is two transactions, each with one event (docs/evaluation.md §5 says why):

1. ``panel.draw_committed``: the request, the eligible pool snapshot (user ids, ascending), the
   avoided experts, and SHA-256 of a fresh 32-byte CSPRNG seed. Committed before the result is
   computed by anyone: every attempt is in the log for good, even one that is never revealed.
2. ``panel.draw_revealed``: the seed and the members, which are ``draw(seed, pool, seats)``
   (:mod:`tradesys.evaluation.draw`). ``tradesys verify draw`` re-runs it from the log.

The seed lives only in memory between the two. Should the process die between them, the draw
stays ``committed`` for ever (visible, never revealed) and the agency must draw again, which
needs a recorded reason, like any second full draw.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.models import Bid
from tradesys.clock import isoformat_utc
from tradesys.db.database import Database
from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.evaluation import avoidance, draw, experts
from tradesys.evaluation.composition import check_composition
from tradesys.evaluation.models import PanelDraw, PanelMember
from tradesys.events.log import append_event
from tradesys.identity.models import Organisation, User
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Grant, Role
from tradesys.opening.models import Opening
from tradesys.opening.state import CLOSED, FAILED
from tradesys.procurement.access import Action, authorize_project, grants_of, supervises
from tradesys.procurement.entrustment import GrantStatus
from tradesys.procurement.kinds import Procedure
from tradesys.procurement.models import Project, ProjectGrant, Section
from tradesys.procurement.rules import RuleBook

AGGREGATE = "panel"
FULL, REPLACEMENT = "full", "replacement"
COMMITTED, REVEALED, ABANDONED = "committed", "revealed", "abandoned"
ACTIVE, WITHDRAWN, SUPERSEDED = "active", "withdrawn", "superseded"
EXPERT, REPRESENTATIVE = "expert", "representative"

SeedSource = Callable[[], bytes]


@dataclass(frozen=True)
class PanelRequest:
    size: int
    specialties: list[str]
    representatives: list[int] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    #: Required for every full draw after the first (why the committee is drawn again).
    reason: str | None = None

    def logged(self) -> dict[str, Any]:
        return {"size": self.size, "specialties": sorted(set(self.specialties)),
                "representatives": list(self.representatives),
                "regions": sorted(set(self.regions))}


@dataclass(frozen=True)
class Pending:
    """A committed draw awaiting its reveal (the seed never leaves this process)."""

    draw_id: int
    number: int
    section_id: int
    project_id: int
    seed: bytes
    pool: tuple[int, ...]
    seats: int
    #: Seat numbers the drawn experts take, in draw order.
    seat_numbers: tuple[int, ...]
    kind: str


# -- reading the section --------------------------------------------------------------------

async def _section(session: AsyncSession, section_id: int, *, lock: bool) -> Section:
    section = await session.get(Section, section_id, with_for_update=lock,
                                populate_existing=lock)
    if section is None:
        raise NotFound("section_not_found", "标段不存在 (no such section)")
    return section


async def _require_published_record(session: AsyncSession, section_id: int) -> None:
    opening = await session.get(Opening, section_id)
    if opening is not None and opening.phase == FAILED:
        raise Conflict("tender_failed", "本标段已流标，不组建评标委员会 (the tender of this "
                       "section failed at the opening: there is nothing to evaluate)")
    if opening is None or opening.phase != CLOSED:
        raise Conflict("opening_record_not_published",
                       "开标记录尚未发布，不能组建评标委员会 (the opening record of this "
                       "section is not published yet: no committee before it)")


async def _org(session: AsyncSession, org_id: int) -> avoidance.Party:
    org = await session.get_one(Organisation, org_id)
    return avoidance.Party(org.id, org.credit_code)


async def parties_of(session: AsyncSession, project: Project, section_id: int
                     ) -> avoidance.Parties:
    bidder_orgs = (await session.execute(
        select(Bid.org_id).where(Bid.section_id == section_id).distinct())).scalars().all()
    supervisor_orgs = (await session.execute(
        select(ProjectGrant.org_id).where(
            ProjectGrant.project_id == project.id,
            ProjectGrant.grant == Grant.SUPERVISOR.value,
            ProjectGrant.status == GrantStatus.ACTIVE.value))).scalars().all()
    return avoidance.Parties(
        bidders=tuple([await _org(session, org_id) for org_id in sorted(set(bidder_orgs))]),
        procurer=await _org(session, project.procurer_org_id),
        agency=(await _org(session, project.agency_org_id)
                if project.agency_org_id is not None else None),
        supervisors=tuple([await _org(session, o) for o in sorted(set(supervisor_orgs))]))


async def _draws(session: AsyncSession, section_id: int) -> list[PanelDraw]:
    return list((await session.execute(
        select(PanelDraw).where(PanelDraw.section_id == section_id)
        .order_by(PanelDraw.number))).scalars().all())


async def _members(session: AsyncSession, section_id: int, *statuses: str
                   ) -> list[PanelMember]:
    query = select(PanelMember).where(PanelMember.section_id == section_id)
    if statuses:
        query = query.where(PanelMember.status.in_(statuses))
    return list((await session.execute(query.order_by(PanelMember.seat, PanelMember.id)))
                .scalars().all())


def _too_few(needed: int, eligible: int) -> Conflict:
    return Conflict("too_few_experts",
                    f"符合条件且无需回避的专家不足：需要 {needed} 名，仅有 {eligible} 名，"
                    "未进行抽取 "
                    f"(too few eligible experts: {needed} needed, {eligible} eligible; nothing "
                    "was drawn; 条例 Art. 46)", details={"needed": needed, "eligible": eligible})


async def _check_representatives(session: AsyncSession, project: Project,
                                 ids: list[int]) -> None:
    if len(set(ids)) != len(ids):
        raise Invalid("bad_representative", "招标人代表重复 (a representative is named twice)")
    for user_id in ids:
        user = await session.get(User, user_id)
        if (user is None or not user.active or user.role != Role.PROCURER.value
                or user.org_id != project.procurer_org_id):
            raise Invalid("bad_representative",
                          f"用户 {user_id} 不是本项目招标人的在职用户 (user {user_id} is not an "
                          "active user of this project's procurer; 法 Art. 37)")


# -- commit and reveal ----------------------------------------------------------------------

async def _commit(session: AsyncSession, principal: Principal, *, section: Section,
                  project: Project, kind: str, request: dict[str, Any], seats: int,
                  seat_numbers: tuple[int, ...], screening: avoidance.Screening,
                  reason: str | None, now: datetime, seed: bytes,
                  extra: dict[str, Any] | None = None) -> Pending:
    number = ((await session.execute(select(func.max(PanelDraw.number)).where(
        PanelDraw.section_id == section.id))).scalar_one() or 0) + 1
    digest = draw.commitment(seed)
    row = PanelDraw(section_id=section.id, project_id=project.id, number=number, kind=kind,
                    state=COMMITTED, seats=seats, commitment=digest,
                    request=json.dumps(request, sort_keys=True), reason=reason,
                    created_by=principal.user_id, created_at=now)
    session.add(row)
    await session.flush()
    await append_event(
        session, actor=principal.actor, at=now, aggregate_type=AGGREGATE,
        aggregate_id=section.id, project_id=project.id, type="panel.draw_committed",
        payload={"draw": number, "kind": kind, "seats": seats, "commitment": digest,
                 "pool": list(screening.eligible),
                 "avoided": {str(k): v for k, v in screening.avoided.items()},
                 "request": request, "reason": reason, **(extra or {})})
    return Pending(row.id, number, section.id, project.id, seed, screening.eligible, seats,
                   seat_numbers, kind)


async def _reveal(session: AsyncSession, principal: Principal, pending: Pending,
                  now: datetime) -> list[int]:
    row = await session.get_one(PanelDraw, pending.draw_id, with_for_update=True,
                                populate_existing=True)
    if row.state != COMMITTED:  # a concurrent full draw abandoned it meanwhile
        raise Conflict("draw_abandoned", "该次抽取已被新的抽取取代 (this draw was superseded "
                       "by a newer one before it was revealed)")
    members = draw.draw(pending.seed, pending.pool, pending.seats)
    for user_id, seat in zip(members, pending.seat_numbers, strict=True):
        session.add(PanelMember(section_id=pending.section_id, draw_id=row.id, user_id=user_id,
                                kind=EXPERT, seat=seat, status=ACTIVE, joined_at=now))
    row.state, row.revealed_at = REVEALED, now
    await session.flush()
    await append_event(
        session, actor=principal.actor, at=now, aggregate_type=AGGREGATE,
        aggregate_id=pending.section_id, project_id=pending.project_id,
        type="panel.draw_revealed",
        payload={"draw": pending.number, "seed": pending.seed.hex(), "members": members,
                 "seats": list(pending.seat_numbers)})
    return members


# -- the commands ---------------------------------------------------------------------------

async def request_panel(db: Database, principal: Principal, section_id: int,
                        request: PanelRequest, now: datetime, rules: RuleBook,
                        seed_source: SeedSource = draw.new_seed) -> dict[str, Any]:
    """The host agency (or the procurer running its own tender) draws the committee."""
    async with db.transaction() as session:
        pending = await _commit_full(session, principal, section_id, request, now, rules,
                                     seed_source())
    async with db.transaction() as session:
        await _reveal(session, principal, pending, now)
    async with db.reading() as session:
        return await view_panel(session, principal, section_id)


async def _commit_full(session: AsyncSession, principal: Principal, section_id: int,
                       request: PanelRequest, now: datetime, rules: RuleBook,
                       seed: bytes) -> Pending:
    probe = await _section(session, section_id, lock=False)
    project = await authorize_project(session, principal, probe.project_id, Action.MANAGE)
    section = await _section(session, section_id, lock=True)
    await _require_published_record(session, section.id)
    book = rules.for_procedure(Procedure(project.procedure))
    experts_needed = check_composition(request.size, len(request.representatives), book)
    await _check_representatives(session, project, request.representatives)
    earlier = [d for d in await _draws(session, section.id) if d.kind == FULL]
    reason = (request.reason or "").strip() or None
    if earlier and reason is None:
        raise Conflict("redraw_reason_required",
                       "本标段已抽取过评标委员会，重新抽取须记录理由 (this section's committee was "
                       "already drawn: a new full draw needs a recorded reason)")
    criteria = avoidance.Criteria(specialties=frozenset(request.specialties),
                                  regions=frozenset(request.regions),
                                  excluded=frozenset(request.representatives))
    screening = avoidance.screen(await experts.candidates(session),
                                 await parties_of(session, project, section.id), criteria)
    if len(screening.eligible) < experts_needed:
        raise _too_few(experts_needed, len(screening.eligible))
    # The earlier committee (and any draw never revealed) gives way to the new one.
    await session.execute(update(PanelDraw).where(
        PanelDraw.section_id == section.id, PanelDraw.state == COMMITTED)
        .values(state=ABANDONED))
    await session.execute(update(PanelMember).where(
        PanelMember.section_id == section.id, PanelMember.status == ACTIVE)
        .values(status=SUPERSEDED, left_at=now))
    pending = await _commit(
        session, principal, section=section, project=project, kind=FULL,
        request=request.logged(), seats=experts_needed,
        seat_numbers=tuple(range(1, experts_needed + 1)), screening=screening,
        reason=reason, now=now, seed=seed)
    for offset, user_id in enumerate(request.representatives):
        session.add(PanelMember(section_id=section.id, draw_id=pending.draw_id,
                                user_id=user_id, kind=REPRESENTATIVE,
                                seat=experts_needed + offset + 1, status=ACTIVE, joined_at=now))
    await session.flush()
    return pending


async def declare_conflict(db: Database, principal: Principal, section_id: int, reason: str,
                           now: datetime, seed_source: SeedSource = draw.new_seed
                           ) -> dict[str, Any]:
    """A drawn expert withdraws for a conflict of interest (回避, 条例 Art. 46); a replacement
    draw fills the seat from the remaining eligible pool. The withdrawn member's conclusions
    are void (条例 Art. 48): the scoring step (a later increment) must discard them."""
    async with db.transaction() as session:
        pending = await _commit_replacement(session, principal, section_id, reason, now,
                                            seed_source())
    async with db.transaction() as session:
        await _reveal(session, principal, pending, now)
    # The member who withdrew is no longer on the committee: they learn their seat is filled,
    # not by whom.
    return {"section_id": section_id, "withdrawn": True, "seat": pending.seat_numbers[0],
            "replacement_draw": pending.number}


async def _commit_replacement(session: AsyncSession, principal: Principal, section_id: int,
                              reason: str, now: datetime, seed: bytes) -> Pending:
    principal.require_role(Role.EXPERT)
    section = await _section(session, section_id, lock=True)
    seat = next((m for m in await _members(session, section_id, ACTIVE)
                 if m.user_id == principal.user_id and m.kind == EXPERT), None)
    if seat is None:
        raise NotFound("not_a_member", "您不是本标段评标委员会的成员 (you are not a member of "
                       "this section's committee)")
    draws = await _draws(session, section_id)
    if any(d.state == COMMITTED for d in draws):
        raise Conflict("draw_pending", "有一次抽取尚未揭晓 (a draw of this section was never "
                       "revealed: the agency must draw the committee again)")
    full = [d for d in draws if d.kind == FULL][-1]
    project = await session.get_one(Project, section.project_id)
    request = json.loads(full.request)
    everyone = {m.user_id for m in await _members(session, section_id)}
    criteria = avoidance.Criteria(specialties=frozenset(request["specialties"]),
                                  regions=frozenset(request["regions"]),
                                  excluded=frozenset(everyone))
    screening = avoidance.screen(await experts.candidates(session),
                                 await parties_of(session, project, section_id), criteria)
    if not screening.eligible:
        raise _too_few(1, 0)
    seat.status, seat.reason, seat.left_at = WITHDRAWN, reason, now
    await session.flush()
    await append_event(session, actor=principal.actor, at=now, aggregate_type=AGGREGATE,
                       aggregate_id=section_id, project_id=project.id,
                       type="panel.member_withdrew",
                       payload={"user_id": principal.user_id, "seat": seat.seat,
                                "reason": reason})
    return await _commit(
        session, principal, section=section, project=project, kind=REPLACEMENT,
        request=request, seats=1, seat_numbers=(seat.seat,), screening=screening,
        reason=reason, now=now, seed=seed, extra={"replaces": principal.user_id,
                                                  "seat": seat.seat})


# -- who may see the committee --------------------------------------------------------------

async def may_see_members(session: AsyncSession, principal: Principal, project: Project,
                          section_id: int) -> bool:
    """法 Art. 37, 44: the members stay secret until the result; the host agency, the
    procurer, supervisors and the members themselves know them. Never bidders, the public, nor
    the platform operator."""
    if principal.role is Role.SUPERVISOR:
        return await supervises(session, principal, project.id)
    if principal.role in (Role.AGENCY, Role.PROCURER):
        held = await grants_of(session, project.id, principal.org_id)
        return bool(held & {Grant.HOST, Grant.OWNER})
    if principal.role is Role.EXPERT:
        return principal.user_id in {m.user_id for m in await _members(
            session, section_id, ACTIVE)}
    return False


async def view_panel(session: AsyncSession, principal: Principal, section_id: int
                     ) -> dict[str, Any]:
    section = await _section(session, section_id, lock=False)
    if principal.role is Role.EXPERT:  # members hold no project grant: membership is the test
        project = await session.get_one(Project, section.project_id)
    else:
        project = await authorize_project(session, principal, section.project_id, Action.VIEW)
    if not await may_see_members(session, principal, project, section_id):
        raise Forbidden("panel_confidential",
                        "评标委员会成员名单在中标结果确定前保密 (the committee's members are "
                        "confidential until the result is decided; 法 Art. 37)")
    members = await _members(session, section_id)
    users = {u.id: u for u in (await session.execute(select(User).where(
        User.id.in_({m.user_id for m in members} or {0})))).scalars()}
    orgs = {o.id: o for o in (await session.execute(select(Organisation).where(
        Organisation.id.in_({u.org_id for u in users.values()} or {0})))).scalars()}
    draws = await _draws(session, section_id)
    return {
        "section_id": section_id,
        "members": [
            {"user_id": m.user_id, "name": users[m.user_id].display_name,
             "organisation": orgs[users[m.user_id].org_id].name, "kind": m.kind,
             "seat": m.seat, "status": m.status, "reason": m.reason,
             "draw": next(d.number for d in draws if d.id == m.draw_id)}
            for m in members if m.status != SUPERSEDED],
        "draws": [{"number": d.number, "kind": d.kind, "state": d.state, "seats": d.seats,
                   "commitment": d.commitment, "reason": d.reason} for d in draws],
    }


# -- where a user sits ---------------------------------------------------------------------

async def my_seats(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    """The sections whose committee the caller sits on now (seat ``active``), for the expert
    workbench. It tells the caller only about their own seats: nothing about other members,
    and nothing about a seat they left (their conclusions there are void, §15)."""
    rows = (await session.execute(
        select(PanelMember, Section, Project)
        .join(Section, Section.id == PanelMember.section_id)
        .join(Project, Project.id == Section.project_id)
        .where(PanelMember.user_id == principal.user_id, PanelMember.status == ACTIVE)
        .order_by(PanelMember.joined_at.desc(), PanelMember.id.desc()))).all()
    return {"items": [
        {"section_id": section.id, "section_code": section.code, "section_name": section.name,
         "project_id": project.id, "project_name": project.name, "seat": member.seat,
         "kind": member.kind, "joined_at": isoformat_utc(member.joined_at)}
        for member, section, project in rows]}
