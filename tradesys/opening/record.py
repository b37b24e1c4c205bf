"""The opening record (开标记录): built from the opening's state, kept as canonical JSON and
as a PDF, both content-addressed (the name is the file's SHA-256).

The draft is generated after the price reading and put to the bidders; each confirms its
SHA-256 (or objects). At the close the final record adds the confirmations, the objections with
their answers and the draft's hash; it is published and reported (BID_OPENING_RECORD). A failed
tender (流标) gets a record too, saying why nothing was opened.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids import opening as bid_opening
from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict
from tradesys.events.canonical import canonical_json
from tradesys.events.models import Event
from tradesys.identity.models import Organisation, User
from tradesys.identity.principal import Principal
from tradesys.opening.ceremony import (
    Context,
    clean_text,
    emit,
    host_context,
    require_phase,
    require_running,
)
from tradesys.opening.confirmation import MESSAGE_TYPE
from tradesys.opening.record_pdf import render_record_pdf
from tradesys.opening.state import CONFIRMING, DECRYPTED, TOO_FEW
from tradesys.procurement.kinds import Procedure, ReportSet
from tradesys.procurement.rules import RuleBook
from tradesys.storage import FileStore, private_dir

FORMAT = "tradesys.opening-record/1"
PLACE = "tradesys 网上开标大厅（不见面开标）"


@dataclass(frozen=True)
class StoredRecord:
    record: dict[str, Any]
    sha256: str
    pdf_sha256: str


class RecordStore:
    """Where records live: ``<root>/<sha[:2]>/<sha>.json`` and ``.pdf``."""

    def __init__(self, root: Path) -> None:
        self.files = FileStore(root)

    def json_path(self, sha256: str) -> Path:
        return self.files.path_of(sha256).with_suffix(".json")

    def pdf_path(self, sha256: str) -> Path:
        return self.files.path_of(sha256).with_suffix(".pdf")

    def _write(self, path: Path, data: bytes) -> None:
        private_dir(path.parent)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=".record-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(name, path)

    def save(self, record: dict[str, Any]) -> StoredRecord:
        """Writes the JSON and its PDF (the PDF's footer names the JSON's hash)."""
        data = canonical_json(record)
        sha = hashlib.sha256(data).hexdigest()
        pdf = render_record_pdf({**record, "record_sha256": sha})
        self._write(self.json_path(sha), data)
        self._write(self.pdf_path(sha), pdf)
        return StoredRecord(record, sha, hashlib.sha256(pdf).hexdigest())


async def _names(session: AsyncSession, ctx: Context, principal: Principal) -> dict[str, Any]:
    procurer = await session.get_one(Organisation, ctx.project.procurer_org_id)
    agency = (await session.get(Organisation, ctx.project.agency_org_id)
              if ctx.project.agency_org_id is not None else None)
    host_org = await session.get_one(Organisation, principal.org_id)
    host_user = await session.get_one(User, principal.user_id)
    return {
        "project": {"code": ctx.project.code, "name": ctx.project.name,
                    "procurer": procurer.name, "agency": agency.name if agency else None},
        "host": {"name": host_user.display_name, "organisation": host_org.name},
    }


def _base(ctx: Context, names: dict[str, Any], version: str) -> dict[str, Any]:
    state = ctx.state
    section = ctx.section
    return {
        "format": FORMAT, "version": version, **names,
        "section": {"code": section.code, "name": section.name,
                    "ceiling_price": state.ceiling_price, "currency": "CNY"},
        "bid_deadline": isoformat_utc(section.bid_deadline) if section.bid_deadline else None,
        "opened_at": (isoformat_utc(state.decryption_started_at)
                      if state.decryption_started_at else None),
        "place": PLACE,
        "key_holders": {"threshold": state.threshold, "holders": state.holders,
                        "released": len(state.holder_shares)},
        "failed": None,
        "bidders": [
            {"order": number, "name": b.name, "credit_code": b.credit_code,
             "envelope_sha256": b.envelope_sha256, "received_at": b.received_at,
             "security": b.security, "signed_in": b.signed_in, "outcome": b.outcome,
             "reason": b.reason, **(b.reading or {"price": None, "currency": None,
                                                 "duration_days": None, "quality": None,
                                                 "project_manager": None})}
            for number, b in enumerate(state.ordered(), start=1)
        ],
        "confirmations": [],
        "objections": [],
    }


def _settled(ctx: Context) -> dict[str, Any]:
    """What the bidders said: confirmations and objections with their answers."""
    by_org = {b.org_id: b for b in ctx.state.bidders.values()}
    return {
        "confirmations": [
            {"name": by_org[org].name, "credit_code": by_org[org].credit_code,
             "at": item["at"], "record_sha256": item["record_sha256"],
             "key_id": item["key_id"], "public_key": item["public_key"],
             "signature": item["signature"],
             # What was signed (tradesys.opening.confirmation.message): anyone can verify.
             "signed": {"type": MESSAGE_TYPE, "section_code": ctx.section.code,
                        "record_sha256": item["record_sha256"],
                        "bidder_credit_code": by_org[org].credit_code}}
            for org, item in sorted(ctx.state.confirmations.items()) if org in by_org],
        "objections": [
            {"id": o.id, "name": o.name, "text": o.text, "at": o.at, "answer": o.answer,
             "answered_at": o.answered_at} for o in ctx.state.objections.values()],
    }


def _urls(section_id: int) -> dict[str, str]:
    base = f"/api/v1/sections/{section_id}/opening/record"
    return {"record_url": f"{base}.json", "pdf_url": f"{base}.pdf"}


async def generate_record(session: AsyncSession, principal: Principal, section_id: int,
                          now: datetime, rules: RuleBook, records: RecordStore) -> Event:
    """After the price reading: the draft record, put to the bidders for confirmation."""
    ctx = await host_context(session, principal, section_id)
    require_phase(ctx.state, DECRYPTED)
    require_running(ctx.state)
    if ctx.state.to_read():
        raise Conflict("reading_unfinished", "尚有投标报价未唱读 (some bids have not been read "
                       "out yet)")
    record = _base(ctx, await _names(session, ctx, principal), "draft")
    stored = await asyncio.to_thread(records.save, record)
    minutes = rules.for_procedure(Procedure(ctx.project.procedure)).confirmation_window_minutes
    return await emit(session, ctx, principal.actor, now, "opening.record_generated", {
        "record_sha256": stored.sha256, "pdf_sha256": stored.pdf_sha256,
        "confirm_until": isoformat_utc(now + timedelta(minutes=minutes)),
    })


async def close_opening(session: AsyncSession, principal: Principal, section_id: int,
                        now: datetime, records: RecordStore) -> Event:
    """结束开标: once every bidder has confirmed or the confirmation window is over, and every
    objection is answered. Bidders that neither confirmed nor objected in time are recorded as
    such (视为无异议)."""
    ctx = await host_context(session, principal, section_id)
    require_phase(ctx.state, CONFIRMING)
    require_running(ctx.state)
    state = ctx.state
    if state.open_objections():
        raise Conflict("objections_unanswered", "尚有异议未答复 (some objections are not "
                       "answered)", {"objections": [o.id for o in state.open_objections()]})
    assert state.confirm_until is not None
    pending = [b for b in state.bidders.values() if b.org_id not in state.confirmations]
    if pending and now < state.confirm_until:
        raise Conflict("confirmation_open", "确认时间未到且尚有投标人未确认 (the confirmation "
                       "window is still open and some bidders have not confirmed)",
                       {"waiting": [b.name for b in pending]})
    record = {**_base(ctx, await _names(session, ctx, principal), "final"), **_settled(ctx),
              "draft_sha256": state.record_sha256, "closed_at": isoformat_utc(now),
              "unconfirmed": [b.name for b in pending]}
    stored = await asyncio.to_thread(records.save, record)
    # 投标人名单 with its prices goes to the public feeds only now, once the hall has read
    # every price out (唱标): at the end of decryption no one but the host had heard one.
    if not state.tender_list_published:
        await bid_opening.publish_tender_list(session, principal.actor, ctx.project,
                                              ctx.section, now)
    return await emit(session, ctx, principal.actor, now, "opening.closed", {
        "record_sha256": stored.sha256, "pdf_sha256": stored.pdf_sha256,
        **_urls(section_id), "record": record,
    }, report_as=ReportSet.BID_OPENING_RECORD)


async def declare_failed(session: AsyncSession, principal: Principal, section_id: int,
                         reason: str, now: datetime, records: RecordStore) -> Event:
    """流标: only when fewer bids than the procedure's minimum arrived; nothing is decrypted.
    The record says so, and is published and reported like any opening record."""
    ctx = await host_context(session, principal, section_id)
    require_phase(ctx.state, TOO_FEW)
    why = clean_text(reason, 1000, "流标原因")
    record = {**_base(ctx, await _names(session, ctx, principal), "final"), **_settled(ctx),
              "failed": {"reason": why, "bids": len(ctx.state.bidders),
                         "min_bids": ctx.state.min_bids},
              "closed_at": isoformat_utc(now)}
    stored = await asyncio.to_thread(records.save, record)
    return await emit(session, ctx, principal.actor, now, "opening.failed", {
        "reason": why, "bids": len(ctx.state.bidders), "min_bids": ctx.state.min_bids,
        "record_sha256": stored.sha256, "pdf_sha256": stored.pdf_sha256,
        **_urls(section_id), "record": record,
    }, report_as=ReportSet.BID_OPENING_RECORD)
