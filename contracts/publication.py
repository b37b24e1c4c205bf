"""The public version of a concluded contract: a 合同公告 on the public notices.

Why a notice at conclusion: government procurement contracts are published within two
working days of signing (政府采购法实施条例 Art. 50), and publishing every concluded contract at
once, whatever the trade, meets that bound without a scheduler and shows the public what was
bought, from whom, for how much. Why not the signed PDF: it names the people who signed (their
certificates, the seals' captions) and may carry representatives and addresses; the public
version states the contract's facts (parties as organisations with their credit codes,
subject, price, duration, quality, the signing date) and the signed file's SHA-256, by which
anyone holding the file can tell it is the one published. No person's name is in it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.facts import ContractFacts
from tradesys.formatting import capital_amount, long_instant, money
from tradesys.procurement.kinds import NoticeKind
from tradesys.procurement.models import Notice

__all__ = ["amendment_text", "notice_text", "publish_amendment_notice",
           "publish_contract_notice"]


def notice_text(facts: ContractFacts, sha256: str, signed_at: datetime) -> tuple[str, str]:
    """The notice's title and content (paragraphs split by blank lines, as notice.html shows)."""
    title = f"{facts.project.name} {facts.section.name}（{facts.section.code}）合同公告"
    lines = [
        f"{facts.project.name}（项目编号 {facts.project.code}）{facts.section.name}"
        f"（{facts.section.code}）的合同已由双方在线签订，公告如下 (the contract is concluded):",
        "",
        f"合同编号（中标编号）：{facts.award_id}",
        f"甲方（招标人/采购人）：{facts.purchaser.name}"
        f"（统一社会信用代码 {facts.purchaser.credit_code}）",
        f"乙方（中标人）：{facts.supplier.name}（统一社会信用代码 {facts.supplier.credit_code}）",
        f"合同标的：{facts.subject}",
        f"合同金额：{money(facts.price)}（大写：{capital_amount(facts.price)}）",
        f"履行期限（工期）：{facts.duration_days} 日历天",
        f"质量标准：{facts.quality}",
        f"签订时间：{long_instant(signed_at)}",
        f"合同文件摘要（SHA-256）：{sha256}",
    ]
    return title[:300], "\n".join(lines)


async def publish_contract_notice(session: AsyncSession, facts: ContractFacts, *,
                                  project_id: int, sha256: str, user_id: int,
                                  at: datetime) -> Notice:
    title, content = notice_text(facts, sha256, at)
    notice = Notice(project_id=project_id, kind=NoticeKind.CONTRACT.value, title=title,
                    content=content, published_at=at, published_by=user_id,
                    consortium_allowed=False)
    session.add(notice)
    await session.flush()
    return notice


def amendment_text(facts: ContractFacts, *, number: int, clauses: list[str], sha256: str,
                   base_sha256: str, signed_at: datetime) -> tuple[str, str]:
    """The public version of a concluded amendment (合同变更公告): which clauses changed and
    both files' SHA-256, as the contract's notice gives its facts; *decision*: never the
    clauses' text (the contract's notice does not publish its clauses either) and never a
    person's name."""
    title = (f"{facts.project.name} {facts.section.name}（{facts.section.code}）"
             f"合同变更公告（第 {number} 号）")
    lines = [
        f"{facts.project.name}（项目编号 {facts.project.code}）{facts.section.name}"
        f"（{facts.section.code}）的合同已由双方在线签订第 {number} 号变更协议，公告如下 "
        "(an amendment of the contract is concluded):",
        "",
        f"合同编号（中标编号）：{facts.award_id}",
        f"甲方（招标人/采购人）：{facts.purchaser.name}"
        f"（统一社会信用代码 {facts.purchaser.credit_code}）",
        f"乙方（中标人）：{facts.supplier.name}（统一社会信用代码 {facts.supplier.credit_code}）",
        f"变更的条款：{'、'.join(clauses)}",
        "合同标的、价款、质量和履行期限不变（招标投标法实施条例第五十七条）。",
        f"签订时间：{long_instant(signed_at)}",
        f"变更协议文件摘要（SHA-256）：{sha256}",
        f"被变更文件摘要（SHA-256）：{base_sha256}",
    ]
    return title[:300], "\n".join(lines)


async def publish_amendment_notice(session: AsyncSession, facts: ContractFacts, *, number: int,
                                   clauses: list[str], sha256: str, base_sha256: str,
                                   project_id: int, user_id: int, at: datetime) -> Notice:
    title, content = amendment_text(facts, number=number, clauses=clauses, sha256=sha256,
                                    base_sha256=base_sha256, signed_at=at)
    notice = Notice(project_id=project_id, kind=NoticeKind.CONTRACT.value, title=title,
                    content=content, published_at=at, published_by=user_id,
                    consortium_allowed=False)
    session.add(notice)
    await session.flush()
    return notice
