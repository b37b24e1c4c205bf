"""The composition root: builds the services and the ASGI application from settings.

Only this module knows every part; everything else receives what it needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from archive.builder import ArchiveConfig
from archive.publication import TreeHeadPublisher
from archive.scheduling import archive_jobs
from contracts.follow_up import contract_jobs
from contracts.timestamps import AuthorityStamps
from hall.access import AccessWatch
from hall.backplane import PostgresBackplane
from hall.rooms import Rooms
from hall.ws import Hall, hall_endpoint
from tradesys.api.errors import HANDLERS, error_response
from tradesys.api.openapi import build_openapi
from tradesys.api.v1 import api_router
from tradesys.bids.upload_files import UploadFiles
from tradesys.clock import Clock, SystemClock
from tradesys.db.database import Database
from tradesys.opening.commands import OpeningCommands
from tradesys.opening.jobs import opening_jobs
from tradesys.opening.record import RecordStore
from tradesys.ops.headers import SecurityHeaders
from tradesys.ops.metrics import Metrics
from tradesys.ops.metrics import authorized as metrics_authorized
from tradesys.ops.middleware import RequestContext
from tradesys.procurement.rules import RuleBook
from tradesys.reporting.facts import ReportingSettings
from tradesys.reporting.relay import Relay
from tradesys.scheduler import JOBS, Scheduler
from tradesys.services import Services
from tradesys.settings import Settings
from tradesys.signatures import load_or_create_key
from tradesys.storage import FileStore

STATIC_DIR = Path(str(files("tradesys"))) / "static"


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    rules = RuleBook.from_file(settings.rules_file)
    uploads = UploadFiles(settings.data_dir / "uploads", FileStore(settings.data_dir / "bids"))
    receipt_key = load_or_create_key(settings.receipt_key_file)
    return Services(
        settings=settings,
        db=Database(settings.database_url),
        clock=clock,
        rules=rules,
        documents=FileStore(settings.documents_dir),
        reporting=ReportingSettings(
            platform_code=settings.platform_code,
            pub_service_plat_code=settings.pub_service_plat_code,
            ocid_prefix=settings.ocid_prefix,
            public_base_url=settings.public_url.rstrip("/"),
            publisher_name=f"tradesys 电子招标投标交易平台 {settings.platform_code}",
        ),
        report_key=load_or_create_key(settings.report_key_file),
        receipt_key=receipt_key,
        uploads=uploads,
        opening=OpeningCommands(clock, rules, uploads.store, settings.data_dir / "opened",
                                RecordStore(settings.data_dir / "records"), receipt_key),
        tree_heads=TreeHeadPublisher(load_or_create_key(settings.archive_key_file),
                                     settings.platform_code, settings.tree_head_interval_seconds),
    )


def build_archive_config(services: Services) -> ArchiveConfig:
    """What the archive builder needs, from the running system's parts: the archive key is
    the one that signs the public tree heads (one trust root for heads and archives), and the
    receipt key's public half goes into each bag so receipts and notices check offline."""
    settings = services.settings
    archive_key = (services.tree_heads.key if services.tree_heads is not None
                   else load_or_create_key(settings.archive_key_file))
    return ArchiveConfig(
        data_dir=settings.data_dir, platform_code=settings.platform_code,
        archive_key=archive_key, reporting=services.reporting, rules=services.rules,
        receipt_key=services.receipt_key.public_key(), stamps=AuthorityStamps(settings))


def build_relay(services: Services) -> Relay | None:
    settings = services.settings
    if not settings.platform_url:
        return None
    return Relay(services.db, services.clock, services.reporting, settings.platform_url,
                 services.report_key, max_attempts=settings.relay_max_attempts,
                 interval=settings.relay_interval)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    services: Services | None = None,
    run_scheduler: bool = True,
    run_relay: bool = True,
) -> Starlette:
    services = services or build_services(settings or Settings(), clock)
    metrics = Metrics()
    settings = services.settings
    scheduler = Scheduler(
        services.db, services.clock, interval=settings.scheduler_interval,
        jobs=JOBS + opening_jobs(services.rules, services.uploads.store,
                                 settings.data_dir / "opened") + contract_jobs(services.rules)
        + archive_jobs(build_archive_config(services)),
        on_change=services.committed)
    relay = build_relay(services)
    if relay is not None:
        services.commit_listeners.append(relay.wake)
    rooms = Rooms(services.db, services.clock)
    services.commit_listeners.append(rooms.notify_all)
    access = AccessWatch(services.db, services.clock)
    rooms.tick_listeners.append(access.check_expiry)
    services.access_listeners.append(access.user_changed)
    hall = Hall(services, rooms, services.opening, wake_scheduler=scheduler.wake, access=access)
    backplane = (PostgresBackplane(settings.database_url, rooms,
                                   [services.read_cache.invalidate], [access.user_changed])
                 if services.db.dialect == "postgresql" else None)
    router = api_router()
    openapi = build_openapi(router)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        rooms.start()
        access.start()
        if backplane is not None:
            await backplane.start()
        if run_scheduler:
            scheduler.start()
        if relay is not None and run_relay:
            relay.start()
        try:
            yield
        finally:
            await scheduler.stop()
            await rooms.stop()
            if backplane is not None:
                await backplane.stop()
            if relay is not None:
                await relay.stop()
            await services.db.dispose()

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        try:
            async with services.db.reading() as session:
                await session.execute(text("SELECT seq FROM event_chain_head"))
        except Exception:
            return JSONResponse({"status": "unavailable", "database": "unreachable"},
                                status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_endpoint(request: Request) -> Response:
        # Operators only: off (404, as if absent) unless a token is configured.
        if not settings.metrics_token:
            return error_response(404, "not_found", "资源不存在 (no such resource)")
        if not metrics_authorized(settings.metrics_token, request.headers.get("authorization")):
            return error_response(401, "unauthenticated",
                                  "需要运维令牌 (the operators' metrics token is required)",
                                  headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        body = await metrics.render(services.db, services.clock, relay)
        return Response(body, media_type="text/plain; version=0.0.4")

    async def openapi_endpoint(_request: Request) -> Response:
        return JSONResponse(openapi)

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        Route("/openapi.json", openapi_endpoint),
        WebSocketRoute("/hall/{section_id:int}/ws", hall_endpoint),
        *router.routes(),
        Mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static"),
    ]
    # Proxy headers are believed only from the configured proxies, for HTTP and the hall alike
    # (the client address is what rate limits count and the Art. 49 log records).
    proxies = ([Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))]
               if settings.trusted_proxies else [])
    app = Starlette(
        routes=routes,
        middleware=[*proxies, Middleware(RequestContext, metrics=metrics,
                                         confidential=router.confidential()),
                    Middleware(SecurityHeaders)],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.scheduler = scheduler
    app.state.metrics = metrics
    app.state.relay = relay
    app.state.hall = hall
    app.state.backplane = backplane
    return app
