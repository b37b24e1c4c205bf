"""The hall's chat rate limit: one limiter for every edge a chat can arrive through (a hall
frame, ``POST /sections/{id}/opening/commands``), so that neither is a way around the other.

Attempts are counted per user over a sliding window of server time (the injected clock). One the
domain then refuses (markup, a muted bidder) still counts; one this limit refuses does not.

Two counts, because a user may reach several server processes at once: the process's own
count of attempts (:class:`ChatLimit`: cheap, and it also bounds attempts that log nothing),
and the log's count of the user's messages (:func:`check_logged`: what every process shares),
read with the log's chain head locked, so two processes cannot both let a fifth message in.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import TooManyRequests
from tradesys.events.log import CHAIN_HEAD_ID
from tradesys.events.models import ChainHead, Event

CHAT_BURST = 5
CHAT_WINDOW = timedelta(seconds=10)


CHAT_EVENT = "chat.message"


def _refusal(burst: int, window: timedelta, oldest: datetime, now: datetime) -> TooManyRequests:
    retry_after = max(1, math.ceil((oldest + window - now).total_seconds()))
    return TooManyRequests(
        "rate_limited",
        f"发言过于频繁：每 {window.total_seconds():.0f} 秒最多 {burst} 条 (too many messages)",
        {"retry_after": retry_after})


async def check_logged(session: AsyncSession, user_id: int, now: datetime, *,
                       burst: int = CHAT_BURST, window: timedelta = CHAT_WINDOW) -> None:
    """Raises TooManyRequests when the log already holds ``burst`` chat messages by the user
    within the window, whichever process wrote them. Call it in the chat's write transaction
    after the domain's own row locks (the order every append takes them in): it takes the
    chain head, so the count and the append that follows are one step for all processes."""
    await session.execute(select(ChainHead.id).where(ChainHead.id == CHAIN_HEAD_ID)
                          .with_for_update())
    times = (await session.execute(
        select(Event.occurred_at)
        .where(Event.type == CHAT_EVENT, Event.actor_user_id == user_id,
               Event.occurred_at >= now - window)
        .order_by(Event.occurred_at.desc()).limit(burst))).scalars().all()
    if len(times) >= burst:
        raise _refusal(burst, window, min(times), now)


@dataclass
class ChatLimit:
    burst: int = CHAT_BURST
    window: timedelta = CHAT_WINDOW
    _recent: dict[int, deque[datetime]] = field(default_factory=dict)

    def take(self, user_id: int, now: datetime) -> None:
        """Counts one attempt by ``user_id``; raises TooManyRequests (with ``retry_after``
        seconds) when the window already holds ``burst`` of them."""
        recent = self._recent.setdefault(user_id, deque())
        while recent and now - recent[0] > self.window:
            recent.popleft()
        if len(recent) >= self.burst:
            raise _refusal(self.burst, self.window, recent[0], now)
        recent.append(now)
        self._prune(now)

    def _prune(self, now: datetime) -> None:
        # Users who have not chatted for a window hold no memory.
        if len(self._recent) > 1024:
            for user_id in [u for u, times in self._recent.items()
                            if not times or now - times[-1] > self.window]:
                del self._recent[user_id]
