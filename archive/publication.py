"""Which tree head of the event log is public, and when: bid secrecy decides.

The log's size grows with every event, bids and bid uploads included. A tree head published
whenever asked would be a counter: two heads a minute apart on a quiet night would tell a
competitor that somebody just bid (办法 Art. 28: who has bid, and how many, is secret until
the deadline). So a head is public only

1. at an instant of the schedule: a multiple of ``TRADESYS_TREE_HEAD_INTERVAL_SECONDS`` since
   the Unix epoch (hourly by default), at least :data:`SETTLE` in the past (commands begun
   before it have committed), and
2. never inside a bidding window still open: while any section is tendering (投标中), the
   public instant stays at or before the first notice of the earliest such project, i.e.
   before its first bid could have been made.

A public head covers the events that occurred strictly before its instant. Together, (1) and
(2) mean every bid counted by a public head belongs to a section whose deadline has passed
(or that was cancelled), and the difference between two public heads spans whole bidding
windows: it never isolates the bids of a section still open. The price is lag: on a busy
platform the public head trails by about one bidding period (20 days for an open tender).

The rule depends only on the schedule and on the sections' windows — never on whether anyone
has bid (a head that froze when a bid arrived would itself be the leak). See docs/archive.md.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from archive import merkle
from archive.tree_head import (
    SignedTreeHead,
    SubtreeCache,
    TreeHead,
    leaf_hashes,
    sign_tree_head,
    size_before,
)
from tradesys.procurement.kinds import SectionState
from tradesys.procurement.models import Notice, Section

#: A scheduled instant becomes public only this long after it: every command that read the
#: clock before it has committed by then.
SETTLE = timedelta(seconds=60)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Signed heads kept per process (one per public instant).
CACHE_SIZE = 32


def on_schedule(instant: datetime, interval_seconds: int) -> datetime:
    """The latest instant of the schedule at or before ``instant``."""
    seconds = (instant - EPOCH) // timedelta(seconds=1)
    return EPOCH + timedelta(seconds=seconds - seconds % interval_seconds)


async def earliest_open_window(session: AsyncSession) -> datetime | None:
    """When the earliest bidding window still open began: the first notice of a project with
    a section still tendering (None if no section is)."""
    tendering = select(Section.project_id).where(Section.state == SectionState.TENDERING)
    value = (await session.execute(
        select(func.min(Notice.published_at)).where(Notice.project_id.in_(tendering))
    )).scalar_one()
    return value


async def public_instant(session: AsyncSession, now: datetime,
                         interval_seconds: int) -> datetime:
    """The instant of the newest public tree head at ``now`` (rules 1 and 2 above)."""
    instant = on_schedule(now - SETTLE, interval_seconds)
    window = await earliest_open_window(session)
    if window is not None and window < instant:
        instant = on_schedule(window, interval_seconds)
    return instant


@dataclass
class _Known:
    size: int
    hasher: merkle.TreeHasher


class TreeHeadPublisher:
    """Signs the public tree heads, computing each root only once per process: a later head
    extends the tree of the last one (its O(log n) hasher state) by the new events."""

    def __init__(self, key: Ed25519PrivateKey, platform_code: str,
                 interval_seconds: int) -> None:
        self.key = key
        self.platform_code = platform_code
        self.interval_seconds = interval_seconds
        self._heads: OrderedDict[datetime, SignedTreeHead] = OrderedDict()
        self._known: _Known | None = None
        #: Large subtrees' hashes, shared by the proofs this process serves.
        self.subtrees = SubtreeCache()

    async def current(self, session: AsyncSession, now: datetime) -> SignedTreeHead:
        """The newest public signed tree head."""
        instant = await public_instant(session, now, self.interval_seconds)
        cached = self._heads.get(instant)
        if cached is not None:
            self._heads.move_to_end(instant)
            return cached
        size = await size_before(session, instant)
        known = self._known
        if known is None or known.size > size:
            known = _Known(0, merkle.TreeHasher())
        hasher = known.hasher.copy()
        async for hashed in leaf_hashes(session, known.size, size):
            hasher.add_leaf_hash(hashed)
        self._known = _Known(size, hasher)
        signed = sign_tree_head(self.key, TreeHead(self.platform_code, size, hasher.root(),
                                                   instant))
        self._heads[instant] = signed
        while len(self._heads) > CACHE_SIZE:
            self._heads.popitem(last=False)
        return signed
