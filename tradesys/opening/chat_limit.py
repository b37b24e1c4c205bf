"""The hall's chat rate limit: one limiter for every edge a chat can arrive through (a hall
frame, ``POST /sections/{id}/opening/commands``), so that neither is a way around the other.

Attempts are counted per user over a sliding window of server time (the injected clock). One the
domain then refuses (markup, a muted bidder) still counts; one this limit refuses does not. The
counts live in the process (as the hall's rooms do): with several processes each allows the
burst.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tradesys.errors import TooManyRequests

CHAT_BURST = 5
CHAT_WINDOW = timedelta(seconds=10)


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
            retry_after = max(1, math.ceil((recent[0] + self.window - now).total_seconds()))
            raise TooManyRequests(
                "rate_limited",
                f"发言过于频繁：每 {self.window.total_seconds():.0f} 秒最多 {self.burst} 条 "
                "(too many messages)",
                {"retry_after": retry_after})
        recent.append(now)
        self._prune(now)

    def _prune(self, now: datetime) -> None:
        # Users who have not chatted for a window hold no memory.
        if len(self._recent) > 1024:
            for user_id in [u for u, times in self._recent.items()
                            if not times or now - times[-1] > self.window]:
                del self._recent[user_id]
