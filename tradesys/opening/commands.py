"""One entry point for every opening command, whichever edge it came through (a hall frame,
an HTTP request): the caller validates the message, opens the transaction and commits."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.receipts import CONFIRMATION_TYPE, receipt_file, sign_receipt
from tradesys.clock import Clock, isoformat_utc
from tradesys.errors import Invalid
from tradesys.events.models import Event
from tradesys.identity.principal import Principal
from tradesys.opening import ceremony, record
from tradesys.opening.chat_limit import ChatLimit
from tradesys.procurement.rules import RuleBook
from tradesys.storage import FileStore

#: Commands after which the scheduler should run at once (bids may be ready to open).
WAKES_SCHEDULER = frozenset({"release_share", "release_holder_share"})


@dataclass(frozen=True)
class OpeningCommands:
    clock: Clock
    rules: RuleBook
    bids: FileStore
    opened_dir: Path
    records: record.RecordStore
    #: Countersigns bidders' confirmations of the opening record (the receipt key).
    receipt_key: Ed25519PrivateKey
    #: The one chat rate limit, whichever edge the chat came through.
    chat_limit: ChatLimit = field(default_factory=ChatLimit)

    async def run(self, session: AsyncSession, principal: Principal, section_id: int,
                  command: Any) -> dict[str, Any]:
        now = self.clock.now()
        kind = command.type
        if kind == "chat":
            self.chat_limit.take(principal.user_id, now)
        if kind == "sign_in":
            return await ceremony.sign_in(session, principal, section_id, now)
        if kind == "release_share":
            bid = await ceremony.release_bidder_share(session, principal, section_id,
                                                      command.share, now, self.bids)
            return {"bid_id": bid.public_id}
        if kind == "release_holder_share":
            row = await ceremony.release_holder_share(session, principal, section_id,
                                                      command.share.model_dump(), now)
            return {"share_index": row.share_index}
        if kind == "end_decryption":
            progress = await ceremony.end_decryption(session, principal, section_id, now,
                                                     self.bids, self.opened_dir)
            return {"opened": progress.opened, "ended": progress.ended}
        event = await self._event_command(session, principal, section_id, command, now)
        if kind == "confirm_record":
            return {"seq": event.aggregate_seq, "receipt": self._countersign(event)}
        return {"seq": event.aggregate_seq}

    def _countersign(self, event: Event) -> dict[str, Any]:
        """The bidder's proof of what it confirmed: the record's hash and the log entry that
        records the confirmation, signed by the platform (``tradesys verify receipt``)."""
        payload = json.loads(event.payload)
        receipt = {"type": CONFIRMATION_TYPE, "section_id": int(event.aggregate_id),
                   "org_id": payload["org_id"], "bidder": payload["name"],
                   "record_sha256": payload["record_sha256"], "key_id": payload["key_id"],
                   "confirmed_at": isoformat_utc(event.occurred_at), "event_seq": event.seq,
                   "event_hash": event.hash}
        return receipt_file(self.receipt_key, receipt, sign_receipt(self.receipt_key, receipt))

    async def _event_command(self, session: AsyncSession, principal: Principal,
                             section_id: int, command: Any, now: Any) -> Any:
        text = getattr(command, "text", "")
        reason = getattr(command, "reason", "")
        steps: dict[str, Callable[[], Awaitable[Any]]] = {
            "start_decryption": lambda: ceremony.start_decryption(
                session, principal, section_id, now, self.rules),
            "read_next": lambda: ceremony.read_next(session, principal, section_id, now),
            "generate_record": lambda: record.generate_record(
                session, principal, section_id, now, self.rules, self.records),
            "close": lambda: record.close_opening(session, principal, section_id, now,
                                                  self.records),
            "declare_failed": lambda: record.declare_failed(session, principal, section_id,
                                                            reason, now, self.records),
            "pause": lambda: ceremony.pause(session, principal, section_id, reason, now),
            "resume": lambda: ceremony.resume(session, principal, section_id, reason, now),
            "announce": lambda: ceremony.announce(session, principal, section_id, text, now),
            "raise_objection": lambda: ceremony.raise_objection(session, principal, section_id,
                                                                text, now),
            "chat": lambda: ceremony.chat(session, principal, section_id, text, now),
            "confirm_record": lambda: ceremony.confirm_record(
                session, principal, section_id, command.record_sha256, command.key_id,
                command.signature, now),
            "answer_objection": lambda: ceremony.answer_objection(
                session, principal, section_id, command.objection, text, now),
            "mute": lambda: ceremony.set_muted(session, principal, section_id, command.org_id,
                                               True, now),
            "unmute": lambda: ceremony.set_muted(session, principal, section_id,
                                                 command.org_id, False, now),
        }
        step = steps.get(command.type)
        if step is None:
            # The edges parse only the command models, whose types all have a step here but
            # ping (answered by the hall's connection itself): never a 500 if one slips by.
            raise Invalid("unknown_type", "未知的指令类型 (unknown command type)")
        return await step()
