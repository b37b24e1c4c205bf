"""The composition root: builds the services and the ASGI application from settings.

Only this module knows every part; everything else receives what it needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tradesys.api.errors import HANDLERS
from tradesys.api.openapi import build_openapi
from tradesys.api.v1 import api_router
from tradesys.clock import Clock, SystemClock
from tradesys.db.database import Database
from tradesys.ops.headers import SecurityHeaders
from tradesys.ops.metrics import Metrics
from tradesys.ops.middleware import RequestContext
from tradesys.procurement.rules import RuleBook
from tradesys.scheduler import Scheduler
from tradesys.services import Services
from tradesys.settings import Settings
from tradesys.storage import FileStore

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    return Services(
        settings=settings,
        db=Database(settings.database_url),
        clock=clock or SystemClock(),
        rules=RuleBook.from_file(settings.rules_file),
        documents=FileStore(settings.documents_dir),
    )


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    services: Services | None = None,
    run_scheduler: bool = True,
) -> Starlette:
    services = services or build_services(settings or Settings(), clock)
    metrics = Metrics()
    scheduler = Scheduler(services.db, services.clock,
                          interval=services.settings.scheduler_interval)
    router = api_router()
    openapi = build_openapi(router)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if run_scheduler:
            scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
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

    async def metrics_endpoint(_request: Request) -> Response:
        body = await metrics.render(services.db, services.clock)
        return Response(body, media_type="text/plain; version=0.0.4")

    async def openapi_endpoint(_request: Request) -> Response:
        return JSONResponse(openapi)

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        Route("/openapi.json", openapi_endpoint),
        *router.routes(),
        Mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestContext, metrics=metrics), Middleware(SecurityHeaders)],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.scheduler = scheduler
    app.state.metrics = metrics
    return app
