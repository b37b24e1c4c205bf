"""Bid securities after the signing (条例 Art. 57): due within the rule book's
``bid_security_return_days`` of ``contract.concluded`` to the winner and the other bidders,
recorded once per bidder by the procurer or the host, and one
``contract.bid_security_overdue`` per bidder not returned by then — not before, not twice, not
for one returned in time."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from contracts.securities import (
    OVERDUE,
    RETURNED,
    STATE_NAMES,
    ReturnState,
    SecurityDue,
    due_at,
    security_jobs,
)
from contracts.store import create_contract
from tests.contracts.conftest import facts_for
from tests.contracts.test_http import http_signer, sign
from tests.support import T0, Flow, Party, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock, isoformat_utc
from tradesys.events.log import Actor
from tradesys.events.models import Event
from tradesys.formatting import parse_instant
from tradesys.services import Services


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock(T0, frozen=True)


@dataclass
class Tender:
    section_id: int
    contract_id: int

    @property
    def url(self) -> str:
        return f"/api/v1/sections/{self.section_id}/contract/bid-securities"


async def _declare(client: httpx.AsyncClient, section_id: int, party: Party, amount: str) -> None:
    declared = await client.post(f"/api/v1/sections/{section_id}/security", headers=party.auth,
                                 json={"method": "bank_transfer", "amount": amount,
                                       "reference": f"{party.key}-转账-001"})
    assert declared.status_code == 200, declared.text


async def _decide(client: httpx.AsyncClient, seed: Seed, section_id: int, party: Party,
                  status: str) -> None:
    decided = await client.post(f"/api/v1/sections/{section_id}/security/{party.org_id}/decision",
                                headers=seed.agency.auth, json={"status": status})
    assert decided.status_code == 200, decided.text


async def tendered(client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
                   clock: AdjustableClock) -> Tender:
    """An announced project (the agency hosts, the procurer owns it) whose first section's
    bidders 1–3 declared securities before the deadline; after it the host confirms bidder1's
    and rejects bidder3's; bidder4 declared none. The contract between the procurer and
    bidder1 (the award's id, ``<section code>-1``) exists, unsigned."""
    project = await flow.announced()
    section = project["sections"][0]
    for party, amount in ((seed.bidder1, "10000.00"), (seed.bidder2, "10000.00"),
                          (seed.bidder3, "8000.00")):
        await _declare(client, section["id"], party, amount)
    clock.advance(timedelta(days=22))
    await _decide(client, seed, section["id"], seed.bidder1, "confirmed")
    await _decide(client, seed, section["id"], seed.bidder3, "rejected")
    facts = facts_for(seed.procurer, seed.bidder1, award_id=f"{section['code']}-1",
                      project={"code": project["code"], "name": project["name"]},
                      section={"code": section["code"], "name": section["name"]})
    async with services.db.transaction() as session:
        contract = await create_contract(session, facts, project_id=project["id"],
                                         actor=Actor(user_id=seed.procurer.user_id),
                                         at=clock.now())
    return Tender(section["id"], contract.id)


async def conclude(client: httpx.AsyncClient, seed: Seed, tender: Tender) -> None:
    """Both parties sign over HTTP: the second signature writes ``contract.concluded``."""
    await sign(client, tender.contract_id, await http_signer(client, seed.procurer), raw=True)
    await sign(client, tender.contract_id, await http_signer(client, seed.bidder1), raw=False)


async def _events(services: Services, type: str) -> list[dict[str, Any]]:
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event.payload).where(Event.type == type)
                                      .order_by(Event.seq))).scalars().all()
    return [json.loads(row) for row in rows]


async def _concluded_at(services: Services) -> datetime:
    async with services.db.reading() as session:
        return (await session.execute(select(Event.occurred_at).where(
            Event.type == "contract.concluded"))).scalar_one()


def _return(credit_code: str, **extra: Any) -> dict[str, Any]:
    return {"credit_code": credit_code, "reference": "退款凭证 2026-0001", "interest": "12.34",
            **extra}


async def refused(services: Services, status: int, code: str | None, request: Any) -> None:
    """Refused with ``status``/``code``; no row and no event written."""
    before = await table_counts(services)
    assert_error(await request, status, code)
    assert await table_counts(services) == before


async def test_securities_are_due_five_days_after_signing_returned_once_and_flagged_once(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock, app: Starlette) -> None:
    tender = await tendered(client, flow, seed, services, clock)
    await conclude(client, seed, tender)
    concluded_at = await _concluded_at(services)
    due = concluded_at + timedelta(days=5)

    listed = await client.get(tender.url, headers=seed.agency.auth)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["contract_id"], body["return_days"]) == (tender.contract_id, 5)
    assert body["concluded_at"] == isoformat_utc(concluded_at)
    assert body["due_at"] == isoformat_utc(due)
    # The winner and the other bidder who declared; not the rejected one, not bidder4.
    items = {item["credit_code"]: item for item in body["items"]}
    assert set(items) == {seed.bidder1.credit_code, seed.bidder2.credit_code}
    winner, other = items[seed.bidder1.credit_code], items[seed.bidder2.credit_code]
    assert (winner["winner"], winner["security_status"], winner["amount"]) == (
        True, "confirmed", "10000.00")
    assert (other["winner"], other["security_status"]) == (False, "declared")
    assert {(i["state"], i["state_name"], i["due_at"], i["returned"]) for i in items.values()
            } == {("pending", "待退还", isoformat_utc(due), None)}

    # The procurer records the winner's return in time, with interest.
    clock.advance(timedelta(days=2))
    recorded = await client.post(f"{tender.url}/returns", headers=seed.procurer.auth,
                                 json=_return(seed.bidder1.credit_code.lower(), note="含利息"))
    assert recorded.status_code == 201, recorded.text
    [event] = await _events(services, RETURNED)
    assert event == {k: v for k, v in recorded.json().items() if k != "section_id"}
    assert (event["credit_code"], event["amount"], event["interest"], event["reference"],
            event["note"], event["late"], event["winner"]) == (
        seed.bidder1.credit_code, "10000.00", "12.34", "退款凭证 2026-0001", "含利息", False,
        True)
    assert event["returned_at"] == isoformat_utc(clock.now())
    # Twice is refused, and nothing is written.
    await refused(services, 409, "security_already_returned", client.post(
        f"{tender.url}/returns", headers=seed.agency.auth,
        json=_return(seed.bidder1.credit_code)))

    # A bidder sees its own security only; the supervisor sees all.
    own = await client.get(tender.url, headers=seed.bidder2.auth)
    assert own.status_code == 200, own.text
    assert [i["credit_code"] for i in own.json()["items"]] == [seed.bidder2.credit_code]
    supervised = await client.get(tender.url, headers=seed.supervisor.auth)
    assert supervised.status_code == 200, supervised.text
    assert len(supervised.json()["items"]) == 2

    # Not before the due time; at it, one event for bidder2 (not the winner, returned in
    # time), however often the job runs.
    clock.advance(due - clock.now() - timedelta(seconds=1))
    await app.state.scheduler.run_once()
    assert await _events(services, OVERDUE) == []
    clock.advance(timedelta(seconds=1))
    await app.state.scheduler.run_once()
    await app.state.scheduler.run_once()
    # And two runs at once (as two processes would): each re-checks under the lock.
    [job] = security_jobs(services.rules)
    runs = await asyncio.gather(job(services.db, clock), job(services.db, clock))
    assert runs == [[], []]
    [lapse] = await _events(services, OVERDUE)
    assert (lapse["credit_code"], lapse["amount"], lapse["winner"], lapse["return_days"]) == (
        seed.bidder2.credit_code, "10000.00", False, 5)
    assert lapse["due_at"] == isoformat_utc(due)
    assert parse_instant(str(lapse["concluded_at"])) == concluded_at
    states = {i["credit_code"]: i["state_name"] for i in (
        await client.get(tender.url, headers=seed.agency.auth)).json()["items"]}
    assert states == {seed.bidder1.credit_code: "已退还", seed.bidder2.credit_code: "逾期"}

    # A late return is still recorded (marked late); the job writes nothing more.
    clock.advance(timedelta(days=1))
    late = await client.post(f"{tender.url}/returns", headers=seed.agency.auth,
                             json={"credit_code": seed.bidder2.credit_code,
                                   "reference": "保函退还 BG-7"})
    assert late.status_code == 201, late.text
    assert (late.json()["late"], late.json()["interest"], late.json()["note"]) == (
        True, None, None)
    await app.state.scheduler.run_once()
    assert len(await _events(services, OVERDUE)) == 1
    assert len(await _events(services, RETURNED)) == 2


async def test_bad_returns_are_refused_and_change_nothing(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        clock: AdjustableClock, app: Starlette) -> None:
    tender = await tendered(client, flow, seed, services, clock)
    returns = f"{tender.url}/returns"
    winner = seed.bidder1.credit_code

    # Before both signatures: nothing is due yet.
    await refused(services, 409, "contract_not_concluded", client.post(
        returns, headers=seed.procurer.auth, json=_return(winner)))
    assert_error(await client.get(tender.url, headers=seed.procurer.auth), 409,
                 "contract_not_concluded")
    await app.state.scheduler.run_once()  # and the job has nothing to flag
    assert await _events(services, OVERDUE) == []

    await conclude(client, seed, tender)
    # Not the procurer or the host: a bidder (even the winner), another agency, a
    # supervisor (read only), anyone without a login.
    for party in (seed.bidder1, seed.bidder2, seed.agency2, seed.supervisor, seed.procurer2):
        await refused(services, 403, "not_host_or_procurer", client.post(
            returns, headers=party.auth, json=_return(winner)))
    await refused(services, 401, None, client.post(returns, json=_return(winner)))
    # Reading: another agency, a bidder with no security.
    for party in (seed.agency2, seed.bidder4):
        assert_error(await client.get(tender.url, headers=party.auth), 403,
                     "not_security_reader")
    # No security to return: an organisation that is no bidder, bidder4 (declared none),
    # bidder3 (its security was rejected).
    for code in (seed.agency2.credit_code, seed.bidder4.credit_code, seed.bidder3.credit_code,
                 "91350100MA00000000"):
        await refused(services, 404, "no_bid_security", client.post(
            returns, headers=seed.procurer.auth, json=_return(code)))
    # Malformed bodies.
    for bad in ({"credit_code": winner}, _return(winner, reference=""),
                _return(winner, reference="a\nb"), _return("123"), _return(winner, interest=12.5),
                _return(winner, interest="-1.00"), _return(winner, interest="1.234"),
                _return(winner, note=""), _return(winner, returned_at="2026-03-01T00:00:00Z"),
                _return(winner, amount="1.00")):
        await refused(services, 422, None, client.post(returns, headers=seed.procurer.auth,
                                                       json=bad))
    await refused(services, 404, "section_not_found", client.post(
        "/api/v1/sections/999999/contract/bid-securities/returns", headers=seed.procurer.auth,
        json=_return(winner)))
    assert await _events(services, RETURNED) == []
    # The good one goes through once, even when sent twice at the same time.
    answers = await asyncio.gather(*(client.post(returns, headers=party.auth,
                                                 json=_return(winner))
                                     for party in (seed.agency, seed.procurer)))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert len(await _events(services, RETURNED)) == 1


def test_a_security_is_pending_until_its_due_time_then_overdue_unless_returned() -> None:
    concluded = T0 + timedelta(hours=3)
    due = due_at(concluded, 5)
    assert due == concluded + timedelta(days=5)
    item = SecurityDue(security_id=1, org_id=2, name="bidder", credit_code="X" * 18,
                       method="bank_transfer", amount="1.00", status="confirmed", winner=False,
                       due_at=due, returned=None, flagged=False)
    assert item.state(due - timedelta(microseconds=1)) is ReturnState.PENDING
    assert item.state(due) is ReturnState.OVERDUE
    returned = replace(item, returned={"returned_at": isoformat_utc(due)})
    assert returned.state(due + timedelta(days=9)) is ReturnState.RETURNED
    assert {STATE_NAMES[s] for s in ReturnState} == {"待退还", "已退还", "逾期"}
