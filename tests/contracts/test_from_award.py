"""The contract of an award over HTTP (``POST /sections/{id}/contract``), on both back ends:
draft 1 from the section's standing award, its facts read from the tender, the award and the
winning bid; refused — with a clear 4xx and no row changed — for outsiders, before the report
is final or the award is made, after the winner declined, after a failed tender, and twice.
Signing the created contract is tests/contracts/test_http.py's (and the demo's)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from contracts.facts import TradeType
from contracts.from_award import duration_of, quality_of, template_for
from tests.award.conftest import Reported, drafted_report, sign_all
from tests.evaluation.conftest import Pool, pool  # noqa: F401  (the fixture)
from tests.support import T0, Flow, Party, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.errors import Conflict
from tradesys.events.models import Event
from tradesys.services import Services


@pytest.fixture
def clock() -> AdjustableClock:
    """The award path's clock (tests/contracts/conftest.py's runs at today's time for
    pyhanko; nothing here validates at the real time)."""
    return AdjustableClock(T0, frozen=True)


async def _published(client: httpx.AsyncClient, seed: Seed, app: Starlette,
                     clock: AdjustableClock, reported: Reported) -> str:
    """Final report, publicity run out: the section's path, ready for the award."""
    await sign_all(client, reported)
    section = f"/api/v1/sections/{reported.section_id}"
    assert (await client.post(f"{section}/publicity", headers=seed.agency.auth)).status_code == 201
    clock.advance(timedelta(days=3))
    await app.state.scheduler.run_once()
    return section


async def _refused(services: Services, response: httpx.Response, status: int,
                   code: str, before: dict[str, int]) -> None:
    assert_error(response, status, code)
    assert await table_counts(services) == before


def _bidders(seed: Seed) -> dict[str, Party]:
    return {p.credit_code: p for p in seed.parties.values() if p.role == "bidder"}


async def test_the_procurer_makes_the_contract_of_the_award(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette) -> None:
    reported = await drafted_report(client, flow, seed, clock, app, pool)
    path = f"/api/v1/sections/{reported.section_id}/contract"

    # Before the report is final: nothing to make it from.
    before = await table_counts(services)
    await _refused(services, await client.post(path, headers=seed.procurer.auth), 409,
                   "report_not_final", before)
    section = await _published(client, seed, app, clock, reported)
    # Final and published, but not awarded yet.
    before = await table_counts(services)
    await _refused(services, await client.post(path, headers=seed.procurer.auth), 409,
                   "not_awarded", before)
    awarded = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert awarded.status_code == 201, awarded.text
    winner = awarded.json()["awards"][0]
    notice = next(n for n in winner["notices"] if n["kind"] == "award")

    # Only the procurer or the host: not a bidder (the winner neither), another agency, an
    # expert, a supervisor; anonymous is 401; a section that does not exist is 404.
    before = await table_counts(services)
    for who in (_bidders(seed)[winner["credit_code"]], seed.agency2, seed.expert,
                seed.supervisor):
        await _refused(services, await client.post(path, headers=who.auth), 403,
                       "not_host_or_procurer", before)
    assert (await client.post(path)).status_code == 401
    await _refused(services, await client.post("/api/v1/sections/999999/contract",
                                               headers=seed.procurer.auth), 404,
                   "section_not_found", before)
    assert await table_counts(services) == before

    clock.advance(timedelta(days=1))
    made = await client.post(path, headers=seed.procurer.auth)
    assert made.status_code == 201, made.text
    body = made.json()
    award_id = f"{reported.opened.section_code}-1"
    assert body["award_id"] == award_id and body["state"] == "drafting" and body["draft"] == 1
    assert body["section_id"] == reported.section_id
    assert body["project_id"] == reported.opened.project_id

    # Once: the host asking again is refused, nothing changes.
    before = await table_counts(services)
    await _refused(services, await client.post(path, headers=seed.agency.auth), 409,
                   "contract_exists", before)

    # The facts, as both parties read them: from the tender, the award and the winning bid.
    supplier = _bidders(seed)[winner["credit_code"]]
    view = await client.get(f"/api/v1/contracts/{body['id']}", headers=supplier.auth)
    assert view.status_code == 200, view.text
    contract = view.json()
    assert contract["your_field"] == "supplier" and contract["sha256"] == body["sha256"]
    facts = contract["facts"]
    assert facts["award_id"] == award_id and facts["trade_type"] == "works"
    assert facts["purchaser"]["credit_code"] == seed.procurer.credit_code
    assert facts["supplier"]["credit_code"] == winner["credit_code"]
    assert contract["parties"]["supplier"]["credit_code"] == winner["credit_code"]
    assert facts["price"] == winner["price"]
    assert facts["duration_days"] == 300 and facts["quality"] == "合格"  # the bid's summary
    assert facts["section"]["code"] == reported.opened.section_code
    assert facts["subject"] == "测试教学楼工程（施工）：施工内容"
    assert notice["document_id"] in facts["clauses"][0]["text"]
    assert facts["awarded_at"].startswith(winner["awarded_at"][:19])
    procurer_view = await client.get(f"/api/v1/contracts/{body['id']}",
                                     headers=seed.procurer.auth)
    assert procurer_view.json()["your_field"] == "purchaser"
    pdf = await client.get(f"/api/v1/contracts/{body['id']}/pdf", headers=seed.procurer.auth)
    assert pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == body["sha256"]
    # The other bidders never see it.
    loser = next(p for code, p in _bidders(seed).items() if code != winner["credit_code"])
    assert_error(await client.get(f"/api/v1/contracts/{body['id']}", headers=loser.auth), 403,
                 "not_contract_reader")

    # One event, by the procurer, on the project, naming the award and the stored file.
    async with services.db.reading() as session:
        events = (await session.execute(select(Event).where(
            Event.type == "contract.created"))).scalars().all()
    assert len(events) == 1
    assert events[0].project_id == reported.opened.project_id
    payload = json.loads(events[0].payload)
    assert payload["award_id"] == award_id and payload["sha256"] == body["sha256"]


async def test_a_declined_award_has_no_contract_until_the_next(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette) -> None:
    reported = await drafted_report(client, flow, seed, clock, app, pool)
    section = await _published(client, seed, app, clock, reported)
    path = f"{section}/contract"
    candidates = [c["credit_code"] for c in reported.report["candidates"]]
    first = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert first.status_code == 201, first.text
    declined = await client.post(f"{section}/award/decline",
                                 headers=_bidders(seed)[candidates[0]].auth,
                                 json={"reason": "无法按期提交履约保证金"})
    assert declined.status_code == 200, declined.text

    before = await table_counts(services)
    for who in (seed.procurer, seed.agency):
        await _refused(services, await client.post(path, headers=who.auth), 409,
                       "award_declined", before)

    # The next candidate is awarded: the host makes that award's contract.
    second = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert second.status_code == 201, second.text
    made = await client.post(path, headers=seed.agency.auth)
    assert made.status_code == 201, made.text
    assert made.json()["award_id"] == f"{reported.opened.section_code}-2"
    view = await client.get(f"/api/v1/contracts/{made.json()['id']}",
                            headers=_bidders(seed)[candidates[1]].auth)
    assert view.status_code == 200, view.text
    assert view.json()["facts"]["supplier"]["credit_code"] == candidates[1]
    assert view.json()["facts"]["price"] == second.json()["awards"][1]["price"]
    # The agency is no party: it made the contract but does not read it.
    assert_error(await client.get(f"/api/v1/contracts/{made.json()['id']}",
                                  headers=seed.agency.auth), 403, "not_contract_reader")


@pytest.mark.parametrize("failing", [frozenset({"bidder3"})])
async def test_a_failed_tender_has_no_contract(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette, failing: frozenset[str]) -> None:
    reported = await drafted_report(client, flow, seed, clock, app, pool, failing=failing,
                                    scheme=None)
    await sign_all(client, reported)
    section = f"/api/v1/sections/{reported.section_id}"
    recorded = await client.post(f"{section}/award/failure", headers=seed.agency.auth)
    assert recorded.status_code == 201, recorded.text
    before = await table_counts(services)
    await _refused(services, await client.post(f"{section}/contract", headers=seed.procurer.auth),
                   409, "tender_failed", before)


# -- the pure parts ------------------------------------------------------------------------

@pytest.mark.parametrize(("trade_type", "template"), [
    ("works", TradeType.WORKS), ("epc", TradeType.WORKS), ("survey_design", TradeType.WORKS),
    ("gov_procurement", TradeType.GOODS)])
def test_each_trade_type_with_a_template(trade_type: str, template: TradeType) -> None:
    assert template_for(trade_type) is template


@pytest.mark.parametrize("trade_type", ["land_mineral", "state_property", "nonsense"])
def test_trade_types_without_a_template_are_refused(trade_type: str) -> None:
    with pytest.raises(Conflict) as refused:
        template_for(trade_type)
    assert refused.value.code == "no_contract_template"


def test_the_winning_bids_duration_and_quality() -> None:
    assert duration_of({"duration_days": 540}) == 540
    assert quality_of({"quality": " 合格 "}) == "合格"
    for summary in ({}, {"duration_days": 0}, {"duration_days": 3651}, {"duration_days": True},
                    {"duration_days": "540"}):
        with pytest.raises(Conflict) as refused:
            duration_of(summary)
        assert refused.value.code == "contract_not_issuable"
    for summary in ({}, {"quality": "  "}, {"quality": 1}):
        with pytest.raises(Conflict) as refused:
            quality_of(summary)
        assert refused.value.code == "contract_not_issuable"
