"""The bid-security returns on contract.html (条例 Art. 57), in chromium: once the contract of a
project's section is signed, its page lists each bidder's security with the due time and state;
the procurer's user records a return (a malformed interest stopped in Chinese with nothing
sent), after which the row says 已退还 with the reference; the winner's page shows its own row
only and no form.

The project, the securities (bidders 1–3 declare; the host confirms bidder1's and rejects
bidder3's) and the contract signed by both parties are made over HTTP in a thread before the
server starts (tests/contracts/test_securities.py's ``tendered`` and ``conclude``)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from asgi_lifespan import LifespanManager
from playwright.sync_api import expect

from tests.browser import quality
from tests.browser.test_award import Browsers
from tests.contracts.test_securities import Tender, conclude, tendered
from tests.support import Flow, Seed
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings

pytestmark = pytest.mark.browser


async def _signed(settings: Settings, clock: AdjustableClock, seed: Seed) -> Tender:
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            tender = await tendered(client, Flow(client, seed, clock.now()), seed,
                                    app.state.services, clock)
            await conclude(client, seed, tender)
        return tender


def signed_contract(settings: Settings, clock: AdjustableClock, seed: Seed) -> Tender:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _signed(settings, clock, seed)).result()


def test_the_procurer_records_a_bid_security_return_on_the_contract_page(
        browser, settings: Settings, clock: AdjustableClock, seed: Seed) -> None:
    tender = signed_contract(settings, clock, seed)
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        with httpx.Client(base_url=f"{server.url}/api/v1") as api:
            ledger = api.get(tender.url.removeprefix("/api/v1"),
                             headers=seed.procurer.auth).json()
        due = {item["credit_code"]: item for item in ledger["items"]}
        assert seed.bidder1.credit_code in due and seed.bidder3.credit_code not in due
        people = Browsers(browser, server)
        try:
            procurer = people.page(seed.procurer, width=390, height=844)
            procurer.goto(f"/contract.html?id={tender.contract_id}")
            step = procurer.locator("#securities-step")
            expect(step).to_be_visible()
            rows = step.locator("#security-rows tr")
            expect(rows).to_have_count(len(due))
            winner = rows.filter(has_text=seed.bidder1.credit_code)
            expect(winner).to_contain_text("（中标人）")
            expect(winner).to_contain_text("10,000.00")
            expect(winner.locator(".return-state")).to_have_text("待退还")
            expect(step).not_to_contain_text(seed.bidder3.credit_code)

            form = procurer.locator("#return-form")
            sent: list[str] = []
            procurer.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
            form.get_by_label("投标人").select_option(seed.bidder1.credit_code)
            form.get_by_label("利息（元，可不填）").fill("12.345")
            form.get_by_role("button", name="登记退还").click()
            expect(form.locator("#return-reference-error")).to_have_text("请填写退款凭证号")
            expect(form.locator("#return-interest-error")).to_contain_text("利息须为以元计的金额")
            assert sent == []
            quality.check(procurer, "contract-security-refused")
            form.get_by_label("退款凭证号").fill("退款凭证 2026-0001 <b>x</b>")
            form.get_by_label("利息（元，可不填）").fill("12.34")
            form.get_by_role("button", name="登记退还").click()
            expect(procurer.locator("#status")).to_contain_text("已登记退还投标保证金")
            expect(winner.locator(".return-state")).to_have_text("已退还")
            expect(winner).to_contain_text("凭证 退款凭证 2026-0001 <b>x</b>")  # as text
            expect(winner).to_contain_text("利息 12.34 元")
            assert len(sent) == 1 and sent[0].endswith("/contract/bid-securities/returns")
            quality.check(procurer, "contract-security-returned")

            bidder = people.page(seed.bidder1)
            bidder.goto(f"/contract.html?id={tender.contract_id}")
            expect(bidder.locator("#security-rows tr")).to_have_count(1)
            expect(bidder.locator("#security-rows tr .return-state")).to_have_text("已退还")
            expect(bidder.locator("#return-form")).to_be_hidden()
        finally:
            people.close()
        assert people.problems == []
        with httpx.Client(base_url=f"{server.url}/api/v1") as api:
            after = api.get(tender.url.removeprefix("/api/v1"), headers=seed.procurer.auth).json()
    returned = {i["credit_code"]: i["returned"] for i in after["items"]}
    assert returned[seed.bidder1.credit_code]["reference"] == "退款凭证 2026-0001 <b>x</b>"
    assert returned[seed.bidder1.credit_code]["interest"] == "12.34"
    assert [code for code, r in returned.items() if r] == [seed.bidder1.credit_code]
