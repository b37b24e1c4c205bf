"""Prometheus metrics: requests, latency, scheduler lag, outbox backlog."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.events.models import OutboxRow
from tradesys.procurement.deadlines import oldest_overdue


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("tradesys_http_requests", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("tradesys_http_request_duration_seconds",
                                 "HTTP request latency", ["method", "route"],
                                 registry=self.registry)
        self.scheduler_lag = Gauge("tradesys_scheduler_lag_seconds",
                                   "How long the most overdue time-driven transition has waited",
                                   registry=self.registry)
        self.outbox_backlog = Gauge("tradesys_outbox_backlog",
                                    "Reports not yet delivered to the public service platform",
                                    ["status"], registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    async def render(self, db: Database, clock: Clock) -> bytes:
        """Refresh the database-derived gauges, then render the text exposition."""
        overdue = await oldest_overdue(db, clock)
        self.scheduler_lag.set(
            0.0 if overdue is None else max(0.0, (clock.now() - overdue).total_seconds()))
        async with db.reading() as session:
            counts = dict(
                (await session.execute(
                    select(OutboxRow.status, func.count()).group_by(OutboxRow.status))).all()
            )
        for status in ("pending", "dead"):
            self.outbox_backlog.labels(status).set(counts.get(status, 0))
        return generate_latest(self.registry)
