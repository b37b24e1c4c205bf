"""The award (定标): the winner, the notices, the result announcement; a declining winner; a
failed tender.

Why this shape:

- **Only after the publicity and with no objection open** (条例 Art. 54): the host awards
  once the scheduler has ended the publicity, and never while an objection is unanswered
  (``objection_pending``).
- **The first-ranked candidate by default** (条例 Art. 55). Another candidate still in the
  running may be chosen only with a written reason (recorded in the award and its event);
  a bidder who is not a candidate never (``not_a_candidate``).
- **Every notice at the same moment** (法 Art. 45, 办法 Art. 36): the award notice to the
  winner and a result notice to every other bidder of the report are built by
  :func:`tradesys.documents.notices.build_notices` from one set of facts, signed with the
  platform's receipt key, rendered to PDF and stored in the award's transaction; their
  SHA-256s are in the ``award.awarded`` event. Only the addressee's organisation downloads its
  notice (anyone else: 404, as if it did not exist).
- **The result announcement** (中标结果公告) goes on the public notices and now names the
  committee (法 Art. 44 keeps them unnamed until here).
- **A winner who declines** (recorded with its reason, by the winner or the host) voids its
  award; the host then awards the next candidate (a new round, with new notices). When no
  candidate is left, the tender has failed (``all_declined``) and the procurer re-tenders.
- **A report with no candidate** (all bids rejected, or fewer compliant bids than
  ``min_compliant_bids``): the host records the failed tender, which is announced too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.award import objections
from tradesys.award import stage as stages
from tradesys.award.models import Award, AwardNotice, Publicity, TenderFailure
from tradesys.clock import isoformat_utc
from tradesys.documents import notices as documents
from tradesys.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from tradesys.evaluation import methods, review
from tradesys.formatting import money
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement.kinds import NoticeKind, ReportSet
from tradesys.procurement.models import Project, Section
from tradesys.procurement.rules import RuleBook
from tradesys.signatures import key_fingerprint

AWARDED, DECLINED = "awarded", "declined"
ALL_DECLINED = "all_declined"


async def _awards(session: AsyncSession, section_id: int) -> list[Award]:
    return list((await session.execute(select(Award).where(
        Award.section_id == section_id).order_by(Award.round))).scalars())


def _remaining(stage: stages.Stage, awards: list[Award]) -> list[dict[str, Any]]:
    declined = {a.credit_code for a in awards if a.status == DECLINED}
    return [c for c in stage.candidates if c["credit_code"] not in declined]


async def _party(session: AsyncSession, org_id: int | None) -> documents.Party | None:
    if org_id is None:
        return None
    org = await session.get_one(Organisation, org_id)
    return documents.Party(name=org.name, credit_code=org.credit_code)


def _result_content(stage: stages.Stage, winner: dict[str, Any], round_: int) -> str:
    members = "、".join(m["name"] for m in stage.committee)
    lines = [f"{stages.heading(stage)} 的中标结果公告如下 (the result of the tender):", "",
             f"中标人：{winner['name']}（统一社会信用代码 {winner['credit_code']}，"
             f"第{winner['rank']}中标候选人）",
             f"中标价：{money(winner['price'])}",
             f"评标委员会成员：{members}"]
    if round_ > 1:
        lines.append("（排名在前的中标候选人放弃中标，依序确定 (a higher-ranked candidate "
                     "declined; awarded in order, 条例 Art. 55)）")
    return "\n".join(lines)


@dataclass
class Decided:
    """What an award request decides once every check passed: the stage, the winner, the
    round, the recorded reason and every notice of the award (not yet signed)."""

    stage: stages.Stage
    chosen: dict[str, Any]
    round: int
    reason: str | None
    notices: list[dict[str, Any]]


#: Signed and rendered notices by SHA-256 of their file: (signature, PDF).
Rendered = dict[str, tuple[str, bytes]]


async def _decide(session: AsyncSession, principal: Principal, section_id: int,
                  credit_code: str | None, reason: str | None, rules: RuleBook, now: datetime,
                  *, lock: bool) -> Decided:
    stage = await stages.load(session, section_id, rules, lock=lock,
                              gate=stages.host_gate(session, principal))
    if await session.get(TenderFailure, section_id) is not None:
        raise Conflict("tender_failed", "本标段已记录招标失败 (the tender of this section has "
                       "failed)")
    publicity = await session.get(Publicity, section_id)
    if publicity is None:
        raise Conflict("publicity_not_started", "中标候选人尚未公示 (the candidates are not "
                       "published yet)")
    if publicity.ended_at is None:
        raise Conflict("publicity_running", "公示期尚未结束，不能定标 (the publicity has not "
                       f"ended: it runs until {isoformat_utc(publicity.ends_at)})")
    await objections.require_none_open(session, section_id)
    awards = await _awards(session, section_id)
    if any(a.status == AWARDED for a in awards):
        raise Conflict("already_awarded", "本标段已定标 (the section is already awarded)")
    remaining = _remaining(stage, awards)
    if not remaining:  # unreachable in practice: the last decline records the failure
        raise Conflict("no_candidates_left", "已无中标候选人 (no candidate is left)")
    if credit_code is None:
        chosen = remaining[0]
    else:
        chosen = next((c for c in stage.candidates if c["credit_code"] == credit_code), None)
        if chosen is None:
            raise Invalid("not_a_candidate", "该投标人不是本标段的中标候选人 (the bidder is not "
                          "one of the section's candidates)")
        if chosen not in remaining:
            raise Conflict("candidate_declined", "该中标候选人已放弃中标 (this candidate has "
                           "declined)")
        if chosen["credit_code"] != remaining[0]["credit_code"] and reason is None:
            raise Invalid("reason_required", "确定排名在后的中标候选人须说明理由 (passing over "
                          "a higher-ranked candidate needs a written reason, 条例 Art. 55)")
    if chosen["credit_code"] == remaining[0]["credit_code"]:
        reason = None
    round_ = len(awards) + 1
    procurer = await _party(session, stage.project.procurer_org_id)
    assert procurer is not None
    notices = build(stage, chosen, round_, procurer,
                    await _party(session, stage.project.agency_org_id), now)
    return Decided(stage, chosen, round_, reason, notices)


async def _render(key: Ed25519PrivateKey, notices: list[dict[str, Any]]) -> Rendered:
    key_id = key_fingerprint(key.public_key())
    rendered = {}
    for notice in notices:
        signature = documents.sign_notice(key, notice)
        pdf = await asyncio.to_thread(documents.render_notice_pdf, notice, signature, key_id)
        rendered[documents.notice_sha256(notice)] = (signature, pdf)
    return rendered


async def prerender(session: AsyncSession, principal: Principal, section_id: int,
                    credit_code: str | None, reason: str | None, rules: RuleBook,
                    key: Ed25519PrivateKey, now: datetime) -> Rendered:
    """The notices an award request would issue, signed and rendered in a **read**
    transaction, so the write transaction does not hold the database while WeasyPrint works
    (on SQLite a write transaction holds the whole database). Only an optimisation:
    :func:`award` decides again under its lock and renders whatever does not match; a request
    that would be refused renders nothing here (the refusal comes from :func:`award`)."""
    try:
        decided = await _decide(session, principal, section_id, credit_code, reason, rules,
                                now, lock=False)
    except DomainError:
        return {}
    return await _render(key, decided.notices)


async def award(session: AsyncSession, principal: Principal, section_id: int,
                credit_code: str | None, reason: str | None, rules: RuleBook,
                key: Ed25519PrivateKey, now: datetime, rendered: Rendered | None = None
                ) -> dict[str, Any]:
    decided = await _decide(session, principal, section_id, credit_code, reason, rules, now,
                            lock=True)
    stage, chosen, round_, reason = decided.stage, decided.chosen, decided.round, decided.reason
    rendered = dict(rendered or {})
    missing = [n for n in decided.notices if documents.notice_sha256(n) not in rendered]
    rendered.update(await _render(key, missing))
    key_id = key_fingerprint(key.public_key())
    signed = [(n, *rendered[documents.notice_sha256(n)]) for n in decided.notices]
    orgs = await stages.orgs_by_code(session, [b["credit_code"] for b in stage.bidders])
    title = f"{stages.heading(stage)} 中标结果公告"
    content = _result_content(stage, chosen, round_)
    notice = await stages.publish_notice(session, principal, stage, NoticeKind.RESULT, title,
                                         content, now)
    row = Award(section_id=section_id, round=round_, org_id=orgs[chosen["credit_code"]].id,
                credit_code=chosen["credit_code"], rank=chosen["rank"], price=chosen["price"],
                status=AWARDED, reason=reason, awarded_at=now, awarded_by=principal.user_id,
                notice_id=notice.id)
    session.add(row)
    await session.flush()
    issued = []
    for notice_body, signature, pdf in signed:
        addressee = notice_body["addressee"]["credit_code"]
        stored = AwardNotice(award_id=row.id, kind=notice_body["kind"],
                             addressee_org_id=orgs[addressee].id,
                             document_id=notice_body["document_id"],
                             body=documents.notice_bytes(notice_body).decode(),
                             sha256=documents.notice_sha256(notice_body), signature=signature,
                             key_id=key_id, pdf=pdf, issued_at=now)
        session.add(stored)
        issued.append(stored)
    await session.flush()
    await stages.record(session, principal.actor, stage, now, "awarded", {
        "round": round_, "credit_code": chosen["credit_code"], "rank": chosen["rank"],
        "price": chosen["price"], "reason": reason, "notice_id": notice.id,
        "committee": [m["name"] for m in stage.committee], "key_id": key_id,
        "notices": [{"kind": n.kind, "document_id": n.document_id, "sha256": n.sha256}
                    for n in issued],
        "candidates": stage.candidates,
        "section": stages.section_facts(stage), "name": chosen["name"], "title": title,
        "content": content}, report_as=ReportSet.WIN_RESULT_ANNO)
    # The award notice is its own report (BID_WINNING_NOTICE), so its own event: a release
    # id is its event's hash, and two reports of one event would share one.
    sent = next(n for n in issued if n.kind == documents.NoticeKind.AWARD.value)
    await stages.record(session, principal.actor, stage, now, "notice_issued", {
        "round": round_, "section": stages.section_facts(stage), "document_id": sent.document_id,
        "sha256": sent.sha256, "credit_code": chosen["credit_code"], "name": chosen["name"],
        "price": chosen["price"], "contract_days": stage.rules.contract_days,
        "issued_at": isoformat_utc(now),
        "content": (f"{chosen['name']}：你方投标的{stages.heading(stage)}，经评标委员会评审、中标"
                    f"候选人公示，确定你方为中标人，中标价 {money(chosen['price'])}。"
                    f"请自本通知书发出之日起 {stage.rules.contract_days} 日内与招标人签订书面"
                    "合同。")},
        report_as=ReportSet.BID_WINNING_NOTICE)
    return await status(session, principal, section_id, rules)


def build(stage: stages.Stage, chosen: dict[str, Any], round_: int,
          procurer: documents.Party, agency: documents.Party | None, now: datetime
          ) -> list[dict[str, Any]]:
    """Every notice of one award, from one set of facts (pure). A price the notice cannot
    state (more than two decimals or fourteen digits: the capitals, 大写) is refused with
    ``notice_not_issuable`` rather than rounded: the notice must state the bid's own price."""
    try:
        facts = documents.AwardFacts(
            award_id=f"{stage.section.code}-{round_}",
            project=documents.Coded(code=stage.project.code, name=stage.project.name),
            section=documents.Coded(code=stage.section.code, name=stage.section.name),
            procurer=procurer, agency=agency,
            winner=documents.Party(name=chosen["name"], credit_code=chosen["credit_code"]),
            others=[documents.Party(name=b["name"], credit_code=b["credit_code"])
                    for b in stage.bidders if b["credit_code"] != chosen["credit_code"]],
            price=chosen["price"], issued_at=now, contract_days=stage.rules.contract_days)
        return documents.build_notices(facts)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise Conflict("notice_not_issuable", "无法按该中标价出具中标通知书（金额须为至多两位小数、"
                       "可用大写表述） (the notices cannot state this price: at most two "
                       f"decimals and fourteen digits): {str(error).splitlines()[0]}") from None


async def decline(session: AsyncSession, principal: Principal, section_id: int, reason: str,
                  rules: RuleBook, now: datetime) -> dict[str, Any]:
    """The winner declines (its own bidder, or the host recording it): the award is void."""
    def refused() -> Forbidden:
        return Forbidden("not_winner_or_host", "仅中标人或招标代理机构可记录放弃中标 (only the "
                         "winner or the host may record that the winner declines)")

    async def gate(section: Section, project: Project) -> None:
        try:
            await stages.host_gate(session, principal)(section, project)
        except Forbidden:
            try:
                await stages.bidder_gate(session, principal)(section, project)
            except Forbidden:
                raise refused() from None

    stage = await stages.load(session, section_id, rules, lock=True, gate=gate)
    awards = await _awards(session, section_id)
    current = next((a for a in awards if a.status == AWARDED), None)
    host = await review.is_host(session, principal, stage.project)
    winner = (current is not None and principal.role is Role.BIDDER
              and principal.org_id == current.org_id)
    if not host and not winner and current is not None:
        raise refused()
    if current is None:
        raise Conflict("not_awarded", "本标段尚未定标 (the section is not awarded)")
    current.status, current.declined_at = DECLINED, now
    current.declined_by, current.decline_reason = principal.user_id, reason
    await stages.record(session, principal.actor, stage, now, "declined", {
        "round": current.round, "credit_code": current.credit_code, "reason": reason})
    if not _remaining(stage, awards):
        await _fail(session, principal, stage, ALL_DECLINED,
                    "全部中标候选人均放弃中标，招标失败，依法重新招标 (every candidate declined: "
                    "the tender fails and is re-run, 条例 Art. 55)", now)
    return await status(session, principal, section_id, rules)


async def _fail(session: AsyncSession, principal: Principal, stage: stages.Stage, reason: str,
                detail: str, now: datetime) -> None:
    notice = await stages.publish_notice(
        session, principal, stage, NoticeKind.FAILED, f"{stages.heading(stage)} 招标失败公告",
        f"{stages.heading(stage)}：{detail}", now)
    session.add(TenderFailure(section_id=stage.section.id, reason=reason, detail=detail, at=now,
                              recorded_by=principal.user_id, notice_id=notice.id))
    await session.flush()
    await stages.record(session, principal.actor, stage, now, "failed", {
        "reason": reason, "detail": detail, "notice_id": notice.id})


async def record_failure(session: AsyncSession, principal: Principal, section_id: int,
                         rules: RuleBook, now: datetime) -> dict[str, Any]:
    """The host records the failed tender of a final report that names no candidate."""
    stage = await stages.load(session, section_id, rules, lock=True,
                              gate=stages.host_gate(session, principal))
    if await session.get(TenderFailure, section_id) is not None:
        raise Conflict("tender_failed", "本标段已记录招标失败 (the failed tender is already "
                       "recorded)")
    if stage.candidates:
        raise Conflict("candidates_exist", "评标报告推荐了中标候选人，应公示并定标 (the report "
                       "names candidates: publish them and award)")
    compliant = sum(1 for b in stage.bidders if b["compliant"])
    if compliant == 0:
        reason, detail = methods.ALL_REJECTED, ("所有投标均被否决，招标失败，依法重新招标 (every "
                                                "bid was rejected: the tender fails, 法 Art. 42)")
    else:
        reason = methods.TOO_FEW_COMPLIANT
        detail = (f"通过符合性审查的投标仅 {compliant} 家，少于 {stage.rules.min_compliant_bids} "
                  f"家，招标失败，依法重新招标 (only {compliant} compliant bid(s), fewer than "
                  f"{stage.rules.min_compliant_bids}: the tender fails)")
    await _fail(session, principal, stage, reason, detail, now)
    return await status(session, principal, section_id, rules)


async def status(session: AsyncSession, principal: Principal, section_id: int,
                 rules: RuleBook) -> dict[str, Any]:
    """The section's award state: for the host, the procurer and supervisors (every notice's
    id and SHA-256, never its file), and for a bidder of the section (its own notices only)."""
    stage = await stages.load(session, section_id, rules,
                              gate=stages.bidder_gate(session, principal, managers=True))
    manager = await stages.is_manager(session, principal, stage.project)
    # A bidder's page needs to know which of the candidates and notices are its own.
    own = None if manager else (await stages.bidder_org(session, principal, stage)).credit_code
    awards = await _awards(session, section_id)
    notices = list((await session.execute(select(AwardNotice).where(
        AwardNotice.award_id.in_([a.id for a in awards] or [0])).order_by(AwardNotice.id)))
        .scalars())
    codes = {o.id: o.credit_code for o in (await session.execute(select(Organisation).where(
        Organisation.id.in_({n.addressee_org_id for n in notices} or {0})))).scalars()}
    failure = await session.get(TenderFailure, section_id)
    return {
        "section_id": section_id,
        "project_id": stage.project.id,
        "section": stages.section_facts(stage),
        "own_credit_code": own,
        "candidates": stage.candidates,
        "awards": [{
            "round": a.round, "credit_code": a.credit_code, "rank": a.rank, "price": a.price,
            "status": a.status, "reason": a.reason, "awarded_at": isoformat_utc(a.awarded_at),
            "notice_id": a.notice_id,
            "declined_at": None if a.declined_at is None else isoformat_utc(a.declined_at),
            "decline_reason": a.decline_reason,
            "notices": [_notice_meta(n, codes[n.addressee_org_id]) for n in notices
                        if n.award_id == a.id and (manager
                                                   or n.addressee_org_id == principal.org_id)],
        } for a in awards],
        "failed": None if failure is None else {
            "reason": failure.reason, "detail": failure.detail, "at": isoformat_utc(failure.at),
            "notice_id": failure.notice_id},
    }


def _notice_meta(notice: AwardNotice, credit_code: str) -> dict[str, Any]:
    return {"id": notice.public_id, "kind": notice.kind, "document_id": notice.document_id,
            "addressee": credit_code, "sha256": notice.sha256, "key_id": notice.key_id,
            "issued_at": isoformat_utc(notice.issued_at)}


async def addressed_notice(session: AsyncSession, principal: Principal, public_id: str
                           ) -> AwardNotice:
    """A notice, only for its addressee's organisation; anyone else learns nothing (404)."""
    notice = (await session.execute(select(AwardNotice).where(
        AwardNotice.public_id == public_id))).scalar_one_or_none()
    if notice is None or principal.role is not Role.BIDDER or (
            notice.addressee_org_id != principal.org_id):
        raise NotFound("notice_not_found", "通知书不存在 (no such notice for your organisation)")
    return notice
