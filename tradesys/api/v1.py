"""All endpoints of ``/api/v1``, gathered in one router."""

from __future__ import annotations

from tradesys.api.routes import (
    archives,
    award,
    bidding,
    contracts,
    entrustments,
    evaluation,
    identity,
    log,
    opening,
    operations,
    platform,
    projects,
    public,
    tendering,
)
from tradesys.api.routing import Router


def api_router() -> Router:
    router = Router()
    for module in (public, identity, projects, entrustments, tendering, bidding, opening, platform,
                   evaluation, award, contracts, log, archives, operations):
        router.endpoints.extend(module.router.endpoints)
    return router
