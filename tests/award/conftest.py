"""A section taken over HTTP to a final evaluation report (the path of
tests/evaluation/test_report_api.py): four bidders, comprehensive scoring, five members who
all sign. What the publicity, objection and award tests start from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from tests.evaluation.conftest import Pool, pool  # noqa: F401  (the fixture)
from tests.evaluation.scoring import (
    COMPREHENSIVE,
    Opened,
    draw_committee,
    keys_for,
    opened_section,
    signed_sheet,
)
from tests.hall.signing import SigningKey
from tests.support import Flow, Party, Seed
from tradesys.clock import AdjustableClock
from tradesys.documents import evaluation_report as documents
from tradesys.events.models import Event
from tradesys.opening import confirmation
from tradesys.services import Services

PRICES = {"bidder1": "9100000.00", "bidder2": "9050000.00", "bidder3": "9200000.00",
          "bidder4": "9300000.00"}
#: bidder3 ranks first, then bidder1, bidder2; bidder4 last (not a candidate: at most 3).
SCORES = {"bidder1": ("30", "15", "8"), "bidder2": ("28", "14", "7"),
          "bidder3": ("35", "18", "9"), "bidder4": ("10", "5", "3")}
ITEMS = ("signed_sealed", "qualified", "single_offer", "responsive")


@dataclass
class Scored:
    opened: Opened
    members: list[Party]
    keys: dict[int, SigningKey]

    @property
    def section_id(self) -> int:
        return self.opened.section_id


@dataclass
class Reported(Scored):
    report: dict[str, Any]


async def review_all(client: httpx.AsyncClient, url: str, member: Party, bids: dict[str, str],
                     failing: frozenset[str] = frozenset()) -> None:
    verdicts = [{"bid_id": bid, "item": item,
                 "passed": not (key in failing and item == "qualified"), "reason": "审查"}
                for key, bid in bids.items() for item in ITEMS]
    response = await client.post(f"{url}/verdicts", headers=member.auth,
                                 json={"verdicts": verdicts})
    assert response.status_code == 200, response.text


async def sign(client: httpx.AsyncClient, url: str, member: Party, key: SigningKey,
               report: dict[str, Any], members: list[Party]) -> httpx.Response:
    seat = report["committee"][members.index(member)]["member_id"]
    message = documents.signing_message(report, seat)
    return await client.post(f"{url}/report/signatures", headers=member.auth, json={
        "key_id": key.key_id, "signature": confirmation.sign(key.private_key, message)})


async def scored_section(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                         clock: AdjustableClock, app: Starlette, pool: Pool,  # noqa: F811
                         *, failing: frozenset[str] = frozenset(),
                         scheme: dict[str, Any] | None = COMPREHENSIVE) -> Scored:
    """Opened, reviewed (``failing`` bidders fail ``qualified`` with three of five votes) and
    scored: the report can be drafted."""
    prices = PRICES if scheme is not None else {k: PRICES[k] for k in
                                                ("bidder1", "bidder2", "bidder3")}
    opened = await opened_section(client, flow, seed, clock, app, prices, scheme)
    url = f"/api/v1/sections/{opened.section_id}/evaluation"
    members = await draw_committee(client, seed, pool, opened.section_id)
    keys = await keys_for(client, members)
    for n, member in enumerate(members):
        await review_all(client, url, member, opened.bids, failing if n < 3 else frozenset())
    if scheme is not None:
        sha = (await client.get(f"{url}/scheme", headers=seed.agency.auth)).json()["sha256"]
        scores = {opened.bids[k]: dict(zip(("T1", "T2", "B1"), SCORES[k], strict=True))
                  for k in prices if k not in failing}
        for member in members:
            sent = await client.post(f"{url}/score-sheets", headers=member.auth,
                                     json=signed_sheet(keys[member.user_id], opened, sha,
                                                       scores))
            assert sent.status_code == 201, sent.text
    return Scored(opened, members, keys)


async def drafted_report(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                         clock: AdjustableClock, app: Starlette, pool: Pool,  # noqa: F811
                         *, failing: frozenset[str] = frozenset(),
                         scheme: dict[str, Any] | None = COMPREHENSIVE) -> Reported:
    """:func:`scored_section`, then drafted; nobody has signed yet."""
    scored = await scored_section(client, flow, seed, clock, app, pool, failing=failing,
                                  scheme=scheme)
    drafted = await client.post(f"/api/v1/sections/{scored.section_id}/evaluation/report",
                                headers=seed.agency.auth)
    assert drafted.status_code == 201, drafted.text
    return Reported(scored.opened, scored.members, scored.keys, drafted.json()["report"])


async def sign_all(client: httpx.AsyncClient, reported: Reported) -> dict[str, Any]:
    url = f"/api/v1/sections/{reported.section_id}/evaluation"
    for member in reported.members:
        signed = await sign(client, url, member, reported.keys[member.user_id],
                            reported.report, reported.members)
        assert signed.status_code == 200, signed.text
    body: dict[str, Any] = signed.json()
    assert body["final"] is True
    return body


async def award_events(services: Services, section_id: int
                       ) -> list[tuple[str, dict[str, Any]]]:
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event).where(
            Event.aggregate_type == "award", Event.aggregate_id == str(section_id))
            .order_by(Event.seq))).scalars().all()
    return [(row.type, json.loads(row.payload)) for row in rows]
