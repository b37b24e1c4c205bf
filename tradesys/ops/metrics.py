"""Prometheus metrics: requests, latency, scheduler lag, outbox backlog."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.events.models import OutboxRow
from tradesys.procurement.deadlines import oldest_overdue
from tradesys.reporting.relay import Relay


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
        self.reports_delivered = Gauge("tradesys_reports_delivered",
                                       "Reports this process delivered since it started",
                                       registry=self.registry)
        self.report_failures = Gauge("tradesys_report_failed_attempts",
                                     "Failed delivery attempts since this process started",
                                     registry=self.registry)
        self.report_lag = Gauge("tradesys_report_delivery_lag_seconds",
                                "Event commit to the platform's acknowledgement, recent reports",
                                ["quantile"], registry=self.registry)
        self.outbox_backlog = Gauge("tradesys_outbox_backlog",
                                    "Reports not yet delivered to the public service platform",
                                    ["status"], registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def _relay(self, relay: Relay | None) -> None:
        if relay is None:
            return
        stats = relay.stats
        self.reports_delivered.set(stats.delivered)
        self.report_failures.set(stats.failed_attempts)
        lags = sorted(stats.lags)
        for quantile in (0.5, 0.99):
            value = lags[min(len(lags) - 1, int(quantile * len(lags)))] if lags else 0.0
            self.report_lag.labels(str(quantile)).set(value)

    async def render(self, db: Database, clock: Clock, relay: Relay | None = None) -> bytes:
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
        self._relay(relay)
        return generate_latest(self.registry)
