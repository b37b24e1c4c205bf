"""The evaluation report (评标报告, 条例 Art. 53): drafted from the stored result, signed by
every sitting member, final when all have answered.

Why in this order: the report states the committee's conclusion, so it is built from what the
committee stored (the result of :mod:`tradesys.evaluation.result`, the score sheets), never
typed in. The host drafts it once the result is complete; its SHA-256 is an event. A member
who disagrees records a dissent (opinion and reasons, in writing) **before anyone signs**: a
dissent is part of the report (``dissent``), so it changes the signed bytes, and a signature
must never be over bytes that later change. After the first signature the body is fixed. A
member who neither signs nor dissents is, after the rule book's ``report_sign_hours``,
recorded by the host as refusing without reasons: taken to agree (条例 Art. 53), the refusal
an event with who recorded it. The report is final when every sitting member has signed or is
recorded as refusing; ``evaluation.report_final`` carries the body's SHA-256.

Signatures are ECDSA P-256 by the member's own registered signing key over
:func:`tradesys.documents.evaluation_report.signing_message`, checked like a score sheet
(:mod:`tradesys.evaluation.sheets`). The report names the members, so it is readable only by
the host, the procurer, the sitting members and supervisors (never public before the award).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.award.models import EvaluationReport, ReportSignature
from tradesys.clock import isoformat_utc
from tradesys.documents import evaluation_report as documents
from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.evaluation import result as results
from tradesys.evaluation import review
from tradesys.evaluation import scheme as schemes
from tradesys.evaluation.models import PanelMember, ScoreSheet
from tradesys.evaluation.sheets import member_signing_key
from tradesys.events.canonical import canonical_json
from tradesys.identity.models import Organisation, User
from tradesys.identity.principal import Principal
from tradesys.identity.roles import ROLE_GRANTS, Role
from tradesys.opening import confirmation
from tradesys.procurement.access import grants_of, supervises
from tradesys.procurement.rules import RuleBook

SIGNED, REFUSED = "signed", "refused"
#: The scheme's category names as the report schema spells them.
CATEGORIES = {"business": "commercial"}
METHODS = {"lowest_price": "lowest_evaluated_price"}
REJECTION_BASIS = "评标办法及 条例 Art. 51 (the section's scheme and 条例 Art. 51)"


def member_ref(member: PanelMember) -> str:
    """How the report names a seat (its ``member_id``)."""
    return f"seat-{member.seat}"


async def _party(session: AsyncSession, org_id: int | None) -> dict[str, str] | None:
    if org_id is None:
        return None
    org = await session.get_one(Organisation, org_id)
    return {"name": org.name, "credit_code": org.credit_code}


async def _build(session: AsyncSession, ctx: review.Context, outcome: dict[str, Any],
                 now: datetime) -> dict[str, Any]:
    """The report body (no ``signatures``) from the stored result and sheets."""
    members = ctx.members
    users = {u.id: u for u in (await session.execute(select(User).where(
        User.id.in_({m.user_id for m in members})))).scalars()}
    chair = min(m.seat for m in members)
    committee = [{"member_id": member_ref(m), "name": users[m.user_id].display_name,
                  "role": "chair" if m.seat == chair else "member",
                  "seat": "expert" if m.kind == "expert" else "procurer_representative"}
                 for m in members]
    lines = outcome["lines"]
    code_of = {x["bid_id"]: x["credit_code"] for x in lines}
    compliant = [x for x in lines if not x["rejected"]]
    comprehensive = ctx.scheme.method == schemes.COMPREHENSIVE
    if comprehensive:
        criteria = [{"id": c.id, "name": c.name, "category": CATEGORIES.get(c.category, c.category),
                     "max_score": f"{c.max_score:f}"} for c in ctx.scheme.criteria]
    else:  # pass/fail only: the review items, each scored 0 (the schema's convention)
        criteria = [{"id": r.id, "name": r.name, "category": "commercial", "max_score": "0"}
                    for r in ctx.scheme.compliance]
    seats = {m.id: m for m in members}
    sheets = {row.member_id: json.loads(row.document)["scores"]
              for row in (await session.execute(select(ScoreSheet).where(
                  ScoreSheet.section_id == ctx.section.id))).scalars() if row.member_id in seats}
    scores = []
    for m in members:
        for x in compliant:
            if comprehensive:
                row = sheets[m.id][x["bid_id"]]
                total = sum((Decimal(v) for v in row.values()), Decimal(0))
                scores.append({"member_id": member_ref(m), "credit_code": x["credit_code"],
                               "by_criterion": dict(row), "total": f"{total:f}"})
            else:
                scores.append({"member_id": member_ref(m), "credit_code": x["credit_code"],
                               "by_criterion": {c["id"]: "0" for c in criteria}, "total": "0"})
    # A failed result ranks nobody: its compliant bids are listed in the result's order.
    ranked = sorted(compliant, key=lambda x: (x["rank"] is None, x["rank"] or 0))
    aggregate = [{"rank": n, "credit_code": x["credit_code"],
                  "score": (x["total"] or "0") if comprehensive else "0",
                  "evaluated_price": None if comprehensive else
                  {"amount": x["price"], "currency": "CNY"}}
                 for n, x in enumerate(ranked, 1)]
    return {
        "format": documents.REPORT_FORMAT,
        "report_id": f"report-{ctx.section.id}",
        "project": {"code": ctx.project.code, "name": ctx.project.name},
        "section": {"code": ctx.section.code, "name": ctx.section.name},
        "procurer": await _party(session, ctx.project.procurer_org_id),
        "agency": await _party(session, ctx.project.agency_org_id),
        "method": METHODS.get(ctx.scheme.method, ctx.scheme.method),
        "aggregation": "mean",
        "started_at": isoformat_utc(min(m.joined_at for m in members)),
        "completed_at": isoformat_utc(now),
        "committee": committee,
        "criteria": criteria,
        "bidders": [{"name": x["bidder"], "credit_code": x["credit_code"],
                     "price": {"amount": x["price"], "currency": "CNY"},
                     "compliant": not x["rejected"],
                     "rejection": None if not x["rejected"] else {
                         "reason": "、".join(x["rejected"]), "basis": REJECTION_BASIS}}
                    for x in lines],
        "scores": scores,
        "aggregate": aggregate,
        "candidates": [{"rank": c["rank"], "credit_code": code_of[c["bid_id"]]}
                       for c in outcome["candidates"]],
        "dissent": [],
    }


async def _report(session: AsyncSession, section_id: int, *, lock: bool = False
                  ) -> EvaluationReport:
    query = select(EvaluationReport).where(EvaluationReport.section_id == section_id)
    if lock:
        query = query.with_for_update()
    report = (await session.execute(query)).scalar_one_or_none()
    if report is None:
        raise Conflict("report_not_drafted", "评标报告尚未起草 (the evaluation report has not "
                       "been drafted)")
    return report


async def _answers(session: AsyncSession, section_id: int) -> list[ReportSignature]:
    return list((await session.execute(select(ReportSignature).where(
        ReportSignature.section_id == section_id).order_by(ReportSignature.id))).scalars())


async def _require_host(session: AsyncSession, principal: Principal,
                        ctx: review.Context) -> None:
    if not await review.is_host(session, principal, ctx.project):
        raise Forbidden("not_project_manager", "仅招标代理机构（或自行招标的招标人）可进行此操作 "
                        "(only the host may do this)")


def _store(report: EvaluationReport, body: dict[str, Any]) -> None:
    report.body = canonical_json(body).decode()
    report.sha256 = documents.body_sha256(body)


async def draft_report(session: AsyncSession, principal: Principal, section_id: int,
                       rules: RuleBook, now: datetime) -> dict[str, Any]:
    ctx = await review.load(session, section_id, rules, lock=True)
    await _require_host(session, principal, ctx)
    if await session.get(EvaluationReport, section_id) is not None:
        raise Conflict("report_exists", "评标报告已起草 (the report is already drafted)")
    outcome = await results.section_result(session, principal, section_id, rules)
    body = await _build(session, ctx, outcome, now)
    errors = documents.check_report({**body, "signatures": []})
    if errors:  # our own bug, never the caller's: say so rather than store a bad report
        raise RuntimeError("the drafted report is invalid: " + "; ".join(errors[:5]))
    report = EvaluationReport(section_id=section_id, drafted_at=now)
    _store(report, body)
    session.add(report)
    await session.flush()
    await review.record_event(session, principal, ctx, now, "report_drafted",
                              {"sha256": report.sha256, "report_id": body["report_id"],
                               "candidates": body["candidates"], "failed": outcome["failed"]})
    return await _view(session, ctx, report)


async def dissent(session: AsyncSession, principal: Principal, section_id: int, opinion: str,
                  reasons: str, rules: RuleBook, now: datetime) -> dict[str, Any]:
    ctx = await review.load(session, section_id, rules, lock=True)
    member = review.require_member(ctx, principal)
    report = await _report(session, section_id, lock=True)
    if await _answers(session, section_id):
        raise Conflict("signing_started", "已有成员签署评标报告，不能再提出不同意见 (a member "
                       "has signed: the report can no longer change; dissent before signing)")
    body = json.loads(report.body)
    if any(d["member_id"] == member_ref(member) for d in body["dissent"]):
        raise Conflict("dissent_recorded", "您的不同意见已记录 (your dissent is recorded)")
    body["dissent"].append({"member_id": member_ref(member), "opinion": opinion,
                            "reasons": reasons})
    _store(report, body)
    await review.record_event(session, principal, ctx, now, "report_dissent",
                              {"seat": member.seat, "opinion": opinion, "reasons": reasons,
                               "sha256": report.sha256})
    return await _view(session, ctx, report)


async def _maybe_final(session: AsyncSession, principal: Principal, ctx: review.Context,
                       report: EvaluationReport, now: datetime) -> None:
    answered = {a.member_id for a in await _answers(session, ctx.section.id)}
    if all(m.id in answered for m in ctx.members):
        report.final_at = now
        await review.record_event(session, principal, ctx, now, "report_final",
                                  {"sha256": report.sha256})


async def sign_report(session: AsyncSession, principal: Principal, section_id: int,
                      key_id: str, signature: str, rules: RuleBook, now: datetime
                      ) -> dict[str, Any]:
    ctx = await review.load(session, section_id, rules, lock=True)
    member = review.require_member(ctx, principal)
    report = await _report(session, section_id, lock=True)
    if any(a.member_id == member.id for a in await _answers(session, section_id)):
        raise Conflict("report_answered", "您已签署评标报告 (you have already signed)")
    key = await member_signing_key(session, principal, key_id)
    if key is None:
        raise Invalid("no_signing_key", "您没有登记该签名密钥 (you have no registered signing "
                      "key with this id)")
    body = json.loads(report.body)
    message = documents.signing_message(body, member_ref(member))
    if not confirmation.verify(key.public_key, message, signature):
        raise Invalid("bad_signature", "签名无效：须以该签名密钥对评标报告签名 (the signature "
                      "does not verify over the report's signing message)")
    session.add(ReportSignature(section_id=section_id, member_id=member.id, status=SIGNED,
                                key_id=key.key_id, signature=signature, sha256=report.sha256,
                                at=now))
    await session.flush()
    await review.record_event(session, principal, ctx, now, "report_signed",
                              {"seat": member.seat, "sha256": report.sha256, "key_id": key.key_id,
                               "public_key": key.public_key, "signature": signature,
                               "message": message.decode()})
    await _maybe_final(session, principal, ctx, report, now)
    return await _view(session, ctx, report)


async def record_refusal(session: AsyncSession, principal: Principal, section_id: int,
                         seat: int, rules: RuleBook, now: datetime) -> dict[str, Any]:
    ctx = await review.load(session, section_id, rules, lock=True)
    await _require_host(session, principal, ctx)
    report = await _report(session, section_id, lock=True)
    member = next((m for m in ctx.members if m.seat == seat), None)
    if member is None:
        raise NotFound("seat_not_found", "本标段评标委员会没有该在任席位 (no sitting member in "
                       "that seat)")
    if any(a.member_id == member.id for a in await _answers(session, section_id)):
        raise Conflict("report_answered", "该成员已签署 (that member has already signed)")
    due = _sign_until(ctx, report)
    if now < due:
        raise Conflict("signing_period_open", "签署期限未到，不能记录拒签 (the members have "
                       f"until {isoformat_utc(due)} to sign)",
                       details={"until": isoformat_utc(due)})
    session.add(ReportSignature(section_id=section_id, member_id=member.id, status=REFUSED,
                                key_id=None, signature=None, sha256=report.sha256, at=now))
    await session.flush()
    await review.record_event(session, principal, ctx, now, "report_refused",
                              {"seat": member.seat, "sha256": report.sha256,
                               "meaning": "拒绝签字且不陈述理由，视为同意 "
                                          "(taken to agree, 条例 Art. 53)"})
    await _maybe_final(session, principal, ctx, report, now)
    return await _view(session, ctx, report)


async def full_report(session: AsyncSession, section_id: int,
                      ctx: review.Context) -> dict[str, Any]:
    """The report JSON with its ``signatures`` (one per sitting member who answered)."""
    report = await _report(session, section_id)
    body = json.loads(report.body)
    seats = {m.id: m for m in ctx.members}
    body["signatures"] = [
        {"member_id": member_ref(seats[a.member_id]), "status": a.status,
         "signed_at": isoformat_utc(a.at) if a.status == SIGNED else None,
         "key_id": a.key_id, "signature": a.signature}
        for a in await _answers(session, section_id) if a.member_id in seats]
    return body


def _sign_until(ctx: review.Context, report: EvaluationReport) -> datetime:
    """The end of the signing period: after it the host may record a silent member's refusal."""
    return report.drafted_at + timedelta(hours=ctx.rules.report_sign_hours)


async def _view(session: AsyncSession, ctx: review.Context,
                report: EvaluationReport) -> dict[str, Any]:
    return {"section_id": ctx.section.id, "sha256": report.sha256,
            "drafted_at": isoformat_utc(report.drafted_at),
            "sign_until": isoformat_utc(_sign_until(ctx, report)),
            "final": report.final_at is not None,
            "final_at": None if report.final_at is None else isoformat_utc(report.final_at),
            "report": await full_report(session, ctx.section.id, ctx)}


async def _require_reader(session: AsyncSession, principal: Principal,
                          ctx: review.Context) -> None:
    if ctx.member_of(principal) is not None or await supervises(session, principal,
                                                                 ctx.project.id):
        return
    held = await grants_of(session, ctx.project.id, principal.org_id)
    if held & ROLE_GRANTS.get(principal.role, frozenset()) and principal.role in (
            Role.PROCURER, Role.AGENCY):
        return
    raise Forbidden("not_report_reader", "评标报告仅招标人、招标代理机构、评标委员会在任成员和"
                    "监督部门可阅 (only the procurer, the host, sitting members and supervisors "
                    "read the report)")


async def read_report(session: AsyncSession, principal: Principal, section_id: int,
                      rules: RuleBook) -> dict[str, Any]:
    ctx = await review.load(session, section_id, rules)
    await _require_reader(session, principal, ctx)
    return await _view(session, ctx, await _report(session, section_id))


async def report_pdf(session: AsyncSession, principal: Principal, section_id: int,
                     rules: RuleBook) -> dict[str, Any]:
    """The full report for rendering (the route renders it off the event loop)."""
    ctx = await review.load(session, section_id, rules)
    await _require_reader(session, principal, ctx)
    return await full_report(session, section_id, ctx)
