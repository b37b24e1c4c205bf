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
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.background import Background
from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.events.models import OutboxRow
from tradesys.reporting.facts import ReportingSettings
from tradesys.reporting.report import Report, reports_for
from tradesys.reporting.signing import sign_headers

log = logging.getLogger("tradesys.relay")

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
RETRYABLE_4XX = {408, 425, 429}
_jitter = secrets.SystemRandom()


def _stale(response: httpx.Response) -> bool:
    """The receiver refused only our signature's timestamp (docs/platform-interface.md)."""
    if response.status_code != 401:
        return False
    try:
        document = response.json()
    except ValueError:
        return False
    error = document.get("error") if isinstance(document, dict) else None
    return isinstance(error, dict) and error.get("code") == "stale_signature"


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


class Relay(Background):
    name = "tradesys-relay"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: ReportingSettings,
        endpoint: str,
        key: Ed25519PrivateKey,
        *,
        max_attempts: int = 8,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        batch: int = 200,
        lease_seconds: float = 60.0,
        timeout: float = 10.0,
        interval: float = 1.0,
        parallel: int = 8,
        settle_every: int = 20,
    ) -> None:
        super().__init__(clock, interval)
        self.db = db
        self.settings = settings
        self.endpoint = endpoint
        self.key = key
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.timeout = timeout
        self.parallel = parallel
        #: Acknowledged reports recorded per transaction (at most this many re-sent on a crash).
        self.settle_every = settle_every
        self.stats = RelayStats()
        self._client: httpx.AsyncClient | None = None

    # -- one pass -----------------------------------------------------------------------------

    async def _runs(self, now: datetime) -> list[list[int]]:
        """Per project, the ids that may go now: from its oldest undelivered row on, while
        they are pending, due and not leased by another relay."""
        async with self.db.reading() as session:
            rows = (
                await session.execute(
                    select(
                        OutboxRow.id,
                        OutboxRow.project_id,
                        OutboxRow.status,
                        OutboxRow.next_attempt_at,
                        OutboxRow.leased_until,
                    )
                    .where(OutboxRow.status.in_((PENDING, DEAD)))
                    .order_by(OutboxRow.id)
                    .limit(self.batch)
                )
            ).all()
        runs: dict[int | None, list[int]] = {}
        stopped: set[int | None] = set()
        for row_id, project_id, status, due, leased in rows:
            if project_id in stopped:
                continue
            if status != PENDING or due > now or (leased is not None and leased >= now):
                stopped.add(project_id)  # everything after it in this project waits
                continue
            runs.setdefault(project_id, []).append(row_id)
        return list(runs.values())

    async def _lease(self, ids: list[int], now: datetime) -> set[int]:
        """Lease the rows for this relay; returns the ids it got (others are another's)."""
        async with self.db.transaction() as session:
            result = await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_(ids),
                    OutboxRow.status == PENDING,
                    (OutboxRow.leased_until.is_(None)) | (OutboxRow.leased_until < now),
                )
                .values(leased_until=now + self.lease)
                .returning(OutboxRow.id)
            )
            return set(result.scalars())

    async def _release(self, ids: list[int]) -> None:
        if not ids:
            return
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), OutboxRow.status == PENDING)
                .values(leased_until=None)
            )

    async def _reports(self, ids: list[int]) -> dict[int, Report | Exception]:
        """Each row's report, or the error that stopped it being built."""
        built: dict[int, Report | Exception] = {}
        async with self.db.reading() as session:
            rows = (
                (
                    await session.execute(
                        select(OutboxRow).where(OutboxRow.id.in_(ids)).order_by(OutboxRow.id)
                    )
                )
                .scalars()
                .all()
            )
            try:
                reports = await reports_for(session, list(rows), self.settings)
                built.update(zip((row.id for row in rows), reports, strict=True))
            except Exception:  # find the culprit(s) one by one; a mapping bug stalls no one
                for row in rows:
                    try:
                        built[row.id] = (await reports_for(session, [row], self.settings))[0]
                    except Exception as error:
                        built[row.id] = error
        return built

    async def _send(self, report: Report) -> tuple[bool, bool, str]:
        """(delivered, permanent failure, description)."""
        assert self._client is not None
        headers = {
            "content-type": "application/json",
            "idempotency-key": report.key,
            **sign_headers(self.key, report.key, self.clock.now(), report.body),
        }
        try:
            response = await self._client.post(self.endpoint, content=report.body, headers=headers)
        except httpx.HTTPError as error:
            return False, False, f"{type(error).__name__}: {error}"[:500]
        if 200 <= response.status_code < 300:
            return True, False, ""
        permanent = 400 <= response.status_code < 500 and (
            response.status_code not in RETRYABLE_4XX and not _stale(response)
        )
        return False, permanent, f"HTTP {response.status_code}: {response.text[:400]}"

    async def _mark_delivered(self, delivered: list[tuple[int, Report]]) -> None:
        """Record acknowledged reports, many per transaction. A crash before this runs
        re-sends them; the receiver answers "duplicate" and nothing is lost or doubled."""
        if not delivered:
            return
        batch, delivered[:] = list(delivered), []
        now = self.clock.now()
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([row_id for row_id, _ in batch]))
                .values(status=DELIVERED, delivered_at=now, leased_until=None, last_error=None)
            )
        self.stats.delivered += len(batch)
        lags = [(now - report.committed_at).total_seconds() for _, report in batch]
        self.stats.lags = [*self.stats.lags[-(10000 - len(lags)) :], *lags]

    async def _settle_failure(self, row_id: int, permanent: bool, error: str) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await session.get_one(OutboxRow, row_id, with_for_update=True)
            row.leased_until = None
            row.attempts += 1
            row.last_error = error
            self.stats.failed_attempts += 1
            self.stats.last_error = error
            if permanent or row.attempts >= self.max_attempts:
                row.status = DEAD
                self.stats.dead_lettered += 1
                log.warning(
                    "report dead-lettered", extra={"outbox_id": row.id, "attempts": row.attempts}
                )
            else:
                row.next_attempt_at = now + backoff(row.attempts, self.base_delay, self.max_delay)

    async def _deliver_run(
        self, run: list[tuple[int, Report | Exception]], acknowledged: list[tuple[int, Report]]
    ) -> int:
        """Send one project's run in order; stop at its first failure."""
        sent = 0
        for row_id, report in run:
            if isinstance(report, Exception):
                log.error("report could not be built", extra={"outbox_id": row_id})
                await self._settle_failure(row_id, True, f"build failed: {report}"[:500])
                break
            delivered, permanent, error = await self._send(report)
            if not delivered:
                await self._settle_failure(row_id, permanent, error)
                break
            acknowledged.append((row_id, report))
            sent += 1
            if len(acknowledged) >= self.settle_every:
                await self._mark_delivered(acknowledged)
        return sent

    async def _guarded(
        self,
        limit: asyncio.Semaphore,
        run: list[tuple[int, Report | Exception]],
        acknowledged: list[tuple[int, Report]],
    ) -> int:
        async with limit:
            return await self._deliver_run(run, acknowledged)

    async def run_once(self) -> int:
        """Deliver what is due: projects side by side, each project's reports in order.

        One pass costs a few transactions whatever its size: one read to find the runs, one
        lease, one read to build the reports, and one write per ``settle_every``
        acknowledgements.
        """
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        limit = asyncio.Semaphore(self.parallel)
        sent = 0
        while True:
            runs = await self._runs(self.clock.now())
            leased = await self._lease([i for run in runs for i in run], self.clock.now())
            # A run goes only as far as its rows are ours, without a gap.
            mine = []
            for run in runs:
                cut = next((n for n, row_id in enumerate(run) if row_id not in leased), len(run))
                if cut:
                    mine.append(run[:cut])
            if not mine:
                await self._release(sorted(leased))
                return sent
            reports = await self._reports([i for run in mine for i in run])
            acknowledged: list[tuple[int, Report]] = []

            # A task group: if one run fails unexpectedly, the others stop with it.
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(
                        self._guarded(limit, [(i, reports[i]) for i in run], acknowledged)
                    )
                    for run in mine
                ]
            progressed = sum(task.result() for task in tasks)
            await self._mark_delivered(acknowledged)
            # What this pass did not get to (after a failure in its run) is free again.
            await self._release(sorted(leased))
            sent += progressed
            if not progressed:
                return sent

    async def stop(self) -> None:
        await super().stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def requeue_dead(session: AsyncSession, at: datetime, *,
                       project_id: int | None = None) -> int:
    """Give dead-lettered rows a fresh start, in the caller's transaction (the console's
    replay appends its event in the same one)."""
    conditions = [OutboxRow.status == DEAD]
    if project_id is not None:
        conditions.append(OutboxRow.project_id == project_id)
    result = await session.execute(
        update(OutboxRow)
        .where(and_(*conditions))
        .values(status=PENDING, attempts=0, next_attempt_at=at, leased_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def replay(db: Database, clock: Clock, *, project_id: int | None = None) -> int:
    """Give dead-lettered rows a fresh start (``tradesys platform replay``)."""
    async with db.transaction() as session:
        return await requeue_dead(session, clock.now(), project_id=project_id)
