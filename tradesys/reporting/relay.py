"""The outbox relay: delivers every report at least once, in order per project.

- **In order**: only the oldest undelivered row of a project may be sent; a failing or dead
  row holds back the rest of its project (never of other projects) until it goes through or an
  operator replays it.
- **At least once, effectively once**: a row is marked delivered only after the receiver's 2xx;
  a crash in between re-sends the same bytes under the same ``Idempotency-Key``, which the
  receiver recognises.
- **Backoff**: a failed attempt waits ``base · 2^(attempt-1)`` seconds (capped), jittered by up
  to half, on the server clock; after ``max_attempts`` the row is dead-lettered. A 4xx other than
  408/429 is dead at once: repeating it would only repeat the refusal.
- **Two relays** never send one row at once: a row is leased before it is sent.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased

from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.events.models import OutboxRow
from tradesys.reporting.facts import ReportingSettings
from tradesys.reporting.report import Report, report_for
from tradesys.reporting.signing import sign_headers

log = logging.getLogger("tradesys.relay")

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
RETRYABLE_4XX = {408, 425, 429}
_jitter = secrets.SystemRandom()


@dataclass
class RelayStats:
    delivered: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    last_error: str | None = None
    #: Seconds from the event's commit to the receiver's acknowledgement, most recent last.
    lags: list[float] = field(default_factory=list)


def backoff(attempts: int, base: float, cap: float) -> timedelta:
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=delay * _jitter.uniform(0.5, 1.0))


class Relay:
    def __init__(
        self, db: Database, clock: Clock, settings: ReportingSettings, endpoint: str,
        key: Ed25519PrivateKey, *, max_attempts: int = 8, base_delay: float = 1.0,
        max_delay: float = 300.0, batch: int = 200, lease_seconds: float = 60.0,
        timeout: float = 10.0, interval: float = 1.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.endpoint = endpoint
        self.key = key
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.timeout = timeout
        self.interval = interval
        self.stats = RelayStats()
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- one pass -----------------------------------------------------------------------------

    async def _due_rows(self, now: datetime) -> list[OutboxRow]:
        """Pending rows due now whose project has nothing older still undelivered."""
        earlier = aliased(OutboxRow)
        blocked = (
            select(earlier.id)
            .where(
                func.coalesce(earlier.project_id, 0) == func.coalesce(OutboxRow.project_id, 0),
                earlier.id < OutboxRow.id,
                earlier.status != DELIVERED,
            )
            .exists()
        )
        async with self.db.reading() as session:
            heads = (
                await session.execute(
                    select(OutboxRow)
                    .where(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= now,
                           ~blocked)
                    .order_by(OutboxRow.id)
                    .limit(self.batch)
                )
            ).scalars().all()
        return list(heads)

    async def _lease(self, row_id: int, now: datetime) -> bool:
        async with self.db.transaction() as session:
            result = await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id, OutboxRow.status == PENDING,
                       (OutboxRow.leased_until.is_(None)) | (OutboxRow.leased_until < now))
                .values(leased_until=now + self.lease)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _report(self, row_id: int) -> Report:
        async with self.db.reading() as session:
            row = await session.get_one(OutboxRow, row_id)
            return await report_for(session, row, self.settings)

    async def _send(self, report: Report) -> tuple[bool, bool, str]:
        """(delivered, permanent failure, description)."""
        assert self._client is not None
        headers = {
            "content-type": "application/json",
            "idempotency-key": report.key,
            **sign_headers(self.key, report.key, self.clock.now(), report.body),
        }
        try:
            response = await self._client.post(self.endpoint, content=report.body,
                                               headers=headers)
        except httpx.HTTPError as error:
            return False, False, f"{type(error).__name__}: {error}"[:500]
        if 200 <= response.status_code < 300:
            return True, False, ""
        permanent = 400 <= response.status_code < 500 and (
            response.status_code not in RETRYABLE_4XX)
        return False, permanent, f"HTTP {response.status_code}: {response.text[:400]}"

    async def _settle(self, row_id: int, delivered: bool, permanent: bool, error: str) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await session.get_one(OutboxRow, row_id, with_for_update=True)
            row.leased_until = None
            if delivered:
                row.status = DELIVERED
                row.delivered_at = now
                row.last_error = None
                self.stats.delivered += 1
                self.stats.lags = [*self.stats.lags[-9999:],
                                   (now - row.created_at).total_seconds()]
                return
            row.attempts += 1
            row.last_error = error
            self.stats.failed_attempts += 1
            self.stats.last_error = error
            if permanent or row.attempts >= self.max_attempts:
                row.status = DEAD
                self.stats.dead_lettered += 1
                log.warning("report dead-lettered",
                            extra={"outbox_id": row.id, "attempts": row.attempts})
            else:
                row.next_attempt_at = now + backoff(row.attempts, self.base_delay,
                                                    self.max_delay)

    async def run_once(self) -> int:
        """Deliver what is due, project heads first, repeating while progress is made."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        sent = 0
        while True:
            progressed = False
            for row in await self._due_rows(self.clock.now()):
                if not await self._lease(row.id, self.clock.now()):
                    continue
                try:
                    report = await self._report(row.id)
                except Exception as error:  # a mapping bug must not stall other projects
                    log.exception("report could not be built", extra={"outbox_id": row.id})
                    await self._settle(row.id, False, True, f"build failed: {error}"[:500])
                    continue
                delivered, permanent, error = await self._send(report)
                await self._settle(row.id, delivered, permanent, error)
                if delivered:
                    sent += 1
                    progressed = True
            if not progressed:
                return sent

    # -- background loop ----------------------------------------------------------------------

    def wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("relay pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.clock.subscribe(self.wake)
        self._task = asyncio.create_task(self._run(), name="tradesys-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def replay(db: Database, clock: Clock, *, project_id: int | None = None) -> int:
    """Give dead-lettered rows a fresh start (``tradesys platform replay``)."""
    conditions = [OutboxRow.status == DEAD]
    if project_id is not None:
        conditions.append(OutboxRow.project_id == project_id)
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxRow).where(and_(*conditions)).values(
                status=PENDING, attempts=0, next_attempt_at=clock.now(), leased_until=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
