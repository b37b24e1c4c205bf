"""Prometheus metrics: requests, latency, scheduler lag, outbox backlog.

Who has bid is a secret until the deadline (办法 Art. 28; 法 Art. 22), from operators too:
requests to *confidential* endpoints (bids, uploads, receipts, security declarations, document
downloads, questions) are never counted by route or status, since a count of accepted uploads
is a count of bids. What an operator still needs from them is whether they fail and how fast
they answer: server errors are one unlabelled counter, latency a pair of quantiles over the
most recent requests (no count, no sum).
"""

from __future__ import annotations

import hmac
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from tradesys.clock import Clock
from tradesys.db.database import Database
from tradesys.events.models import OutboxRow
from tradesys.procurement.deadlines import oldest_overdue
from tradesys.reporting.relay import Relay

#: How many recent confidential requests the latency quantiles are taken over.
CONFIDENTIAL_WINDOW = 1000


def authorized(configured: str, authorization: str | None) -> bool:
    """Whether an ``Authorization`` header carries the operators' metrics token.

    No token configured means metrics are off (the caller answers 404); the comparison runs in
    constant time so that the answer's timing does not reveal how much of a guess was right.
    """
    if not configured or authorization is None:
        return False
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), configured.encode())


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
        self.confidential_errors = Counter(
            "tradesys_http_confidential_server_errors",
            "Server errors (5xx) of confidential endpoints (bids, uploads, documents), unlabelled",
            registry=self.registry)
        self.confidential_latency = Gauge(
            "tradesys_http_confidential_duration_seconds",
            f"Latency of the last {CONFIDENTIAL_WINDOW} confidential requests (no count)",
            ["quantile"], registry=self.registry)
        self._confidential_recent: deque[float] = deque(maxlen=CONFIDENTIAL_WINDOW)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_confidential(self, status: int, seconds: float) -> None:
        """A request to an endpoint whose traffic would tell who or how many have bid."""
        if status >= 500:
            self.confidential_errors.inc()
        self._confidential_recent.append(seconds)

    def _confidential(self) -> None:
        recent = sorted(self._confidential_recent)
        for quantile in (0.5, 0.99):
            value = recent[min(len(recent) - 1, int(quantile * len(recent)))] if recent else 0.0
            self.confidential_latency.labels(str(quantile)).set(value)

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
        self._confidential()
        return generate_latest(self.registry)
