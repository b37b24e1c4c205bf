"""The committee's work on a section's opened bids (评标): reading them, the pass/fail review
(资格/符合性审查), the written explanation of an abnormally low price, and clarifications.

Who: the **sitting** members of the section's committee (``panel_members.status = active``),
and no one else reads the bids — not bidders, not another section's members, not the host. A
member who withdrew for a conflict, or whose committee a new full draw replaced, no longer
sits; everything they recorded is void (条例 Art. 48) and is left out wherever conclusions are
counted (:func:`sitting_members` is the one list every count starts from). Nothing is readable
before the opening record is published. Every command is one event on the section's
``evaluation`` aggregate, in the transaction that makes the change.

How the committee decides a question put to it as a body (an explanation accepted or not, a
bid failing a review item): more than half of the sitting members (a simple majority of the
committee, not of those who happened to vote), so that a decision cannot flip when a member
who has not voted yet does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.models import Bid
from tradesys.bids.opening import DECRYPTED
from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.evaluation import methods
from tradesys.evaluation import scheme as schemes
from tradesys.evaluation.models import (
    BidClarification,
    ExplanationVote,
    PanelMember,
    PriceExplanation,
    ReviewVerdict,
)
from tradesys.evaluation.panel import ACTIVE, _require_published_record
from tradesys.evaluation.section_scheme import AGGREGATE, scheme_of, section_of
from tradesys.events.log import append_event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Grant, Role
from tradesys.procurement.access import grants_of
from tradesys.procurement.kinds import Procedure
from tradesys.procurement.models import Project, Section
from tradesys.procurement.rules import PeriodRules, RuleBook


@dataclass
class Context:
    section: Section
    project: Project
    rules: PeriodRules
    scheme: schemes.Scheme
    #: The sitting members, by seat.
    members: list[PanelMember]
    #: The opened (decrypted) bids, in order of receipt.
    bids: list[Bid]

    @property
    def ceiling(self) -> Decimal | None:
        return self.section.ceiling_price

    def member_of(self, principal: Principal) -> PanelMember | None:
        return next((m for m in self.members if m.user_id == principal.user_id), None)

    def bid(self, public_id: str) -> Bid | None:
        return next((b for b in self.bids if b.public_id == public_id), None)

    def facts(self) -> list[methods.BidFacts]:
        return [methods.BidFacts(b.public_id, price_of(b), b.received_at) for b in self.bids]

    def flagged(self) -> set[str]:
        return methods.flagged_low(self.facts(), self.ceiling, self.rules)

    def within_ceiling(self) -> list[Bid]:
        return [b for b in self.bids if self.ceiling is None or price_of(b) <= self.ceiling]

    def majority(self, count: int) -> bool:
        return 2 * count > len(self.members)


def _maybe(value: datetime | None) -> str | None:
    return None if value is None else isoformat_utc(value)


def price_of(bid: Bid) -> Decimal:
    assert bid.summary is not None
    return Decimal(json_loads(bid.summary)["price"])


def json_loads(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value


async def sitting_members(session: AsyncSession, section_id: int) -> list[PanelMember]:
    return list((await session.execute(select(PanelMember).where(
        PanelMember.section_id == section_id, PanelMember.status == ACTIVE)
        .order_by(PanelMember.seat, PanelMember.id))).scalars().all())


async def load(session: AsyncSession, section_id: int, rules: RuleBook, *,
               lock: bool = False) -> Context:
    section = await section_of(session, section_id, lock=lock)
    await _require_published_record(session, section_id)
    project = await session.get_one(Project, section.project_id)
    scheme, _default = await scheme_of(session, section_id)
    bids = list((await session.execute(select(Bid).where(
        Bid.section_id == section_id, Bid.outcome == DECRYPTED)
        .order_by(Bid.received_at, Bid.id))).scalars().all())
    return Context(section, project, rules.for_procedure(Procedure(project.procedure)), scheme,
                   await sitting_members(session, section_id), bids)


def not_a_member() -> Forbidden:
    return Forbidden("not_a_sitting_member", "仅本标段评标委员会在任成员可进行此操作 (only a "
                     "sitting member of this section's committee may do this)")


def require_member(ctx: Context, principal: Principal) -> PanelMember:
    member = ctx.member_of(principal)
    if member is None:
        raise not_a_member()
    return member


async def is_host(session: AsyncSession, principal: Principal, project: Project) -> bool:
    """The agency hosting the tender (or the procurer running its own)."""
    if principal.role not in (Role.AGENCY, Role.PROCURER):
        return False
    held = await grants_of(session, project.id, principal.org_id)
    manager = Grant.HOST if project.agency_org_id is not None else Grant.OWNER
    return manager in held


async def require_host_or_member(session: AsyncSession, principal: Principal,
                                 ctx: Context) -> None:
    if ctx.member_of(principal) is None and not await is_host(session, principal, ctx.project):
        raise Forbidden("not_host_or_member", "仅招标代理机构（或自行招标的招标人）或评标委员会"
                        "在任成员可进行此操作 (only the host or a sitting committee member may do "
                        "this)")


def _bid_in_path(ctx: Context, public_id: str) -> Bid:
    bid = ctx.bid(public_id)
    if bid is None:
        raise NotFound("bid_not_found", "本标段没有该开启的投标 (no such opened bid in this "
                       "section)")
    return bid


async def record_event(session: AsyncSession, principal: Principal, ctx: Context,
                       now: datetime, kind: str, payload: dict[str, Any]) -> None:
    """Append ``evaluation.<kind>`` on the section's aggregate, for the steps taken on a loaded
    review context: the review here and the report in tradesys.award.report."""
    await append_event(session, actor=principal.actor, at=now, aggregate_type=AGGREGATE,
                       aggregate_id=ctx.section.id, project_id=ctx.project.id,
                       type=f"evaluation.{kind}", payload=payload)


# -- reading the bids -----------------------------------------------------------------------

async def read_bids(session: AsyncSession, principal: Principal, section_id: int,
                    rules: RuleBook) -> dict[str, Any]:
    ctx = await load(session, section_id, rules)
    require_member(ctx, principal)
    flagged = ctx.flagged()
    orgs = {o.id: o for o in (await session.execute(select(Organisation).where(
        Organisation.id.in_({b.org_id for b in ctx.bids} or {0})))).scalars()}
    explanations = {e.bid_id: e for e in (await session.execute(select(PriceExplanation).where(
        PriceExplanation.section_id == section_id))).scalars()}
    items = []
    for bid in ctx.bids:
        price = price_of(bid)
        explanation = explanations.get(bid.id)
        items.append({
            "bid_id": bid.public_id, "bidder": orgs[bid.org_id].name,
            "credit_code": orgs[bid.org_id].credit_code,
            "received_at": isoformat_utc(bid.received_at),
            "summary": json_loads(bid.summary or "{}"),
            "above_ceiling": ctx.ceiling is not None and price > ctx.ceiling,
            "abnormally_low": bid.public_id in flagged,
            "explanation": None if explanation is None else await _explanation_view(
                session, ctx, explanation)})
    return {"section_id": section_id,
            "ceiling_price": None if ctx.ceiling is None else str(ctx.ceiling),
            "method": ctx.scheme.method, "scheme_sha256": ctx.scheme.sha256(), "items": items}


# -- the pass/fail review -------------------------------------------------------------------

@dataclass(frozen=True)
class VerdictIn:
    bid_id: str
    item: str
    passed: bool
    reason: str


async def record_verdicts(session: AsyncSession, principal: Principal, section_id: int,
                          verdicts: list[VerdictIn], rules: RuleBook, now: datetime
                          ) -> dict[str, Any]:
    """A member's conclusions on review items, each with its reason; a later verdict on the
    same item of the same bid replaces the member's earlier one (both stay in the log)."""
    ctx = await load(session, section_id, rules, lock=True)
    member = require_member(ctx, principal)
    items = {r.id for r in ctx.scheme.compliance}
    seen: set[tuple[str, str]] = set()
    for verdict in verdicts:
        if ctx.bid(verdict.bid_id) is None:
            raise Invalid("bid_not_in_section", f"投标 {verdict.bid_id} 不是本标段开启的投标 "
                          f"(bid {verdict.bid_id} is not an opened bid of this section)")
        if verdict.item not in items:
            raise Invalid("unknown_item", f"评审项 {verdict.item} 不在本标段评标办法中 (review "
                          f"item {verdict.item} is not in this section's scheme)")
        if (verdict.bid_id, verdict.item) in seen:
            raise Invalid("duplicate_verdict", "同一投标的同一评审项出现两次 (the same item of "
                          "the same bid appears twice)")
        seen.add((verdict.bid_id, verdict.item))
    existing = {(v.bid_id, v.item): v for v in (await session.execute(select(ReviewVerdict)
                .where(ReviewVerdict.member_id == member.id))).scalars()}
    for verdict in verdicts:
        bid = ctx.bid(verdict.bid_id)
        assert bid is not None
        row = existing.get((bid.id, verdict.item))
        if row is None:
            row = ReviewVerdict(section_id=section_id, member_id=member.id, bid_id=bid.id,
                                item=verdict.item)
            session.add(row)
        row.passed, row.reason, row.recorded_at = verdict.passed, verdict.reason, now
    await session.flush()
    await record_event(session, principal, ctx, now, "verdicts_recorded", {
        "member": principal.user_id, "seat": member.seat,
        "verdicts": [{"bid_id": v.bid_id, "item": v.item, "passed": v.passed,
                      "reason": v.reason} for v in verdicts]})
    return {"section_id": section_id, "recorded": len(verdicts)}


async def failed_items(session: AsyncSession, ctx: Context) -> tuple[dict[str, list[str]], int]:
    """Per bid, the review items a majority of the sitting members failed it on; and how many
    verdicts the sitting members still owe on the bids within the ceiling."""
    seats = {m.id for m in ctx.members}
    rows = [v for v in (await session.execute(select(ReviewVerdict).where(
        ReviewVerdict.section_id == ctx.section.id))).scalars() if v.member_id in seats]
    by_bid = {b.id: b.public_id for b in ctx.bids}
    fails: dict[tuple[str, str], int] = {}
    for row in rows:
        if not row.passed and row.bid_id in by_bid:
            key = (by_bid[row.bid_id], row.item)
            fails[key] = fails.get(key, 0) + 1
    failed: dict[str, list[str]] = {}
    for (bid_id, item), count in sorted(fails.items()):
        if ctx.majority(count):
            failed.setdefault(bid_id, []).append(item)
    items = {r.id for r in ctx.scheme.compliance}
    given = {(r.member_id, r.bid_id, r.item) for r in rows if r.item in items}
    owed = sum(1 for m in ctx.members for b in ctx.within_ceiling() for i in items
               if (m.id, b.id, i) not in given)
    return failed, owed


# -- abnormally low prices ------------------------------------------------------------------

async def _explanation(session: AsyncSession, bid: Bid) -> PriceExplanation | None:
    return (await session.execute(select(PriceExplanation).where(
        PriceExplanation.bid_id == bid.id))).scalar_one_or_none()


async def _votes(session: AsyncSession, ctx: Context, explanation: PriceExplanation
                 ) -> list[ExplanationVote]:
    seats = {m.id for m in ctx.members}
    return [v for v in (await session.execute(select(ExplanationVote).where(
        ExplanationVote.explanation_id == explanation.id).order_by(ExplanationVote.id)))
        .scalars() if v.member_id in seats]


def decision(ctx: Context, votes: list[ExplanationVote]) -> str | None:
    accepts = sum(1 for v in votes if v.accept)
    if ctx.majority(accepts):
        return methods.ACCEPTED
    if ctx.majority(len(votes) - accepts):
        return methods.REJECTED
    return None


async def _explanation_view(session: AsyncSession, ctx: Context, row: PriceExplanation,
                            *, with_votes: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {"question": row.question,
                            "requested_at": isoformat_utc(row.requested_at),
                            "deadline": isoformat_utc(row.deadline), "answer": row.answer,
                            "answered_at": _maybe(row.answered_at)}
    if with_votes:
        votes = await _votes(session, ctx, row)
        view["votes"] = {"accept": sum(1 for v in votes if v.accept),
                         "reject": sum(1 for v in votes if not v.accept),
                         "members": len(ctx.members)}
        view["decision"] = decision(ctx, votes)
    return view


async def request_explanation(session: AsyncSession, principal: Principal, section_id: int,
                              public_id: str, question: str, rules: RuleBook, now: datetime
                              ) -> dict[str, Any]:
    """The host or a member asks the bidder to explain an abnormally low price in writing,
    within the rule book's ``explanation_hours`` (12号令 Art. 21, 87号令 Art. 60)."""
    ctx = await load(session, section_id, rules, lock=True)
    await require_host_or_member(session, principal, ctx)
    bid = _bid_in_path(ctx, public_id)
    if public_id not in ctx.flagged():
        raise Conflict("not_abnormally_low", "该投标报价未被标记为异常低价 (this bid's price is "
                       "not flagged as abnormally low)")
    if await _explanation(session, bid) is not None:
        raise Conflict("explanation_requested", "已要求该投标人作出说明 (an explanation was "
                       "already requested of this bidder)")
    deadline = now + timedelta(hours=ctx.rules.explanation_hours)
    row = PriceExplanation(section_id=section_id, bid_id=bid.id, question=question,
                           requested_by=principal.user_id, requested_at=now, deadline=deadline)
    session.add(row)
    await session.flush()
    await record_event(session, principal, ctx, now, "explanation_requested", {
        "bid_id": public_id, "org_id": bid.org_id, "question": question,
        "deadline": isoformat_utc(deadline)})
    return {"section_id": section_id, "bid_id": public_id,
            **await _explanation_view(session, ctx, row)}


async def _bidder_explanation(session: AsyncSession, principal: Principal, ctx: Context,
                              public_id: str) -> tuple[Bid, PriceExplanation]:
    bid = ctx.bid(public_id)
    row = None if bid is None else await _explanation(session, bid)
    if bid is None or row is None or bid.org_id != principal.org_id:
        raise NotFound("explanation_not_found", "没有要求贵单位对该投标作出说明 (no explanation "
                       "was asked of your organisation for this bid)")
    return bid, row


async def view_explanation(session: AsyncSession, principal: Principal, section_id: int,
                           public_id: str, rules: RuleBook) -> dict[str, Any]:
    ctx = await load(session, section_id, rules)
    if principal.role is Role.BIDDER:
        _bid, row = await _bidder_explanation(session, principal, ctx, public_id)
        return {"section_id": section_id, "bid_id": public_id,
                **await _explanation_view(session, ctx, row, with_votes=False)}
    await require_host_or_member(session, principal, ctx)
    bid = _bid_in_path(ctx, public_id)
    found = await _explanation(session, bid)
    if found is None:
        raise NotFound("explanation_not_found", "尚未要求该投标人作出说明 (no explanation was "
                       "requested for this bid)")
    return {"section_id": section_id, "bid_id": public_id,
            **await _explanation_view(session, ctx, found)}


async def answer_explanation(session: AsyncSession, principal: Principal, section_id: int,
                             public_id: str, answer: str, rules: RuleBook, now: datetime
                             ) -> dict[str, Any]:
    """The bidder, and only the bidder of that bid, answers once, before the deadline."""
    principal.require_role(Role.BIDDER)
    ctx = await load(session, section_id, rules, lock=True)
    _bid, row = await _bidder_explanation(session, principal, ctx, public_id)
    if row.answer is not None:
        raise Conflict("explanation_answered", "已作出说明 (the explanation was already given)")
    if now >= row.deadline:
        raise Conflict("explanation_deadline_passed", "说明期限已过 (the deadline for the "
                       "explanation has passed)")
    row.answer, row.answered_by, row.answered_at = answer, principal.user_id, now
    await session.flush()
    await record_event(session, principal, ctx, now, "explanation_answered",
                       {"bid_id": public_id, "answer": answer})
    return {"section_id": section_id, "bid_id": public_id,
            **await _explanation_view(session, ctx, row, with_votes=False)}


async def vote_explanation(session: AsyncSession, principal: Principal, section_id: int,
                           public_id: str, accept: bool, reason: str, rules: RuleBook,
                           now: datetime) -> dict[str, Any]:
    """A member's vote on whether the explanation justifies the price; the committee's decision
    is a majority of the sitting members (module docstring). Votes open once the bidder has
    answered or the deadline has passed unanswered."""
    ctx = await load(session, section_id, rules, lock=True)
    member = require_member(ctx, principal)
    bid = _bid_in_path(ctx, public_id)
    row = await _explanation(session, bid)
    if row is None:
        raise Conflict("explanation_not_requested", "尚未要求该投标人作出说明 (no explanation "
                       "was requested for this bid)")
    if row.answer is None and now < row.deadline:
        raise Conflict("explanation_pending", "投标人尚未说明且期限未到 (the bidder has not "
                       "answered and the deadline has not passed)")
    if any(v.member_id == member.id for v in await _votes(session, ctx, row)):
        raise Conflict("already_voted", "您已就该说明表决 (you have already voted on this "
                       "explanation)")
    session.add(ExplanationVote(explanation_id=row.id, member_id=member.id, accept=accept,
                                reason=reason, voted_at=now))
    await session.flush()
    view = await _explanation_view(session, ctx, row)
    await record_event(session, principal, ctx, now, "explanation_voted", {
        "bid_id": public_id, "member": principal.user_id, "accept": accept, "reason": reason,
        "decision": view["decision"]})
    return {"section_id": section_id, "bid_id": public_id, **view}


async def explanation_decisions(session: AsyncSession, ctx: Context) -> dict[str, str]:
    rows = (await session.execute(select(PriceExplanation).where(
        PriceExplanation.section_id == ctx.section.id))).scalars().all()
    by_bid = {b.id: b.public_id for b in ctx.bids}
    found: dict[str, str] = {}
    for row in rows:
        made = decision(ctx, await _votes(session, ctx, row))
        if made is not None and row.bid_id in by_bid:
            found[by_bid[row.bid_id]] = made
    return found


# -- clarifications (澄清, 条例 Art. 52) ------------------------------------------------------

def _clarification_view(row: BidClarification) -> dict[str, Any]:
    return {"number": row.number, "question": row.question,
            "asked_at": isoformat_utc(row.asked_at), "answer": row.answer,
            "answered_at": _maybe(row.answered_at)}


async def ask_clarification(session: AsyncSession, principal: Principal, section_id: int,
                            public_id: str, question: str, rules: RuleBook, now: datetime
                            ) -> dict[str, Any]:
    ctx = await load(session, section_id, rules, lock=True)
    await require_host_or_member(session, principal, ctx)
    bid = _bid_in_path(ctx, public_id)
    number = (await session.scalar(select(func.max(BidClarification.number)).where(
        BidClarification.bid_id == bid.id)) or 0) + 1
    row = BidClarification(section_id=section_id, bid_id=bid.id, number=number,
                           question=question, asked_by=principal.user_id, asked_at=now)
    session.add(row)
    await session.flush()
    await record_event(session, principal, ctx, now, "clarification_requested",
                       {"bid_id": public_id, "org_id": bid.org_id, "number": number,
                        "question": question})
    return {"section_id": section_id, "bid_id": public_id, **_clarification_view(row)}


async def _readable_bid(session: AsyncSession, principal: Principal, ctx: Context,
                        public_id: str) -> Bid:
    if principal.role is Role.BIDDER:
        bid = ctx.bid(public_id)
        if bid is None or bid.org_id != principal.org_id:
            raise NotFound("bid_not_found", "本标段没有贵单位的该投标 (no such bid of yours in "
                           "this section)")
        return bid
    await require_host_or_member(session, principal, ctx)
    return _bid_in_path(ctx, public_id)


async def list_clarifications(session: AsyncSession, principal: Principal, section_id: int,
                              public_id: str, rules: RuleBook) -> dict[str, Any]:
    ctx = await load(session, section_id, rules)
    bid = await _readable_bid(session, principal, ctx, public_id)
    rows = (await session.execute(select(BidClarification).where(
        BidClarification.bid_id == bid.id).order_by(BidClarification.number))).scalars()
    return {"section_id": section_id, "bid_id": public_id,
            "items": [_clarification_view(r) for r in rows]}


async def answer_clarification(session: AsyncSession, principal: Principal, section_id: int,
                               public_id: str, number: int, answer: str, rules: RuleBook,
                               now: datetime) -> dict[str, Any]:
    """The bidder's written answer: a message beside its bid. Nothing in the bid (its summary,
    its price) changes, whatever the answer says (条例 Art. 52)."""
    principal.require_role(Role.BIDDER)
    ctx = await load(session, section_id, rules, lock=True)
    bid = await _readable_bid(session, principal, ctx, public_id)
    row = (await session.execute(select(BidClarification).where(
        BidClarification.bid_id == bid.id, BidClarification.number == number)))\
        .scalar_one_or_none()
    if row is None:
        raise NotFound("clarification_not_found", "没有该澄清要求 (no such clarification "
                       "request)")
    if row.answer is not None:
        raise Conflict("clarification_answered", "已答复 (already answered)")
    row.answer, row.answered_by, row.answered_at = answer, principal.user_id, now
    await session.flush()
    await record_event(session, principal, ctx, now, "clarification_answered",
                       {"bid_id": public_id, "number": number, "answer": answer})
    return {"section_id": section_id, "bid_id": public_id, **_clarification_view(row)}
