"""The server clock: the only source of time in the system (DESIGN.md invariant 1).

Every deadline is checked against an injected :class:`Clock`. Production uses
:class:`SystemClock`; tests and the demo use :class:`AdjustableClock`, which runs with real time
plus an offset that can be moved forward, so nothing ever sleeps until a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

#: Times are stored in UTC and shown in China Standard Time.
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """Current server time, timezone-aware UTC."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever the clock jumps (never for a system clock)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def subscribe(self, callback: Callable[[], None]) -> None:
        return None


class AdjustableClock:
    """Real time plus an offset; :meth:`advance` moves it forward and wakes subscribers.

    Thread-safe, because the demo moves it from outside the server's event loop.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._frozen_at = start if frozen else None
        base = datetime.now(UTC)
        self._offset = (start - base) if start is not None else timedelta(0)
        self._subscribers: list[Callable[[], None]] = []
        if frozen and start is None:
            self._frozen_at = base
        #: A frozen clock may move on by this much each time it is read: race tests use it to
        #: make every reader see a later instant than the one before, in a known order.
        self.step_per_read = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                value = self._frozen_at
                self._frozen_at += self.step_per_read
                return value
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the server clock never goes backwards")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += delta
            else:
                self._offset += delta
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback()
        return self.now()

    def set(self, when: datetime) -> datetime:
        return self.advance(max(when - self.now(), timedelta(0)))

    def subscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)


def to_display(value: datetime) -> datetime:
    return value.astimezone(DISPLAY_TZ)


def isoformat_utc(value: datetime) -> str:
    """The one text form of an instant used in events, hashes and APIs."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: every instant in tradesys carries a timezone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> datetime:
    """The inverse of :func:`isoformat_utc` (any ISO-8601 instant with an offset)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"instant without an offset: {text!r}")
    return value.astimezone(UTC)
