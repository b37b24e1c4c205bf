from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.bids.test_opening import _envelope
from tests.bids.test_submission import sealing, submit
from tests.hall.support import serving
from tests.support import Flow, Seed
from tradesys.clock import AdjustableClock

PRICES = (("bidder1", "9100000.00"), ("bidder2", "9050000.00"), ("bidder3", "9200000.00"))


@pytest.fixture
async def published(client: httpx.AsyncClient, flow: Flow, seed: Seed, clock: AdjustableClock,
                    app: Starlette) -> dict[str, Any]:
    """A section with three sealed bids, past its deadline: the bid list is published."""
    project = await flow.announced()
    section = project["notice"]["sections"][0]
    opening_key = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    for key, price in PRICES:
        bidder = seed.parties[key]
        response = await submit(client, section["id"], bidder,
                                _envelope(section, bidder, opening_key, price))
        assert response.status_code == 201, response.text
    clock.advance(timedelta(days=21))
    await app.state.scheduler.run_once()
    return {"project": project, "section": section, "section_id": section["id"]}


@pytest.fixture
async def base(app: Starlette) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url
