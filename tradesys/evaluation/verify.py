"""``tradesys verify draw``: re-run every committee draw of a section from the event log alone.

For each ``panel.draw_committed`` event it finds the ``panel.draw_revealed`` of the same draw
number and checks that SHA-256(seed) is the commitment and that ``draw(seed, pool, seats)``
gives exactly the logged members, in order. It also re-computes each of these events' own hash
(an edit by a database superuser shows even if the edit is self-consistent); ``tradesys verify
log`` checks the links of the whole chain.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.evaluation import draw
from tradesys.evaluation.panel import AGGREGATE
from tradesys.events.log import hash_event_row
from tradesys.events.models import Event


@dataclass(frozen=True)
class DrawReport:
    ok: bool
    revealed: int = 0
    #: Committed draws never revealed (the process stopped between the two transactions).
    unrevealed: tuple[int, ...] = ()
    bad_draw: int | None = None
    reason: str = ""


def _check(commit: dict[str, Any], reveal: dict[str, Any]) -> str | None:
    try:
        seed = bytes.fromhex(reveal["seed"])
    except (KeyError, TypeError, ValueError):
        return "the revealed seed is not hex"
    if not hmac.compare_digest(draw.commitment(seed), str(commit.get("commitment"))):
        return "SHA-256(seed) is not the commitment"
    try:
        again = draw.draw(seed, commit["pool"], commit["seats"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"the draw cannot be re-run: {exc}"
    if again != reveal.get("members"):
        return f"re-running the draw gives {again}, the log says {reveal.get('members')}"
    return None


async def verify_draws(session: AsyncSession, section_id: int) -> DrawReport:
    rows = (await session.execute(
        select(Event).where(Event.aggregate_type == AGGREGATE,
                            Event.aggregate_id == str(section_id))
        .order_by(Event.aggregate_seq))).scalars().all()
    commits: dict[int, dict[str, Any]] = {}
    reveals: dict[int, dict[str, Any]] = {}
    for row in rows:
        payload = json.loads(row.payload)
        number = payload.get("draw")
        if row.hash != hash_event_row(row):
            return DrawReport(False, bad_draw=number,
                              reason=f"event {row.seq} was edited (its hash does not match)")
        if row.type == "panel.draw_committed":
            commits[number] = payload
        elif row.type == "panel.draw_revealed":
            if number not in commits:
                return DrawReport(False, bad_draw=number, reason="revealed without a commitment")
            reveals[number] = payload
    if not commits:
        return DrawReport(False, reason=f"no draw is logged for section {section_id}")
    for number, commit in sorted(commits.items()):
        if number in reveals:
            problem = _check(commit, reveals[number])
            if problem is not None:
                return DrawReport(False, bad_draw=number, reason=problem)
    unrevealed = tuple(n for n in sorted(commits) if n not in reveals)
    return DrawReport(True, revealed=len(reveals), unrevealed=unrevealed)


async def run(url: str, section_id: int) -> tuple[int, str]:
    """Exit code and the one line to print (for the CLI)."""
    from tradesys.db.database import Database

    db = Database(url, null_pool=True)
    try:
        async with db.reading() as session:
            report = await verify_draws(session, section_id)
    finally:
        await db.dispose()
    if not report.ok:
        where = f"draw {report.bad_draw}" if report.bad_draw is not None else "section"
        return 1, f"DOES NOT REPRODUCE: section {section_id}, {where}: {report.reason}"
    line = f"ok: section {section_id}, {report.revealed} draw(s) reproduced"
    if report.unrevealed:
        line += f"; committed but never revealed: {', '.join(map(str, report.unrevealed))}"
    return 0, line
