"""Re-computing the chain: what ``tradesys verify log`` runs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.events.log import CHAIN_HEAD_ID, GENESIS_HASH, hash_event_row
from tradesys.events.models import ChainHead, Event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    #: Sequence number of the first event that does not verify (or the head's, if it lies).
    bad_seq: int | None = None
    reason: str = ""


async def verify_chain(session: AsyncSession, *, batch: int = 5000) -> ChainReport:
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    after = 0
    while True:
        rows = (
            (
                await session.execute(
                    select(Event).where(Event.seq > after).order_by(Event.seq).limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainReport(
                    False,
                    checked,
                    expected_seq,
                    f"event {expected_seq} is missing (next found: {row.seq})",
                )
            if row.prev_hash != expected_prev:
                return ChainReport(
                    False, checked, row.seq, f"event {row.seq} does not follow event {row.seq - 1}"
                )
            if hash_event_row(row) != row.hash:
                return ChainReport(
                    False, checked, row.seq, f"event {row.seq} was altered: its hash does not match"
                )
            expected_prev = row.hash
            expected_seq += 1
            checked += 1
        after = rows[-1].seq
        session.expunge_all()
    head = (
        await session.execute(select(ChainHead).where(ChainHead.id == CHAIN_HEAD_ID))
    ).scalar_one_or_none()
    if head is None:
        return ChainReport(False, checked, None, "the chain head row is missing")
    if head.seq != checked or head.hash != expected_prev:
        return ChainReport(
            False,
            checked,
            head.seq if head.seq > checked else checked + 1,
            f"the chain head names event {head.seq} but the log ends at "
            f"{checked}: events were removed from the end",
        )
    return ChainReport(True, checked)
