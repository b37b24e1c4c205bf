"""The contract of an award (合同由中标结果生成, issue 13): the award step's part.

Why here, above the award: ``contracts`` already knows how to draft, sign and verify a
contract from a :class:`~contracts.facts.ContractFacts`; what was missing is where those facts
come from. They are read, never typed in, from what the platform already holds (条例 Art. 57:
the contract's subject, price, quality and duration must be those of the tender documents and
the winning bid):

- **parties**: the project's procurer (甲方) and the standing award's winner (乙方), each by
  its registered organisation's name and unified social credit code;
- **award id**: ``<section code>-<round>``, the id of the award notice (docs/award.md §6), so
  an award has at most one contract (``contract_exists``) and a re-award after a decline is a
  new one;
- **price**: the award's price (the final report's price of the winning bid, stated on the
  award notice);
- **subject** (标的): the tender's project and section names and the section's content as
  registered — the platform has no separate subject field, and the section content is what
  the tender notice announced;
- **duration** (工期) and **quality** (质量标准): the winning bid's own summary (开标一览表:
  ``duration_days``, ``quality``), which every bid must carry (docs/envelope.md) and was read
  out at the opening;
- **trade type**: the template — ``works`` for 工程建设, 工程总承包 and 勘察设计 projects,
  ``goods`` for 政府采购; other trade types (land, state property) have no contract template
  here and are refused (``no_contract_template``);
- **clauses**: one, naming the award notice and the documents the contract rests on; the
  parties negotiate others as new drafts before signing.

Refused, before anything is written: a caller who is neither the host nor the procurer
(``not_host_or_procurer``, checked first), a report not final (``report_not_final``), a failed
tender (``tender_failed``), no award (``not_awarded``), an award the winner declined with no
new one (``award_declined``), a winning bid whose duration no contract can state
(``contract_not_issuable``), a contract that exists (``contract_exists``).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.facts import Clause, ContractFacts, TradeType
from contracts.models import Contract
from contracts.store import Rendered, create_contract, render_draft
from tradesys.award import stage as stages
from tradesys.award.models import Award, AwardNotice, TenderFailure
from tradesys.bids.models import Bid
from tradesys.bids.opening import DECRYPTED
from tradesys.documents.notices import NoticeKind
from tradesys.errors import Conflict, DomainError
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.procurement.kinds import TradeType as ProjectTradeType
from tradesys.procurement.models import Project, Section
from tradesys.procurement.rules import RuleBook

__all__ = ["TEMPLATES", "contract_facts", "create_from_award", "duration_of",
           "prerender_from_award", "quality_of", "template_for"]

#: The contract template of each project trade type that has one.
TEMPLATES = {
    ProjectTradeType.WORKS: TradeType.WORKS,
    ProjectTradeType.EPC: TradeType.WORKS,
    ProjectTradeType.SURVEY_DESIGN: TradeType.WORKS,
    ProjectTradeType.GOV_PROCUREMENT: TradeType.GOODS,
}
#: ContractFacts.duration_days's limit (a bid may state up to 36500 days).
MAX_DURATION_DAYS = 3650
SUBJECT_LIMIT = 4000


async def _standing_award(session: AsyncSession, section_id: int) -> Award:
    if await session.get(TenderFailure, section_id) is not None:
        raise Conflict("tender_failed", "本标段招标失败，无合同可订立 (the tender of this section "
                       "failed: there is no contract to make)")
    awards = list((await session.execute(select(Award).where(
        Award.section_id == section_id).order_by(Award.round))).scalars())
    if not awards:
        raise Conflict("not_awarded", "本标段尚未定标 (the section is not awarded)")
    current = awards[-1]
    if current.status != "awarded":
        raise Conflict("award_declined", "中标人已放弃中标，须重新定标后方可订立合同 (the winner "
                       "declined: award the section again before making the contract)")
    return current


def _party(org: Organisation) -> dict[str, str]:
    return {"name": org.name, "credit_code": org.credit_code}


def _subject(project: Project, section: Section) -> str:
    text = f"{project.name}（{section.name}）：{section.content}".strip()
    return text[:SUBJECT_LIMIT]


async def _winning_summary(session: AsyncSession, award: Award) -> dict[str, object]:
    """The winner's opened bid's summary (the latest opened, should it have bid twice)."""
    bid = (await session.execute(select(Bid).where(
        Bid.section_id == award.section_id, Bid.org_id == award.org_id,
        Bid.outcome == DECRYPTED).order_by(Bid.received_at.desc(), Bid.id.desc()).limit(1))
    ).scalar_one_or_none()
    if bid is None or bid.summary is None:  # the report names only opened bids
        raise Conflict("contract_not_issuable", "找不到中标人开启的投标 (the winner's opened bid "
                       "is missing)")
    summary: dict[str, object] = json.loads(bid.summary)
    return summary


def template_for(trade_type: str) -> TradeType:
    """The contract template of a project's trade type (pure); none → ``no_contract_template``."""
    try:
        return TEMPLATES[ProjectTradeType(trade_type)]
    except (KeyError, ValueError):
        raise Conflict("no_contract_template", f"交易类型 {trade_type} 暂无合同范本 (no "
                       f"contract template for trade type {trade_type})") from None


def duration_of(summary: dict[str, object]) -> int:
    """The winning bid's 工期 in days (pure): a whole number a contract can state."""
    days = summary.get("duration_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DURATION_DAYS:
        raise Conflict("contract_not_issuable", f"中标人投标工期须为 1 至 {MAX_DURATION_DAYS} 日 "
                       f"(the winning bid's duration must be 1..{MAX_DURATION_DAYS} days)")
    return days


def quality_of(summary: dict[str, object]) -> str:
    """The winning bid's quality standard (pure); every opened bid states one."""
    quality = summary.get("quality")
    if not isinstance(quality, str) or not quality.strip():
        raise Conflict("contract_not_issuable", "中标人投标未载明质量标准 (the winning bid "
                       "states no quality standard)")
    return quality.strip()


async def contract_facts(session: AsyncSession, stage: stages.Stage, award: Award
                         ) -> ContractFacts:
    """The facts of the award's contract, read from the tender, the award and the winning bid
    (reads only; the module docstring says where each comes from)."""
    project, section = stage.project, stage.section
    template = template_for(project.trade_type)
    summary = await _winning_summary(session, award)
    days, quality = duration_of(summary), quality_of(summary)
    purchaser = await session.get_one(Organisation, project.procurer_org_id)
    supplier = await session.get_one(Organisation, award.org_id)
    notice = (await session.execute(select(AwardNotice).where(
        AwardNotice.award_id == award.id, AwardNotice.kind == NoticeKind.AWARD.value))
    ).scalar_one()
    basis = Clause(title="合同订立依据", text=(
        f"本合同依据中标通知书（编号 {notice.document_id}）、招标文件及中标人的投标文件订立；"
        "合同的标的、价款、质量和履行期限与招标文件和中标人的投标文件一致（招标投标法实施条例"
        "第五十七条）。"))
    try:
        return ContractFacts(
            award_id=f"{section.code}-{award.round}", trade_type=template,
            project={"code": project.code, "name": project.name},
            section={"code": section.code, "name": section.name},
            purchaser=_party(purchaser), supplier=_party(supplier),
            subject=_subject(project, section), price=award.price, duration_days=days,
            quality=quality, clauses=[basis], awarded_at=award.awarded_at)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise Conflict("contract_not_issuable", "无法由该中标结果生成合同 (the award's facts "
                       f"do not make a contract): {str(error).splitlines()[0]}") from None


async def prerender_from_award(session: AsyncSession, principal: Principal, section_id: int,
                               rules: RuleBook) -> Rendered:
    """Draft 1's PDF, rendered in a **read** transaction so the command's write transaction
    does not wait on WeasyPrint (store.render_draft says why); nothing for a request
    :func:`create_from_award` will refuse (it gives the reason)."""
    try:
        stage = await stages.load(session, section_id, rules,
                                  gate=stages.host_or_procurer_gate(session, principal))
        facts = await contract_facts(session, stage, await _standing_award(session, section_id))
    except DomainError:
        return {}
    return await render_draft(facts, 1)


async def create_from_award(session: AsyncSession, principal: Principal, section_id: int,
                            rules: RuleBook, now: datetime,
                            rendered: Rendered | None = None) -> Contract:
    """Draft 1 of the contract of the section's standing award (the procurer or the host)."""
    stage = await stages.load(session, section_id, rules, lock=True,
                              gate=stages.host_or_procurer_gate(session, principal))
    award = await _standing_award(session, section_id)
    facts = await contract_facts(session, stage, award)
    return await create_contract(session, facts, project_id=stage.project.id,
                                 actor=principal.actor, at=now, rendered=rendered)
