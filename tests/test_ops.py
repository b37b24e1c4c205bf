"""Operations: health, readiness, metrics, request ids, security headers, JSON access logs."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from starlette.applications import Starlette

from tests.support import Flow, Seed, assert_error
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.events.models import OutboxRow
from tradesys.identity import service as identity_service
from tradesys.ops.logging import JsonFormatter
from tradesys.services import Services
from tradesys.settings import Settings

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


METRICS_TOKEN = "operators-scrape-token-5f0c2a9e"
OPERATOR = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """The shared settings, with the operators' metrics token configured."""
    return Settings(data_dir=tmp_path / "data", database_url=db_url, scheduler_interval=3600,
                    metrics_token=METRICS_TOKEN)


def metric_samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything the tradesys loggers write, formatted as the server formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tradesys")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def log_entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# --- health ------------------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.fixture(params=["sqlite-missing-dir", "postgresql-closed-port"])
async def unreachable_app(request: pytest.FixtureRequest, tmp_path: Path
                          ) -> AsyncIterator[Starlette]:
    url = {
        "sqlite-missing-dir": f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/tradesys.db",
        # Port 1 (tcpmux) is closed on any test host: the connection is refused at once.
        "postgresql-closed-port": "postgresql+asyncpg://postgres@127.0.0.1:1/tradesys",
    }[request.param]
    app = create_app(Settings(data_dir=tmp_path / "data", database_url=url),
                     run_scheduler=False)
    async with LifespanManager(app):
        yield app
    # A failed aiosqlite connect leaves its worker thread to be stopped when the connection
    # object is collected; collect it now, while this test's loop can still take the thread's
    # last callback (otherwise it lands on a closed loop, whenever the GC happens to run).
    gc.collect()
    await asyncio.sleep(0.05)


async def test_readyz_is_503_when_the_database_is_unreachable(
    unreachable_app: Starlette,
) -> None:
    transport = httpx.ASGITransport(app=unreachable_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "database": "unreachable"}
        assert "x-request-id" in ready.headers
        # Liveness does not depend on the database: the process is fine, it is waiting.
        assert (await client.get("/healthz")).status_code == 200


# --- metrics -----------------------------------------------------------------------------


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, flow: Flow, seed: Seed
) -> None:
    first = await flow.register()
    second = await flow.register()
    for project in (first, second):
        assert (await client.get(f"/api/v1/projects/{project['id']}",
                                 headers=seed.agency.auth)).status_code == 200
    assert (await client.get("/api/v1/projects/987654", headers=seed.agency.auth)
            ).status_code == 404
    assert (await client.get("/api/v1/no/such/thing/4242")).status_code == 404

    response = await client.get("/metrics", headers=OPERATOR)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = metric_samples(response.text)
    requests = samples["tradesys_http_requests_total"]
    by_labels = {(labels["method"], labels["route"], labels["status"]): value
                 for labels, value in requests}
    template = "/api/v1/projects/{project_id:int}"
    assert by_labels[("GET", template, "200")] == 2
    assert by_labels[("GET", template, "404")] == 1
    assert by_labels[("POST", "/api/v1/projects", "201")] == 2
    routes = {labels["route"] for labels, _ in requests}
    # Templates, never raw ids: the label set stays bounded however many projects exist.
    for raw in (str(first["id"]), str(second["id"]), "987654", "4242"):
        assert not any(re.search(rf"/{raw}(/|$)", route) for route in routes), routes
    assert "tradesys_http_request_duration_seconds_count" in samples


async def test_metrics_expose_scheduler_lag_and_outbox_backlog(
    client: httpx.AsyncClient, flow: Flow, services: Services, clock: AdjustableClock
) -> None:
    project = await flow.announced()
    samples = metric_samples((await client.get("/metrics", headers=OPERATOR)).text)
    assert samples["tradesys_scheduler_lag_seconds"] == [({}, 0.0)]
    async with services.db.reading() as session:
        pending = (await session.execute(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
        )).scalar_one()
    assert pending >= 2  # the project and its notice are owed to the platform
    backlog = {labels["status"]: value for labels, value in samples["tradesys_outbox_backlog"]}
    assert backlog == {"pending": pending, "dead": 0}

    # The scheduler does not run in tests: moving the clock past the deadline leaves the
    # sections open, and the lag shows how long they have waited.
    deadline = project["notice"]["sections"][0]["bid_deadline"]
    assert deadline
    clock.advance(timedelta(days=21, minutes=5))
    samples = metric_samples((await client.get("/metrics", headers=OPERATOR)).text)
    [(_, lag)] = samples["tradesys_scheduler_lag_seconds"]
    assert lag == pytest.approx(300, abs=1)


async def test_metrics_are_off_unless_a_token_is_configured(
    db_url: str, tmp_path: Path, seed: Seed
) -> None:
    app = create_app(Settings(data_dir=tmp_path / "plain", database_url=db_url),
                     run_scheduler=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for headers in ({}, OPERATOR, seed.admin.auth, {"Authorization": "Bearer "}):
                response = await c.get("/metrics", headers=headers)
                assert_error(response, 404, "not_found")
                assert "tradesys_" not in response.text


@pytest.mark.parametrize("authorization", [
    None,
    "",
    "Bearer",
    "Bearer ",
    f"Basic {METRICS_TOKEN}",
    f"Bearer {METRICS_TOKEN[:-1]}",
    f"Bearer {METRICS_TOKEN}x",
    b"Bearer " + "\u00e9".encode() * 30,
])
async def test_metrics_refuse_anyone_without_the_token(
    client: httpx.AsyncClient, seed: Seed, authorization: str | bytes | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/metrics", headers=headers)
    assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "tradesys_" not in response.text
    # A user's API token is not the operators' token either, not even the administrator's.
    assert_error(await client.get("/metrics", headers=seed.admin.auth), 401, "unauthenticated")
    # The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    assert (await client.get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"})
            ).status_code == 200


def test_a_short_metrics_token_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        Settings(data_dir=tmp_path, database_url="sqlite+aiosqlite://", metrics_token="secret")


async def test_metrics_do_not_count_bids_uploads_downloads_or_questions(
    client: httpx.AsyncClient, flow: Flow, seed: Seed
) -> None:
    from tests.bids.test_submission import seal_bid, sealing, submit

    project = await flow.announced()
    section = project["notice"]["sections"][0]

    async def scrape() -> dict[str, list[tuple[dict[str, str], float]]]:
        response = await client.get("/metrics", headers=OPERATOR)
        assert response.status_code == 200
        return metric_samples(response.text)

    def business(samples: dict[str, list[tuple[dict[str, str], float]]]
                 ) -> dict[tuple[str, str, str], float]:
        """Request counts of everything but /metrics itself (scraping is counted too)."""
        return {(labels["method"], labels["route"], labels["status"]): value
                for labels, value in samples["tradesys_http_requests_total"]
                if labels["route"] != "/metrics"}

    before = business(await scrape())
    documents = (await client.get(f"/api/v1/projects/{project['id']}/documents",
                                  headers=seed.bidder1.auth)).json()
    listed = business(await scrape())  # listing documents is not confidential: counted
    assert listed != before
    for bidder in (seed.bidder1, seed.bidder2, seed.bidder3):
        document = documents["items"][0]
        obtained = await client.get(
            f"/api/v1/projects/{project['id']}/documents/{document['id']}/content",
            headers=bidder.auth)
        assert obtained.status_code == 200, obtained.text
        asked = await client.post(f"/api/v1/projects/{project['id']}/questions",
                                  headers=bidder.auth, json={"text": "工期可否调整？"})
        assert asked.status_code == 201, asked.text
        info = await sealing(client, section["id"], bidder)
        envelope = seal_bid(section, bidder, info["opening_public_key"])
        accepted = await submit(client, section["id"], bidder, envelope)
        assert accepted.status_code == 201, accepted.text
        receipt_url = (f"/api/v1/sections/{section['id']}/bids/"
                       f"{accepted.json()['receipt']['bid_id']}/receipt")
        assert (await client.get(receipt_url, headers=bidder.auth)).status_code == 200
        assert (await client.get(f"/api/v1/sections/{section['id']}/bids",
                                 headers=bidder.auth)).status_code == 200
    withdrawn = await client.post(f"/api/v1/sections/{section['id']}/bids/withdraw",
                                  headers=seed.bidder3.auth)
    assert withdrawn.status_code == 200, withdrawn.text
    refused = await client.post(f"/api/v1/sections/{section['id']}/uploads",
                                headers=seed.bidder1.auth, json={"size": -1})
    assert refused.status_code == 422

    after = await scrape()
    # Three bids, a withdrawal, three downloads and three questions later, not one request
    # count has moved: neither by route nor by status can anyone tell that they happened.
    assert business(after) == listed
    counted = {labels["route"] for labels, _ in after["tradesys_http_requests_total"]}
    for word in ("upload", "bids", "content", "questions", "receipt", "sealing", "security"):
        assert not any(word in route for route in counted), (word, counted)
    assert not any(labels["route"].startswith("/api/v1/sections")
                   for labels, _ in after["tradesys_http_request_duration_seconds_count"])
    # What operators still get: whether those endpoints fail, and how fast they answer.
    assert after["tradesys_http_confidential_server_errors_total"] == [({}, 0.0)]
    latency = {labels["quantile"]: value
               for labels, value in after["tradesys_http_confidential_duration_seconds"]}
    assert set(latency) == {"0.5", "0.99"} and 0 < latency["0.5"] <= latency["0.99"]
    assert not any(name.startswith("tradesys_http_confidential_duration_seconds_count")
                   for name in after)


# --- request ids and headers --------------------------------------------------------------


async def test_every_response_has_a_request_id(client: httpx.AsyncClient, seed: Seed) -> None:
    responses = [
        await client.get("/healthz"),
        await client.get("/readyz"),
        await client.get("/metrics"),
        await client.get("/openapi.json"),
        await client.get("/"),
        await client.get("/api/v1/me"),
        await client.get("/api/v1/me", headers=seed.bidder1.auth),
        await client.post("/api/v1/auth/login", content=b"{", headers={
            "Content-Type": "application/json"}),
        await client.get("/api/v1/nope"),
        await client.get("/no-such-file.js"),
    ]
    ids = [response.headers["x-request-id"] for response in responses]
    assert all(GENERATED_ID.match(value) for value in ids), ids
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("incoming", ["abc-123.XYZ_9", "0" * 64, "req.1"])
async def test_a_valid_incoming_request_id_is_echoed(
    client: httpx.AsyncClient, incoming: str
) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming


@pytest.mark.parametrize(
    "incoming", ["has space", "0" * 65, "<script>", "a;b", "ünïcode", "line\\nbreak", ""],
)
async def test_an_invalid_incoming_request_id_is_replaced(
    client: httpx.AsyncClient, incoming: str
) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": incoming.encode()})
    assert response.headers["x-request-id"] != incoming
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_security_headers_on_every_kind_of_response(
    client: httpx.AsyncClient, seed: Seed
) -> None:
    for response in (
        await client.get("/"),
        await client.get("/healthz"),
        await client.get("/api/v1/me", headers=seed.bidder1.auth),
        await client.get("/api/v1/me"),
        await client.post("/api/v1/nope"),
        await client.get("/openapi.json"),
    ):
        for name, expected in SECURITY_HEADERS.items():
            assert expected in response.headers.get(name, ""), (response.url, name)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


async def test_an_unexpected_error_is_a_500_in_the_error_shape_with_a_request_id(
    app: Starlette, seed: Seed, monkeypatch: pytest.MonkeyPatch, json_log: io.StringIO
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(identity_service, "issue_api_token", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/api/v1/auth/tokens", json={
            "username": "bidder1", "password": seed.bidder1.password},
            headers={"X-Request-ID": "trace-500"})
    error = assert_error(response, 500, "internal_error")
    assert "disk on fire" not in error["message"]
    assert response.headers["x-request-id"] == "trace-500"
    for name, expected in SECURITY_HEADERS.items():
        assert expected in response.headers.get(name, ""), name
    entries = log_entries(json_log)
    failure = [e for e in entries if e["message"] == "unhandled error"]
    assert failure and failure[0]["request_id"] == "trace-500"
    assert "disk on fire" in failure[0]["exception"]
    access = [e for e in entries if e["logger"] == "tradesys.access"]
    assert access[-1]["status"] == 500
    assert seed.bidder1.password not in json_log.getvalue()


# --- logs ----------------------------------------------------------------------------------


async def test_json_access_logs_carry_the_request_id_and_no_secrets(
    client: httpx.AsyncClient, seed: Seed, json_log: io.StringIO
) -> None:
    password = seed.bidder2.password
    login = await client.post("/api/v1/auth/login?next=/portal",
                              json={"username": "bidder2", "password": password},
                              headers={"X-Request-ID": "login-1"})
    assert login.status_code == 200
    session_token = client.cookies["tradesys_session"]
    csrf = login.json()["csrf_token"]
    me = await client.get("/api/v1/me", headers={"X-Request-ID": "me-1"})
    assert me.status_code == 200
    client.cookies.clear()
    issued = await client.post("/api/v1/auth/tokens",
                               json={"username": "bidder2", "password": password})
    token = issued.json()["token"]
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            ).status_code == 200
    guess = "Wrong-Guess-For-Log-77"
    assert (await client.post("/api/v1/auth/login",
                              json={"username": "bidder2", "password": guess})).status_code == 401
    # A request id may not smuggle a secret into the log either (it is replaced).
    await client.get("/healthz", headers={"X-Request-ID": f"pw {password}"})

    output = json_log.getvalue()
    entries = log_entries(json_log)
    access = [e for e in entries if e["logger"] == "tradesys.access"]
    assert len(access) >= 6
    for entry in access:
        assert {"time", "level", "message", "request_id", "method", "route", "status", "ms"} \
            <= set(entry)
        assert GENERATED_ID.match(entry["request_id"]) or entry["request_id"] in (
            "login-1", "me-1")
    assert {"login-1", "me-1"} <= {e["request_id"] for e in access}
    login_entry = next(e for e in access if e["request_id"] == "login-1")
    assert login_entry == {**login_entry, "method": "POST", "route": "/api/v1/auth/login",
                           "status": 200}
    # The route template, not the URL: no query string.
    assert "next=" not in output
    for secret in (password, guess, session_token, csrf, token):
        assert secret not in output
