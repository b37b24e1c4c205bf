"""The opening ceremony's commands (开标流程): who may do what, in which phase.

Every command locks the opening's row, folds the opening's events into its state, checks the
caller and the phase, and appends one event (aggregate ``opening``) in the same transaction; a
refusal raises a :class:`DomainError` and changes nothing. The hall sends these over WebSocket,
the API over HTTP, the scheduler on time; all three obey the same rules because they are here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids import opening as bid_opening
from tradesys.bids.errors import ShareError
from tradesys.bids.keyring import signing_key
from tradesys.bids.models import Bid, BidSecurity, OpeningKeyShare
from tradesys.bids.opening_keys import opening_key_of
from tradesys.bids.submission import VALID
from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.events.log import Actor, append_event
from tradesys.events.models import Event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.opening import chat_limit, confirmation
from tradesys.opening.audience import Audience, audience_of
from tradesys.opening.models import Opening
from tradesys.opening.state import (
    CLOSED,
    CONFIRMING,
    DECRYPTED,
    DECRYPTING,
    FAILED,
    PUBLISHED,
    TOO_FEW,
    WAITING,
    OpeningState,
)
from tradesys.procurement.kinds import Procedure, SectionState
from tradesys.procurement.models import Project, Section
from tradesys.procurement.rules import RuleBook
from tradesys.storage import FileStore

AGGREGATE = "opening"
SIGNIN_AGGREGATE = "signin"
MAX_TEXT = 1000
MAX_CHAT = 500
MARKUP = re.compile(r"[<>]")


@dataclass
class Context:
    section: Section
    project: Project
    opening: Opening | None
    state: OpeningState


async def fold(session: AsyncSession, section_id: int) -> OpeningState:
    state = OpeningState()
    rows = (await session.execute(
        select(Event.aggregate_seq, Event.type, Event.payload, Event.occurred_at)
        .where(Event.aggregate_type == AGGREGATE, Event.aggregate_id == str(section_id))
        .order_by(Event.aggregate_seq))).all()
    for seq, type_, payload, at in rows:
        state.apply(seq, type_, json.loads(payload), at)
    return state


async def load(session: AsyncSession, section_id: int, *, lock: bool = True) -> Context:
    """The section, its project, its opening row (locked) and its folded state."""
    section = await session.get(Section, section_id, with_for_update=lock,
                                populate_existing=lock)
    if section is None:
        raise NotFound("section_not_found", "标段不存在 (no such section)")
    project = await session.get_one(Project, section.project_id)
    opening = await session.get(Opening, section_id, populate_existing=lock)
    return Context(section, project, opening, await fold(session, section_id))


async def emit(session: AsyncSession, ctx: Context, actor: Actor, at: datetime, type: str,
                payload: dict[str, Any], *, report_as: str | None = None) -> Event:
    event = await append_event(session, actor=actor, at=at, aggregate_type=AGGREGATE,
                               aggregate_id=ctx.section.id, project_id=ctx.project.id, type=type,
                               payload=payload, report_as=report_as)
    ctx.state.apply(event.aggregate_seq, type, payload, at)
    _sync_row(session, ctx, at)
    return event


def _sync_row(session: AsyncSession, ctx: Context, at: datetime) -> None:
    state = ctx.state
    if ctx.opening is None:
        ctx.opening = Opening(section_id=ctx.section.id, project_id=ctx.project.id,
                              phase=state.phase, paused=state.paused, updated_at=at)
        session.add(ctx.opening)
    row = ctx.opening
    row.phase = state.phase
    row.paused = state.paused
    row.window_ends_at = state.window_ends_at
    row.confirm_until = state.confirm_until
    row.record_sha256 = state.record_sha256
    row.updated_at = at


async def _caller(session: AsyncSession, principal: Principal | None, ctx: Context) -> Audience:
    return await audience_of(session, principal, ctx.section, ctx.project)


def _require(audience: Audience, *kinds: str) -> None:
    if audience.kind not in kinds:
        raise Forbidden("forbidden", "您在本开标大厅无权执行此操作 (your role in this opening "
                        "does not allow this)")


def require_phase(state: OpeningState, *phases: str) -> None:
    if state.phase not in phases:
        raise Conflict("wrong_phase", f"当前开标阶段（{state.phase}）不能执行此操作 (not possible "
                       f"in the opening's current phase: {state.phase})",
                       {"phase": state.phase})


def require_running(state: OpeningState) -> None:
    if state.paused:
        raise Conflict("paused", "开标已暂停 (the opening is paused)")


def clean_text(value: str, limit: int, field: str) -> str:
    text = value.strip()
    if not text:
        raise Invalid("empty_text", f"{field} 不能为空 ({field} is empty)")
    if len(text) > limit:
        raise Invalid("text_too_long", f"{field} 超过 {limit} 字 ({field} is over {limit} "
                      "characters)")
    return text


# -- time-driven: the bid list at the deadline --------------------------------------------


async def publish_bid_list(session: AsyncSession, section_id: int, now: datetime,
                           rules: RuleBook) -> Event | None:
    """At the deadline (the section is closed): the received bids are published once."""
    ctx = await load(session, section_id)
    if ctx.section.state != SectionState.CLOSED or ctx.state.phase != WAITING:
        return None
    signed_in = set((await session.execute(
        select(Event.actor_org_id).where(Event.aggregate_type == SIGNIN_AGGREGATE,
                                         Event.aggregate_id == str(section_id)))).scalars())
    rows = (await session.execute(
        select(Bid, Organisation, BidSecurity.status)
        .join(Organisation, Organisation.id == Bid.org_id)
        .outerjoin(BidSecurity, (BidSecurity.section_id == Bid.section_id)
                   & (BidSecurity.org_id == Bid.org_id))
        .where(Bid.section_id == section_id, Bid.status == VALID)
        .order_by(Bid.received_at, Bid.id))).all()
    key = await opening_key_of(session, section_id)
    holders = 0
    if key is not None:
        holders = len((await session.execute(select(OpeningKeyShare.id).where(
            OpeningKeyShare.opening_key_id == key.id))).scalars().all())
    min_bids = rules.for_procedure(Procedure(ctx.project.procedure)).min_bids
    bidders = [{"bid_id": bid.id, "public_id": bid.public_id, "org_id": org.id, "name": org.name,
                "credit_code": org.credit_code, "envelope_sha256": bid.envelope_sha256,
                "received_at": isoformat_utc(bid.received_at), "security": security,
                "signed_in": org.id in signed_in} for bid, org, security in rows]
    return await emit(session, ctx, Actor.system(), now, "opening.bids_published", {
        "section_code": ctx.section.code, "bidders": bidders, "min_bids": min_bids,
        "outcome": "proceed" if len(bidders) >= min_bids else "too_few",
        "threshold": key.threshold if key is not None else 0, "holders": holders,
        "ceiling_price": _money(ctx.section.ceiling_price),
    })


def _money(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


# -- the bidders -----------------------------------------------------------------------------


async def sign_in(session: AsyncSession, principal: Principal, section_id: int,
                  now: datetime) -> dict[str, Any]:
    """签到. Before the list is out it stays private (who means to bid is secret until the
    deadline); afterwards it is a room event."""
    ctx = await load(session, section_id)
    audience = await _caller(session, principal, ctx)
    _require(audience, "bidder")
    if ctx.state.phase == WAITING:
        already = (await session.execute(select(Event.seq).where(
            Event.aggregate_type == SIGNIN_AGGREGATE, Event.aggregate_id == str(section_id),
            Event.actor_org_id == principal.org_id).limit(1))).scalar_one_or_none()
        if already is None:
            await append_event(session, actor=principal.actor, at=now,
                               aggregate_type=SIGNIN_AGGREGATE, aggregate_id=section_id,
                               project_id=ctx.project.id, type="bidder.signed_in",
                               payload={"org_id": principal.org_id})
        return {"signed_in": True, "at": isoformat_utc(now)}
    bidder = ctx.state.bidder_of(principal.org_id)
    if bidder is None:
        raise Forbidden("not_a_bidder", "您没有参加本标段开标的投标文件 (you have no bid in "
                        "this opening)")
    if not bidder.signed_in:
        await emit(session, ctx, principal.actor, now, "opening.signed_in",
                    {"org_id": principal.org_id, "name": bidder.name})
    return {"signed_in": True, "at": isoformat_utc(now)}


async def signed_in(session: AsyncSession, section_id: int, org_id: int) -> bool:
    """Whether a bidder signed in (before the deadline, privately; or in the room after)."""
    for aggregate, type_ in ((SIGNIN_AGGREGATE, "bidder.signed_in"),
                             (AGGREGATE, "opening.signed_in")):
        found = (await session.execute(select(Event.seq).where(
            Event.aggregate_type == aggregate, Event.aggregate_id == str(section_id),
            Event.type == type_, Event.actor_org_id == org_id).limit(1))).scalar_one_or_none()
        if found is not None:
            return True
    return False


async def release_bidder_share(session: AsyncSession, principal: Principal, section_id: int,
                               share: str, now: datetime, store: FileStore) -> Bid:
    """解密: only inside the decryption window, only while the opening is running."""
    ctx = await load(session, section_id)
    principal.require_role(Role.BIDDER)
    bid_opening.after_deadline(ctx.section, now)
    require_phase(ctx.state, DECRYPTING)
    require_running(ctx.state)
    assert ctx.state.window_ends_at is not None
    if now >= ctx.state.window_ends_at:
        raise Conflict("window_closed", "解密时间已结束 (the decryption window has ended)")
    bid = await bid_opening.release_bidder_share(session, principal, section_id, share, now,
                                                 store)
    _sync_row(session, ctx, now)
    return bid


async def release_holder_share(session: AsyncSession, principal: Principal, section_id: int,
                               released: dict[str, Any], now: datetime) -> OpeningKeyShare:
    ctx = await load(session, section_id)
    bid_opening.after_deadline(ctx.section, now)
    require_phase(ctx.state, PUBLISHED, DECRYPTING)
    row = await bid_opening.release_holder_share(session, principal, section_id, released, now)
    if row.share_index in ctx.state.holder_shares:
        raise Conflict("share_already_released", "您的开标密钥份额已释放 (your share is "
                       "already released)")
    _sync_row(session, ctx, now)
    return row


async def confirm_record(session: AsyncSession, principal: Principal, section_id: int,
                         record_sha256: str, key_id: str, signature: str,
                         now: datetime) -> Event:
    """确认: the bidder signs the record's hash with its registered signing key."""
    ctx = await load(session, section_id)
    audience = await _caller(session, principal, ctx)
    _require(audience, "bidder")
    require_phase(ctx.state, CONFIRMING)
    require_running(ctx.state)
    bidder = ctx.state.bidder_of(principal.org_id)
    if bidder is None:
        raise Forbidden("not_a_bidder", "您不是本标段的投标人 (you are not a bidder of this "
                        "section)")
    assert ctx.state.confirm_until is not None
    if now >= ctx.state.confirm_until:
        raise Conflict("confirmation_closed", "确认时间已结束 (the confirmation window has ended)")
    if record_sha256 != ctx.state.record_sha256:
        raise Invalid("record_mismatch", "确认的开标记录与当前记录不符 (this is not the current "
                      "record)")
    if principal.org_id in ctx.state.confirmations:
        raise Conflict("already_confirmed", "已确认 (already confirmed)")
    key = await signing_key(session, principal.org_id, key_id)
    if key is None:
        raise Invalid("no_signing_key", "本单位没有登记该签名密钥 (your organisation has no "
                      "registered signing key with this id)")
    signed = confirmation.message(ctx.section.code, record_sha256, bidder.credit_code)
    if not confirmation.verify(key.public_key, signed, signature):
        raise Invalid("bad_signature", "签名无效：须以该签名密钥对开标记录确认信息签名 (the "
                      "signature does not verify over the confirmation message)")
    return await emit(session, ctx, principal.actor, now, "opening.record_confirmed",
                      {"org_id": principal.org_id, "name": bidder.name,
                       "record_sha256": record_sha256, "key_id": key.key_id,
                       "public_key": key.public_key, "signature": signature})


async def raise_objection(session: AsyncSession, principal: Principal, section_id: int,
                          text: str, now: datetime) -> Event:
    """异议: raised in the hall during the opening (招标投标法实施条例 第44条), answered live."""
    ctx = await load(session, section_id)
    audience = await _caller(session, principal, ctx)
    _require(audience, "bidder")
    require_phase(ctx.state, PUBLISHED, TOO_FEW, DECRYPTING, DECRYPTED, CONFIRMING)
    bidder = ctx.state.bidder_of(principal.org_id)
    if bidder is None:
        raise Forbidden("not_a_bidder", "您不是本标段的投标人 (you are not a bidder of this "
                        "section)")
    number = len(ctx.state.objections) + 1
    return await emit(session, ctx, principal.actor, now, "opening.objection_raised",
                       {"objection": number, "org_id": principal.org_id, "name": bidder.name,
                        "text": clean_text(text, MAX_TEXT, "异议")})


# -- the host ----------------------------------------------------------------------------------


async def host_context(session: AsyncSession, principal: Principal, section_id: int) -> Context:
    ctx = await load(session, section_id)
    _require(await _caller(session, principal, ctx), "host")
    return ctx


async def start_decryption(session: AsyncSession, principal: Principal, section_id: int,
                           now: datetime, rules: RuleBook) -> Event:
    ctx = await host_context(session, principal, section_id)
    require_phase(ctx.state, PUBLISHED)
    require_running(ctx.state)
    minutes = rules.for_procedure(Procedure(ctx.project.procedure)).decryption_window_minutes
    return await emit(session, ctx, principal.actor, now, "opening.decryption_started",
                       {"minutes": minutes,
                        "window_ends_at": isoformat_utc(now + timedelta(minutes=minutes))})


async def read_next(session: AsyncSession, principal: Principal, section_id: int,
                    now: datetime) -> Event:
    """唱标: the next decrypted bid's summary, in order of receipt."""
    ctx = await host_context(session, principal, section_id)
    require_phase(ctx.state, DECRYPTED)
    require_running(ctx.state)
    pending = ctx.state.to_read()
    if not pending:
        raise Conflict("nothing_to_read", "所有投标报价已唱读 (every bid has been read)")
    bidder = pending[0]
    bid = await session.get_one(Bid, bidder.bid_id)
    summary = json.loads(bid.summary) if bid.summary else {}
    return await emit(session, ctx, principal.actor, now, "opening.price_read", {
        "bid_id": bidder.bid_id, "org_id": bidder.org_id, "name": bidder.name,
        "order": len(ctx.state.read) + 1, "price": summary.get("price"),
        "currency": summary.get("currency"), "duration_days": summary.get("duration_days"),
        "quality": summary.get("quality"), "project_manager": summary.get("project_manager"),
    })


async def announce(session: AsyncSession, principal: Principal, section_id: int, text: str,
                   now: datetime) -> Event:
    ctx = await host_context(session, principal, section_id)
    _phase_not_final(ctx.state)
    return await emit(session, ctx, principal.actor, now, "opening.announcement",
                       {"text": clean_text(text, MAX_TEXT, "公告")})


async def pause(session: AsyncSession, principal: Principal, section_id: int, reason: str,
                now: datetime) -> Event:
    ctx = await host_context(session, principal, section_id)
    _phase_not_final(ctx.state)
    if ctx.state.paused:
        raise Conflict("already_paused", "开标已暂停 (already paused)")
    return await emit(session, ctx, principal.actor, now, "opening.paused",
                       {"reason": clean_text(reason, MAX_TEXT, "暂停原因")})


async def resume(session: AsyncSession, principal: Principal, section_id: int, reason: str,
                 now: datetime) -> Event:
    """A pause stops the clocks that bind the bidders: the open window (decryption or
    confirmation) is extended by the pause's length, so nobody loses time to it."""
    ctx = await host_context(session, principal, section_id)
    state = ctx.state
    if not state.paused or state.paused_at is None:
        raise Conflict("not_paused", "开标未暂停 (the opening is not paused)")
    lost = now - state.paused_at
    payload: dict[str, Any] = {"reason": reason.strip()[:MAX_TEXT],
                               "paused_seconds": int(lost.total_seconds())}
    if state.phase == DECRYPTING and state.window_ends_at is not None:
        payload["window_ends_at"] = isoformat_utc(state.window_ends_at + lost)
    if state.phase == CONFIRMING and state.confirm_until is not None:
        payload["confirm_until"] = isoformat_utc(state.confirm_until + lost)
    return await emit(session, ctx, principal.actor, now, "opening.resumed", payload)


async def answer_objection(session: AsyncSession, principal: Principal, section_id: int,
                           objection: int, text: str, now: datetime) -> Event:
    ctx = await host_context(session, principal, section_id)
    _phase_not_final(ctx.state)
    found = ctx.state.objections.get(objection)
    if found is None:
        raise NotFound("objection_not_found", "异议不存在 (no such objection)")
    if found.answer is not None:
        raise Conflict("already_answered", "该异议已答复 (already answered)")
    return await emit(session, ctx, principal.actor, now, "opening.objection_answered",
                       {"objection": objection, "text": clean_text(text, MAX_TEXT, "答复")})


async def set_muted(session: AsyncSession, principal: Principal, section_id: int, org_id: int,
                    muted: bool, now: datetime) -> Event:
    ctx = await host_context(session, principal, section_id)
    _phase_not_final(ctx.state)
    if ctx.state.bidder_of(org_id) is None:
        raise NotFound("bidder_not_found", "本标段没有该投标人 (no such bidder here)")
    if (org_id in ctx.state.muted) == muted:
        raise Conflict("no_change", "状态未变 (nothing to change)")
    return await emit(session, ctx, principal.actor, now,
                       "chat.muted" if muted else "chat.unmuted", {"org_id": org_id})


def _phase_not_final(state: OpeningState) -> None:
    if state.phase in (FAILED, CLOSED):
        raise Conflict("opening_over", "开标已结束 (the opening is over)")


async def chat(session: AsyncSession, principal: Principal, section_id: int, text: str,
               now: datetime) -> Event:
    """Participants' chat: part of the log (留痕), never shown to the public; closed to
    bidders until the bid list is published at the deadline."""
    ctx = await load(session, section_id)
    audience = await _caller(session, principal, ctx)
    _require(audience, "host", "bidder", "procurer")
    _phase_not_final(ctx.state)
    if audience.kind == "bidder" and ctx.state.phase == WAITING:
        # Only a bidder with a valid bid may chat, so its message would tell every other such
        # bidder that it has bid: a secret until the deadline (办法 Art. 28; 法 Art. 22).
        # Questions before the deadline go through the anonymous Q&A (答疑).
        raise Conflict("chat_closed", "投标截止前投标人不能在大厅发言，请通过答疑提问 (bidders "
                       "cannot chat in the hall before the bid deadline: ask through the Q&A)")
    if audience.kind == "bidder" and principal.org_id in ctx.state.muted:
        raise Forbidden("muted", "主持人已将您禁言 (the host has muted you)")
    message = clean_text(text, MAX_CHAT, "消息")
    if MARKUP.search(message):
        # Pages show text as text anyway; markup in the hall's chat is refused outright, so no
        # client (ours or another) is ever handed one to interpret.
        raise Invalid("markup_refused", "消息不能包含 HTML 标记（< 或 >） (no HTML markup in "
                      "chat)")
    # The limit across processes: the log's count of this user's messages (the process's own
    # count of attempts was taken at the edge, OpeningCommands.run).
    await chat_limit.check_logged(session, principal.user_id, now)
    org = await session.get_one(Organisation, principal.org_id)
    return await emit(session, ctx, principal.actor, now, "chat.message",
                      {"from": org.name, "org_id": org.id, "role": audience.kind,
                       "text": message})


# -- decryption: by the scheduler (or the host) -----------------------------------------------


@dataclass(frozen=True)
class Progress:
    opened: int
    ended: bool


async def advance_decryption(session: AsyncSession, ctx: Context, actor: Actor,
                             now: datetime, store: FileStore, opened_dir: Path,
                             *, end_now: bool = False) -> Progress:
    """Opens what can be opened; ends the window when it is over (or ``end_now``): bids still
    without a bidder share are revoked, price reading may begin. The tender list (TENDER_LIST,
    with the prices) is reported only at the record's close (record.close_opening).

    Needs the threshold of opening-key shares: without it nothing opens and the window cannot
    end (the bidders are not at fault), which the room shows as waiting for key holders.
    """
    state = ctx.state
    if state.phase != DECRYPTING or state.paused:
        return Progress(0, False)
    if len(state.holder_shares) < state.threshold:
        return Progress(0, False)
    assert state.window_ends_at is not None
    finalize = end_now or now >= state.window_ends_at
    ready = [b for b in state.undecided() if b.share_released]
    if not ready and not finalize and state.undecided():
        return Progress(0, False)
    results = await bid_opening.open_bids(session, actor, ctx.project, ctx.section, now, store,
                                          opened_dir, finalize=finalize) if (
        ready or finalize) else []
    ctx.state = await fold(session, ctx.section.id)
    if finalize or not ctx.state.undecided():
        counts = {outcome: sum(1 for b in ctx.state.bidders.values() if b.outcome == outcome)
                  for outcome in ("decrypted", "revoked", "withdrawn")}
        await emit(session, ctx, actor, now, "opening.decryption_ended", counts)
        return Progress(len(results), True)
    _sync_row(session, ctx, now)
    return Progress(len(results), False)


def _enough_shares(state: OpeningState) -> None:
    have, need = len(state.holder_shares), state.threshold
    if have < need:
        raise ShareError("too_few_shares", f"开标密钥份额不足：已有 {have} 份，需要 {need} 份 "
                         f"({have} of the {need} opening shares needed)",
                         {"have": have, "need": need})


async def open_released(session: AsyncSession, principal: Principal, section_id: int,
                        now: datetime, store: FileStore, opened_dir: Path) -> Progress:
    """The host opens now what the scheduler would open on its next pass."""
    ctx = await host_context(session, principal, section_id)
    bid_opening.after_deadline(ctx.section, now)
    require_phase(ctx.state, DECRYPTING)
    require_running(ctx.state)
    _enough_shares(ctx.state)
    return await advance_decryption(session, ctx, principal.actor, now, store, opened_dir)


async def end_decryption(session: AsyncSession, principal: Principal, section_id: int,
                         now: datetime, store: FileStore, opened_dir: Path) -> Progress:
    """The host ends the window early: only when nothing is left to wait for (every bid has
    its bidder's share or an outcome), so no bidder loses its remaining time."""
    ctx = await host_context(session, principal, section_id)
    require_phase(ctx.state, DECRYPTING)
    require_running(ctx.state)
    waiting = [b.name for b in ctx.state.undecided() if not b.share_released]
    if waiting:
        raise Conflict("bidders_pending", "仍有投标人未解密，解密时间未到不能结束 (some bidders "
                       "have not decrypted and the window is still open)", {"waiting": waiting})
    _enough_shares(ctx.state)
    return await advance_decryption(session, ctx, principal.actor, now, store, opened_dir,
                                    end_now=True)

