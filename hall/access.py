"""Open hall connections end when the access they were opened with ends: close code 4003.

A connection is authenticated once, at the handshake; afterwards it would live on after its
user logged out, had the token revoked or was disabled, or after the session expired. So each
signed-in connection is watched here:

- **Revocation** (logout, a revoked token, a disabled user) is an event on the user's
  aggregate. In this process the route says so after its commit (``Services.access_changed``);
  on PostgreSQL every process also gets the event's ``NOTIFY`` (``user:<id>:<seq>``, the
  backplane). Either way the user's connections are checked against the database, one query
  for all of them, and those whose session or token no longer admits them are closed.
- **Expiry** is known at the handshake: the hall's one ticker (every second) and every jump of
  the injected clock compare the earliest expiry with the server time; only when it has passed
  are the connections scanned. No timer per connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.identity.principal import Principal
from tradesys.identity.service import credential_active

log = logging.getLogger("hall.access")

#: The close code of a connection whose access ended (docs/hall-protocol.md).
ACCESS_REVOKED = 4003
#: A connection registered this soon (seconds) after a change to its user is re-checked: the
#: change may have come between its handshake's check and its registration.
RECENT = 10.0


@dataclass(eq=False)
class Watched:
    user_id: int
    via: str
    credential_id: int
    expires_at: datetime | None
    #: Ends the connection (it closes with 4003); called at most once.
    end: Callable[[], None]
    ended: bool = False

    def finish(self) -> None:
        if not self.ended:
            self.ended = True
            self.end()


class AccessWatch:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._by_user: dict[int, set[Watched]] = {}
        self._next_expiry: datetime | None = None
        self._pending: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: When each user last changed (monotonic seconds), kept for :data:`RECENT`.
        self._recent: dict[int, float] = {}

    def start(self) -> None:
        """Also check expiry whenever the clock jumps (tests and the demo move it)."""
        self._loop = asyncio.get_running_loop()
        self.clock.subscribe(self._clock_moved)

    def _clock_moved(self) -> None:
        # The clock's owner may move it from another thread.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.check_expiry)

    def watch(self, principal: Principal | None, end: Callable[[], None]) -> Watched | None:
        """Watches a signed-in connection; public observers have no access to lose."""
        if principal is None or principal.credential_id is None:
            return None
        watched = Watched(principal.user_id, principal.via, principal.credential_id,
                          principal.expires_at, end)
        self._by_user.setdefault(principal.user_id, set()).add(watched)
        expiry = watched.expires_at
        if expiry is not None and (self._next_expiry is None or expiry < self._next_expiry):
            self._next_expiry = expiry
        self.check_expiry()
        changed = self._recent.get(principal.user_id)
        if changed is not None and time.monotonic() - changed < RECENT:
            self._schedule(principal.user_id)
        return watched

    def unwatch(self, watched: Watched | None) -> None:
        if watched is None:
            return
        mine = self._by_user.get(watched.user_id)
        if mine is not None:
            mine.discard(watched)
            if not mine:
                del self._by_user[watched.user_id]

    @property
    def watched(self) -> int:
        return sum(len(mine) for mine in self._by_user.values())

    def check_expiry(self) -> None:
        """Ends the connections whose session or token has expired. Costs one comparison
        until the earliest expiry is reached."""
        if self._recent:
            horizon = time.monotonic() - RECENT
            for user_id in [user for user, at in self._recent.items() if at < horizon]:
                del self._recent[user_id]
        now = self.clock.now()
        if self._next_expiry is None or now < self._next_expiry:
            return
        earliest: datetime | None = None
        for mine in list(self._by_user.values()):
            for watched in list(mine):
                if watched.expires_at is None:
                    continue
                if watched.expires_at <= now:
                    self.unwatch(watched)
                    watched.finish()
                elif earliest is None or watched.expires_at < earliest:
                    earliest = watched.expires_at
        self._next_expiry = earliest

    def user_changed(self, user_id: int) -> None:
        """Something about this user was committed (perhaps a logout, a revoked token, the
        user disabled): re-check its connections. Wake-ups that come while a check is pending
        fold into it."""
        self._recent[user_id] = time.monotonic()
        if user_id in self._by_user:
            self._schedule(user_id)

    def _schedule(self, user_id: int) -> None:
        if user_id in self._pending:
            return
        self._pending.add(user_id)
        task = asyncio.get_running_loop().create_task(self._recheck(user_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recheck(self, user_id: int) -> None:
        self._pending.discard(user_id)
        mine = list(self._by_user.get(user_id, ()))
        if not mine:
            return
        try:
            async with self.db.reading() as session:
                now = self.clock.now()
                ended = [watched for watched in mine if not await credential_active(
                    session, via=watched.via, credential_id=watched.credential_id, at=now)]
        except Exception:
            log.exception("hall access check failed", extra={"user_id": user_id})
            return
        for watched in ended:
            self.unwatch(watched)
            watched.finish()
        if ended:
            log.info("hall connections closed: access ended",
                     extra={"user_id": user_id, "connections": len(ended)})
