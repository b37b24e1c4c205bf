"""The section's evaluation result (ranking and candidates), computed from what is stored:
the opened bids, the sitting members' review verdicts, the committee's decisions on
abnormally low prices, and the sitting members' signed score sheets. Nothing of a member who
no longer sits counts (条例 Art. 48). The arithmetic is
:func:`tradesys.evaluation.methods.evaluate`.

The host and the sitting members may read it; it is computed on every read, never stored, so it
cannot drift from the sheets it comes from.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict
from tradesys.evaluation import methods, review
from tradesys.evaluation import scheme as schemes
from tradesys.evaluation.models import ScoreSheet
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.procurement.rules import RuleBook

FAILURES = {
    methods.ALL_REJECTED: "所有投标均被否决，招标失败，须重新招标 (every bid was rejected: the "
                          "tender fails and is re-run; 法 Art. 42)",
    methods.TOO_FEW_COMPLIANT: "通过符合性审查的投标不足规定数量，招标失败 (fewer compliant bids "
                               "than the rule book's minimum: the tender fails; 87号令 Art. 43)",
}


async def section_result(session: AsyncSession, principal: Principal, section_id: int,
                         rules: RuleBook) -> dict[str, Any]:
    ctx = await review.load(session, section_id, rules)
    await review.require_host_or_member(session, principal, ctx)
    if not ctx.members:
        raise Conflict("no_committee", "本标段尚无评标委员会 (the section has no committee)")
    failed, owed = await review.failed_items(session, ctx)
    seats = {m.id: m for m in ctx.members}
    sheets = [row for row in (await session.execute(select(ScoreSheet).where(
        ScoreSheet.section_id == section_id).order_by(ScoreSheet.id))).scalars()
        if row.member_id in seats]
    missing_sheets = []
    if ctx.scheme.method == schemes.COMPREHENSIVE:
        signed = {row.member_id for row in sheets}
        missing_sheets = [m.seat for m in ctx.members if m.id not in signed]
    if owed or missing_sheets:
        raise Conflict("evaluation_incomplete", "评审尚未完成 (the evaluation is not complete: "
                       f"{owed} review verdict(s) and the score sheets of seat(s) "
                       f"{missing_sheets or '—'} are outstanding)",
                       details={"verdicts_missing": owed, "sheets_missing": missing_sheets})
    decisions = await review.explanation_decisions(session, ctx)
    bids = [methods.BidFacts(b.public_id, review.price_of(b), b.received_at,
                             tuple(failed.get(b.public_id, ())), decisions.get(b.public_id))
            for b in ctx.bids]
    scores = [{bid: {c: Decimal(v) for c, v in row.items()}
               for bid, row in json.loads(sheet.document)["scores"].items()}
              for sheet in sheets]
    outcome = methods.evaluate(ctx.scheme, bids, scores, ctx.ceiling, ctx.rules)
    orgs = {o.id: o for o in (await session.execute(select(Organisation).where(
        Organisation.id.in_({b.org_id for b in ctx.bids} or {0})))).scalars()}
    names = {b.public_id: orgs[b.org_id] for b in ctx.bids}

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    lines = [{"bid_id": x.bid_id, "bidder": names[x.bid_id].name,
              "credit_code": names[x.bid_id].credit_code, "price": str(x.price),
              "rank": x.rank, "abnormally_low": x.abnormally_low, "rejected": list(x.rejected),
              "price_score": text(x.price_score), "technical": text(x.technical),
              "business": text(x.business), "total": text(x.total),
              "criteria": {k: str(v) for k, v in x.criteria.items()}}
             for x in outcome.lines]
    return {"section_id": section_id, "method": outcome.method,
            "scheme_sha256": ctx.scheme.sha256(), "benchmark": text(outcome.benchmark),
            "failed": outcome.failed,
            "failure": FAILURES.get(outcome.failed or ""),
            "candidates": [{"rank": n, "bid_id": bid, "bidder": names[bid].name}
                           for n, bid in enumerate(outcome.candidates, 1)],
            "lines": lines, "members": len(ctx.members),
            "sheets": [{"seat": seats[s.member_id].seat, "sha256": s.sha256} for s in sheets]}
