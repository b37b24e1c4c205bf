"""The publicity of the candidates (中标候选人公示, 条例 Art. 54).

Why this shape: the candidates are what the **final** report concluded, so the host publishes
them from the report (never typed in) and cannot before it is final. The law wants them
published within ``publicity_publish_days`` of the report and for at least ``publicity_days``
(rule book): the length is the rule's, on the server clock, and the end is the scheduler's
(:func:`end_due_publicities`), so nothing depends on anyone acting at the right moment and a
restart catches up. Publishing late is not refused (a refusal would leave the section with no
way forward): the publicity records ``late`` and its event says so, for the supervisors.

The public notice names the candidates (name, rank, price, score) and never the committee:
the experts stay unnamed until the award (法 Art. 44).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.award import stage as stages
from tradesys.award.models import Objection, Publicity, TenderFailure
from tradesys.clock import Clock, isoformat_utc
from tradesys.db.database import Database
from tradesys.errors import Conflict, NotFound
from tradesys.evaluation.section_scheme import section_of
from tradesys.events.canonical import canonical_json
from tradesys.events.log import Actor
from tradesys.formatting import capital_amount, long_instant, money
from tradesys.identity.principal import Principal
from tradesys.procurement.kinds import NoticeKind, ReportSet
from tradesys.procurement.rules import RuleBook


def _content(stage: stages.Stage, candidates: list[dict[str, Any]], ends_at: datetime) -> str:
    lines = [f"{stages.heading(stage)} 的评标工作已经结束，现将中标候选人公示如下 (the "
             "evaluation is complete; the candidates are published):", ""]
    for c in candidates:
        score = f"，评标得分 {c['score']}" if c.get("score") not in (None, "0") else ""
        lines.append(f"第{c['rank']}名：{c['name']}（统一社会信用代码 {c['credit_code']}），"
                     f"投标报价 {money(c['price'])}（{capital_amount(c['price'])}）{score}")
    lines += ["", f"公示期至 {long_instant(ends_at)}（北京时间）止。投标人或者其他利害关系人对依法"
              "必须进行招标的项目的评标结果有异议的，应当在中标候选人公示期间提出 (objections are "
              "raised during the publicity, 条例 Art. 54)。"]
    return "\n".join(lines)


def _evaluation_facts(stage: stages.Stage, candidates: list[dict[str, Any]]
                      ) -> dict[str, Any]:
    """What EVALUATION_REPORT states of the final report: when it was completed and signed,
    how many bids it reviewed and passed, the method and the ranking; the committee only by
    its size."""
    body, report = stage.body, stage.report
    assert report.final_at is not None
    compliant = sum(1 for b in body["bidders"] if b["compliant"])
    method = {"comprehensive": "综合评估法",
              "lowest_evaluated_price": "经评审的最低投标价法"}[body["method"]]
    content = (f"评标委员会（{len(body['committee'])}人）按{method}评审{len(body['bidders'])}"
               f"份投标文件，{compliant}份通过资格和符合性审查，推荐中标候选人{len(candidates)}名。"
               f"评标报告 SHA-256：{report.sha256}")
    result = "；".join(f"第{c['rank']}名 {c['name']}" for c in candidates)
    return {"section": stages.section_facts(stage), "report_sha256": report.sha256,
            "method": body["method"], "started_at": body["started_at"],
            "completed_at": body["completed_at"], "final_at": isoformat_utc(report.final_at),
            "bids": len(body["bidders"]), "compliant": compliant,
            "committee_size": len(body["committee"]), "candidates": candidates,
            "content": content, "result": result}


async def publish(session: AsyncSession, principal: Principal, section_id: int,
                  rules: RuleBook, now: datetime) -> dict[str, Any]:
    stage = await stages.load(session, section_id, rules, lock=True,
                              gate=stages.host_gate(session, principal))
    if await session.get(Publicity, section_id) is not None:
        raise Conflict("publicity_exists", "中标候选人已公示 (the candidates are already "
                       "published)")
    if await session.get(TenderFailure, section_id) is not None:
        raise Conflict("tender_failed", "本标段已记录招标失败 (the tender of this section has "
                       "failed)")
    candidates = stage.candidates
    if not candidates:
        raise Conflict("no_candidates", "评标报告未推荐中标候选人，应记录招标失败 (the report "
                       "names no candidate: record the failed tender instead)")
    assert stage.report.final_at is not None
    publish_by = stage.report.final_at + timedelta(days=stage.rules.publicity_publish_days)
    ends_at = now + timedelta(days=stage.rules.publicity_days)
    late = now > publish_by
    title, content = f"{stages.heading(stage)} 中标候选人公示", _content(stage, candidates, ends_at)
    notice = await stages.publish_notice(session, principal, stage, NoticeKind.CANDIDATES,
                                         title, content, now)
    publicity = Publicity(section_id=section_id, candidates=canonical_json(candidates).decode(),
                          report_sha256=stage.report.sha256, notice_id=notice.id,
                          published_at=now, publish_by=publish_by, late=late, ends_at=ends_at)
    session.add(publicity)
    await session.flush()
    # The report itself is reported when its result becomes public, with the candidates: its
    # own event (one report per event), without the committee's names (法 Art. 37, 44).
    await stages.record(session, principal.actor, stage, now, "evaluation_reported",
                        _evaluation_facts(stage, candidates),
                        report_as=ReportSet.EVALUATION_REPORT)
    await stages.record(session, principal.actor, stage, now, "publicity_published", {
        "notice_id": notice.id, "report_sha256": stage.report.sha256,
        "candidates": candidates, "ends_at": isoformat_utc(ends_at),
        "publish_by": isoformat_utc(publish_by), "late": late,
        "section": stages.section_facts(stage), "title": title, "content": content},
        report_as=ReportSet.TENDER_CANDIDATE)
    return await view(session, publicity)


async def view(session: AsyncSession, publicity: Publicity) -> dict[str, Any]:
    """What anyone may read: the candidates, the period, and how many objections are open."""
    objections = list((await session.execute(select(Objection).where(
        Objection.section_id == publicity.section_id))).scalars())
    return {"section_id": publicity.section_id, "notice_id": publicity.notice_id,
            "candidates": json.loads(publicity.candidates),
            "report_sha256": publicity.report_sha256,
            "published_at": isoformat_utc(publicity.published_at),
            "publish_by": isoformat_utc(publicity.publish_by), "late": publicity.late,
            "ends_at": isoformat_utc(publicity.ends_at),
            "ended": publicity.ended_at is not None,
            "ended_at": None if publicity.ended_at is None else isoformat_utc(
                publicity.ended_at),
            "objections": len(objections),
            "objections_open": sum(1 for o in objections if o.answered_at is None)}


async def read(session: AsyncSession, section_id: int) -> dict[str, Any]:
    publicity = await session.get(Publicity, section_id)
    if publicity is None:
        raise NotFound("publicity_not_found", "本标段尚未公示中标候选人 (the candidates of this "
                       "section are not published)")
    return await view(session, publicity)


async def end_due_publicities(db: Database, clock: Clock) -> list[int]:
    """Scheduler job: end every publicity whose period has run out, one transaction each,
    re-checked under a row lock so that two schedulers never end one twice."""
    now = clock.now()
    async with db.reading() as session:
        due = list((await session.execute(select(Publicity.section_id).where(
            Publicity.ended_at.is_(None), Publicity.ends_at <= now)
            .order_by(Publicity.ends_at, Publicity.section_id))).scalars())
    ended = []
    for section_id in due:
        async with db.transaction() as session:
            publicity = await session.get(Publicity, section_id, with_for_update=True,
                                          populate_existing=True)
            at = clock.now()
            if publicity is None or publicity.ended_at is not None or publicity.ends_at > at:
                continue
            publicity.ended_at = at
            section = await section_of(session, section_id)
            await stages.record(session, Actor.system(), section, at, "publicity_ended",
                                {"ends_at": isoformat_utc(publicity.ends_at)})
            ended.append(section_id)
    return ended
