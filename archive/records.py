"""Every stored record of a project, as the files of its archive (办法 Art. 40).

Each record becomes an :class:`Item`: a path in the bag's ``data/``, a kind, a Chinese title
and a date for the index, and its bytes — either a stored file on disk (a sealed or opened
bid, a tender document, an opening record), which the bag writer streams in chunks and never
holds whole, or a small record built here from its rows (JSON, UTF-8, keys sorted).

Files that were signed are archived **exactly as signed** (a receipt file as issued, a score
sheet's canonical document, a notice's canonical JSON, a PDF as stored), each signature in a
file beside it, so that anyone can check them later without us. Rows are archived with every
column except what must stay secret even in an archive: key shares (a bidder's released share
of its data key), which nothing later needs.

Paths are ASCII (numbers and codes, never a user's file name: the index gives the original
name), so they mean the same on every file system the archive will ever be copied to.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, select
from sqlalchemy.ext.asyncio import AsyncSession

from archive.ending import (
    CONTRACT_AMENDMENTS,
    CONTRACT_DRAFTS,
    CONTRACT_SIGNATURES,
    CONTRACTS,
    ProjectEnding,
)
from tradesys.award.models import (
    Award,
    AwardNotice,
    EvaluationReport,
    Objection,
    Publicity,
    ReportSignature,
    TenderFailure,
)
from tradesys.award.report import full_report
from tradesys.bids.models import Bid, BidSecurity
from tradesys.clock import isoformat_utc
from tradesys.documents.evaluation_report import render_report_pdf
from tradesys.evaluation import review
from tradesys.evaluation.models import (
    BidClarification,
    EvaluationScheme,
    ExplanationVote,
    PanelDraw,
    PanelMember,
    PriceExplanation,
    ReviewVerdict,
    ScoreSheet,
)
from tradesys.events.canonical import canonical_json
from tradesys.events.models import Event, OutboxRow
from tradesys.identity.models import Organisation
from tradesys.opening.models import Opening
from tradesys.procurement.models import (
    Clarification,
    DocumentObtain,
    Notice,
    Project,
    Question,
    Section,
    TenderDocument,
)
from tradesys.procurement.rules import RuleBook
from tradesys.reporting.facts import ReportingSettings
from tradesys.reporting.report import reports_for

#: Columns never archived (see the module's docstring).
SECRET_COLUMNS = {"bids": {"bidder_share"}}

NOTICE_KIND_TITLES = {"tender": "招标公告", "termination": "终止公告",
                      "candidates": "中标候选人公示", "result": "中标结果公告",
                      "failed": "招标失败公告"}
AWARD_NOTICE_TITLES = {"award": "中标通知书", "result": "中标结果通知书"}


@dataclass(frozen=True)
class Item:
    path: str  #: under ``data/``
    kind: str
    title: str
    date: datetime | None
    #: A stored file, streamed; or the bytes of a small record.
    source: Path | bytes
    section: str | None = None
    #: The file's name as uploaded, where it had one.
    original_name: str | None = None


@dataclass(frozen=True)
class Stores:
    """Where the stored files are (the same folders as tradesys/app.py's services)."""

    data_dir: Path

    @property
    def documents(self) -> Path:
        return self.data_dir / "documents"

    @property
    def bids(self) -> Path:
        return self.data_dir / "bids"

    @property
    def opened(self) -> Path:
        return self.data_dir / "opened"

    @property
    def records(self) -> Path:
        return self.data_dir / "records"

    def by_sha(self, root: Path, sha256: str, suffix: str = "") -> Path:
        return root / sha256[:2] / f"{sha256}{suffix}"


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return isoformat_utc(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def row_json(row: Any, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Every column of an ORM row but binary ones, secrets and ``skip``."""
    table = row.__table__
    hidden = SECRET_COLUMNS.get(table.name, set()) | set(skip)
    return {c.key: _value(getattr(row, c.key)) for c in table.columns
            if c.key not in hidden and not isinstance(c.type, LargeBinary)}


def mapping_json(mapping: Any, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    hidden = set(skip)
    return {key: _value(value) for key, value in mapping.items()
            if key not in hidden and not isinstance(value, bytes | memoryview)}


def record(value: Any) -> bytes:
    """A record built here: JSON, UTF-8, keys sorted, one key a line (readable, diffable)."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def _ext(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80] or "_"


async def _all(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.execute(query)).scalars().all())


async def organisations(session: AsyncSession, ids: Iterable[int | None]
                        ) -> dict[int, Organisation]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await _all(session, select(Organisation).where(Organisation.id.in_(wanted)))
    return {row.id: row for row in rows}


class Collector:
    """Gathers a project's items, section by section (one read transaction)."""

    def __init__(self, session: AsyncSession, ending: ProjectEnding, stores: Stores,
                 reporting: ReportingSettings, rules: RuleBook,
                 receipt_key_pem: str | None) -> None:
        self.session = session
        self.rules = rules
        self.ending = ending
        self.project: Project = ending.project
        self.stores = stores
        self.reporting = reporting
        self.receipt_key_pem = receipt_key_pem
        self.items: list[Item] = []
        #: Organisations that took part (bidders), for the metadata.
        self.bidder_org_ids: set[int] = set()

    def add(self, path: str, kind: str, title: str, date: datetime | None,
            source: Path | bytes, section: Section | None = None,
            original_name: str | None = None) -> None:
        self.items.append(Item(path, kind, title, date, source,
                               section.code if section is not None else None, original_name))

    async def collect(self) -> list[Item]:
        await self._project()
        for section in [s.section for s in self.ending.sections]:
            await self._section(section)
        await self._contracts()
        await self._reports()
        return self.items

    # -- the project ---------------------------------------------------------------------

    async def _project(self) -> None:
        project, session = self.project, self.session
        sections = await _all(session, select(Section).where(Section.project_id == project.id)
                              .order_by(Section.lot_no))
        self.add("project/registration.json", "registration", "项目登记信息",
                 project.created_at, record({"project": row_json(project),
                                             "sections": [row_json(s) for s in sections]}))
        for notice in await _all(session, select(Notice).where(
                Notice.project_id == project.id).order_by(Notice.published_at, Notice.id)):
            self.add(f"notices/{notice.id:06d}-{notice.kind}.json", f"notice.{notice.kind}",
                     f"{NOTICE_KIND_TITLES.get(notice.kind, '公告')}：{notice.title}",
                     notice.published_at, record(row_json(notice)))
        documents = await _all(session, select(TenderDocument).where(
            TenderDocument.project_id == project.id).order_by(TenderDocument.id))
        for document in documents:
            stored = self.stores.by_sha(self.stores.documents, document.sha256)
            self.add(f"documents/{document.id:06d}{_ext(document.filename)}", "tender_document",
                     f"招标文件：{document.filename}", document.uploaded_at, stored,
                     original_name=document.filename)
        if documents:
            self.add("documents/documents.json", "tender_document_list", "招标文件清单",
                     documents[-1].uploaded_at, record([row_json(d) for d in documents]))
        obtains = await _all(session, select(DocumentObtain).where(
            DocumentObtain.project_id == project.id).order_by(DocumentObtain.id))
        self.add("documents/obtained.json", "document_obtains", "招标文件获取记录",
                 obtains[-1].obtained_at if obtains else None,
                 record([row_json(o) for o in obtains]))
        for clarification in await _all(session, select(Clarification).where(
                Clarification.project_id == project.id).order_by(Clarification.number)):
            self.add(f"clarifications/{clarification.number:03d}.json", "clarification",
                     f"澄清/修改 第{clarification.number}号：{clarification.title}",
                     clarification.published_at, record(row_json(clarification)))
        questions = await _all(session, select(Question).where(
            Question.project_id == project.id).order_by(Question.asked_at, Question.id))
        self.add("clarifications/questions.json", "questions", "答疑记录",
                 questions[-1].asked_at if questions else None,
                 record([row_json(q) for q in questions]))

    # -- each section --------------------------------------------------------------------

    async def _section(self, section: Section) -> None:
        session, base = self.session, f"sections/{section.lot_no:03d}"
        bids = await _all(session, select(Bid).where(Bid.section_id == section.id)
                          .order_by(Bid.received_at, Bid.id))
        self.bidder_org_ids.update(b.org_id for b in bids)
        for number, bid in enumerate(bids, start=1):
            folder = f"{base}/bids/{number:03d}"
            self.add(f"{folder}/envelope.bin", "bid_envelope", f"投标文件（密封） 第{number}份",
                     bid.received_at,
                     self.stores.by_sha(self.stores.bids, bid.envelope_sha256), section)
            receipt = {"receipt": json.loads(bid.receipt), "signature": bid.receipt_signature}
            if self.receipt_key_pem is not None:
                receipt["public_key"] = self.receipt_key_pem
            self.add(f"{folder}/receipt.json", "bid_receipt", f"投标回执 第{number}份",
                     bid.received_at, canonical_json(receipt), section)
            self.add(f"{folder}/bid.json", "bid", f"投标记录 第{number}份", bid.received_at,
                     record(row_json(bid, skip=("receipt", "receipt_signature"))), section)
            opened = self.stores.opened / f"{bid.id}.bin"
            if opened.is_file():
                self.add(f"{folder}/opened.bin", "bid_opened", f"投标文件（解密） 第{number}份",
                         bid.opened_at, opened, section)
        securities = await _all(session, select(BidSecurity).where(
            BidSecurity.section_id == section.id).order_by(BidSecurity.id))
        if securities:
            self.add(f"{base}/bids/securities.json", "bid_securities", "投标保证金记录",
                     securities[-1].declared_at, record([row_json(s) for s in securities]),
                     section)
        await self._opening(section, base)
        await self._evaluation(section, base)
        await self._award(section, base)

    async def _opening(self, section: Section, base: str) -> None:
        opening = await self.session.get(Opening, section.id)
        if opening is None:
            return
        self.add(f"{base}/opening/opening.json", "opening", "开标状态", opening.updated_at,
                 record(row_json(opening)), section)
        events = await _all(self.session, select(Event).where(
            Event.aggregate_type == "opening", Event.aggregate_id == str(section.id),
            Event.type.in_(("opening.record_generated", "opening.closed", "opening.failed")))
            .order_by(Event.seq))
        for event in events:
            payload = json.loads(event.payload)
            sha = payload.get("record_sha256")
            if not isinstance(sha, str):
                continue
            # The draft is what the bidders signed (开标记录确认); the final record quotes it.
            kind, title = {"opening.record_generated": ("opening_record_draft",
                                                        "开标记录（草稿，供投标人确认）"),
                           "opening.closed": ("opening_record", "开标记录"),
                           "opening.failed": ("opening_record", "开标记录（流标）")}[event.type]
            name = f"{base}/opening/record-{sha[:12]}"
            self.add(f"{name}.json", kind, title, event.occurred_at,
                     self.stores.by_sha(self.stores.records, sha, ".json"), section)
            if kind == "opening_record_draft":
                continue
            pdf = payload.get("pdf_sha256")
            if isinstance(pdf, str):
                self.add(f"{name}.pdf", "opening_record_pdf", f"{title}（PDF）",
                         event.occurred_at, self.stores.by_sha(self.stores.records, sha, ".pdf"),
                         section)

    async def _evaluation(self, section: Section, base: str) -> None:
        session, folder = self.session, f"{base}/evaluation"
        scheme = await session.get(EvaluationScheme, section.id)
        if scheme is not None:
            self.add(f"{folder}/scheme.json", "evaluation_scheme", "评标办法", scheme.set_at,
                     scheme.scheme.encode(), section)
        draws = await _all(session, select(PanelDraw).where(PanelDraw.section_id == section.id)
                           .order_by(PanelDraw.number))
        members = await _all(session, select(PanelMember).where(
            PanelMember.section_id == section.id).order_by(PanelMember.seat, PanelMember.id))
        if draws or members:
            self.add(f"{folder}/committee.json", "committee", "评标委员会抽取与组成",
                     draws[-1].created_at if draws else None,
                     record({"draws": [row_json(d) for d in draws],
                             "members": [row_json(m) for m in members]}), section)
        verdicts = await _all(session, select(ReviewVerdict).where(
            ReviewVerdict.section_id == section.id).order_by(ReviewVerdict.id))
        if verdicts:
            self.add(f"{folder}/review.json", "review_verdicts", "评审（符合性/资格）意见",
                     verdicts[-1].recorded_at, record([row_json(v) for v in verdicts]), section)
        for sheet in await _all(session, select(ScoreSheet).where(
                ScoreSheet.section_id == section.id).order_by(ScoreSheet.id)):
            name = f"{folder}/score-sheets/{sheet.member_id:06d}"
            self.add(f"{name}.json", "score_sheet", "评分表（专家签名）", sheet.submitted_at,
                     sheet.document.encode(), section)
            self.add(f"{name}.signature.json", "score_sheet_signature", "评分表签名",
                     sheet.submitted_at, record(row_json(sheet, skip=("document",))), section)
        explanations = await _all(session, select(PriceExplanation).where(
            PriceExplanation.section_id == section.id).order_by(PriceExplanation.id))
        clarifications = await _all(session, select(BidClarification).where(
            BidClarification.section_id == section.id).order_by(BidClarification.id))
        if explanations or clarifications:
            votes = await _all(session, select(ExplanationVote).where(
                ExplanationVote.explanation_id.in_([e.id for e in explanations]))
                .order_by(ExplanationVote.id)) if explanations else []
            self.add(f"{folder}/clarifications.json", "bid_clarifications",
                     "投标文件澄清与异常低价说明", None,
                     record({"clarifications": [row_json(c) for c in clarifications],
                             "price_explanations": [row_json(e) for e in explanations],
                             "votes": [row_json(v) for v in votes]}), section)
        report = await session.get(EvaluationReport, section.id)
        if report is None:
            return
        answers = await _all(session, select(ReportSignature).where(
            ReportSignature.section_id == section.id).order_by(ReportSignature.id))
        self.add(f"{folder}/report-body.json", "evaluation_report_body", "评标报告（签署正文）",
                 report.drafted_at, report.body.encode(), section)
        self.add(f"{folder}/report-signatures.json", "evaluation_report_signatures",
                 "评标报告签署记录", report.final_at,
                 record({"report": row_json(report, skip=("body",)),
                         "signatures": [row_json(a) for a in answers]}), section)
        if report.final_at is not None:
            ctx = await review.load(session, section.id, self.rules)
            body = await full_report(session, section.id, ctx)
            self.add(f"{folder}/report.pdf", "evaluation_report_pdf", "评标报告（PDF）",
                     report.final_at, await _render(body), section)

    async def _award(self, section: Section, base: str) -> None:
        session, folder = self.session, f"{base}/award"
        publicity = await session.get(Publicity, section.id)
        if publicity is not None:
            objections = await _all(session, select(Objection).where(
                Objection.section_id == section.id).order_by(Objection.number))
            self.add(f"{folder}/publicity.json", "publicity", "中标候选人公示及异议",
                     publicity.published_at,
                     record({"publicity": row_json(publicity),
                             "objections": [row_json(o) for o in objections]}), section)
        awards = await _all(session, select(Award).where(Award.section_id == section.id)
                            .order_by(Award.round))
        if awards:
            self.add(f"{folder}/awards.json", "awards", "定标记录", awards[-1].awarded_at,
                     record([row_json(a) for a in awards]), section)
        notices = await _all(session, select(AwardNotice).where(
            AwardNotice.award_id.in_([a.id for a in awards])).order_by(AwardNotice.id)
        ) if awards else []
        for number, notice in enumerate(notices, start=1):
            title = AWARD_NOTICE_TITLES.get(notice.kind, "通知书")
            name = f"{folder}/notices/{number:03d}-{notice.kind}"
            self.add(f"{name}.json", f"award_notice.{notice.kind}",
                     f"{title} {notice.document_id}", notice.issued_at, notice.body.encode(),
                     section)
            self.add(f"{name}.signature.json", "award_notice_signature", f"{title}签名",
                     notice.issued_at, record(row_json(notice, skip=("body",))), section)
            self.add(f"{name}.pdf", "award_notice_pdf", f"{title}（PDF）", notice.issued_at,
                     bytes(notice.pdf), section)
        failure = await session.get(TenderFailure, section.id)
        if failure is not None:
            self.add(f"{folder}/failure.json", "tender_failure", "招标失败记录", failure.at,
                     record(row_json(failure)), section)

    # -- contracts and reports -----------------------------------------------------------

    async def _contracts(self) -> None:
        session = self.session
        contracts = (await session.execute(select(CONTRACTS).where(
            CONTRACTS.c.project_id == self.project.id).order_by(CONTRACTS.c.id))).all()
        for contract in contracts:
            folder = f"contracts/{_safe(contract.award_id)}"
            signatures = (await session.execute(select(CONTRACT_SIGNATURES).where(
                CONTRACT_SIGNATURES.c.contract_id == contract.id))).all()
            signed_at = max((s.signed_at for s in signatures if s.signed_at), default=None)
            title = "合同（已签署）" if contract.state == "signed" else "合同（未签署完成）"
            self.add(f"{folder}/contract.pdf", "contract_pdf", f"{title} {contract.award_id}",
                     signed_at or contract.created_at, bytes(contract.pdf))
            drafts = (await session.execute(select(CONTRACT_DRAFTS).where(
                CONTRACT_DRAFTS.c.contract_id == contract.id)
                .order_by(CONTRACT_DRAFTS.c.number))).all()
            for draft in drafts:
                self.add(f"{folder}/drafts/{draft.number:03d}.pdf", "contract_draft_pdf",
                         f"合同草案 第{draft.number}稿", draft.created_at, bytes(draft.pdf))
            # Amendments (合同变更): a concluded one's PDF is signed by both parties and
            # checked by the verifier as a contract; an unfinished one's is kept unchecked.
            amendments = (await session.execute(select(CONTRACT_AMENDMENTS).where(
                CONTRACT_AMENDMENTS.c.contract_id == contract.id)
                .order_by(CONTRACT_AMENDMENTS.c.number))).all()
            for amendment in amendments:
                signed = amendment.state == "signed"
                self.add(f"{folder}/amendments/{amendment.number:03d}.pdf",
                         "contract_amendment_pdf" if signed else "contract_amendment_draft_pdf",
                         f"合同变更协议 第{amendment.number}号"
                         f"{'（已签署）' if signed else '（未签署完成）'}",
                         amendment.concluded_at or amendment.created_at, bytes(amendment.pdf))
            self.add(f"{folder}/contract.json", "contract", f"合同记录 {contract.award_id}",
                     contract.created_at,
                     record({"contract": mapping_json(contract._mapping),
                             "drafts": [mapping_json(d._mapping) for d in drafts],
                             "signatures": [mapping_json(s._mapping) for s in signatures],
                             "amendments": [mapping_json(a._mapping) for a in amendments]}))

    async def _reports(self) -> None:
        rows = await _all(self.session, select(OutboxRow).where(
            OutboxRow.project_id == self.project.id).order_by(OutboxRow.event_seq))
        if not rows:
            return
        reports = await reports_for(self.session, rows, self.reporting)
        for row, report in zip(rows, reports, strict=True):
            self.add(f"reports/{row.event_seq:012d}-{_safe(row.topic)}.json",
                     f"platform_report.{row.topic}", f"报送公共服务平台：{row.topic}",
                     report.committed_at, report.body)
        self.add("reports/deliveries.json", "platform_deliveries",
                 "报送与平台确认记录（送达时间）", rows[-1].created_at,
                 record([row_json(r, skip=("leased_until",)) for r in rows]))


async def _render(body: dict[str, Any]) -> bytes:
    return await asyncio.to_thread(render_report_pdf, body)
