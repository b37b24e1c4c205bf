"""Online contract signing (合同网签) in chromium, for both parties: each makes a signing key on
keys.html, asks on contract.html for the certificate of that key, and signs the contract with
it (the server prepares the CMS signed attributes, the page signs them with WebCrypto, the key
never leaves the browser), and afterwards sign an amendment (合同变更) the bidder proposes in the
page (no change, and a fixed term, refused). Before signing, the bidder proposes the second
draft in the page
(stopped in Chinese, with nothing sent, by an empty clause and by two clauses of one title) and
the procurer compares the two drafts; afterwards the page's verification shows both signatures
intact and trusted, with both credit codes.

The contract is made through the domain command from made-up facts in a thread of its own (as
tests/contracts/test_http.py does: the contract's creation from an award is
tests/contracts/test_from_award.py); everything the parties do is in the page.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from asgi_lifespan import LifespanManager
from playwright.sync_api import Page, expect

from contracts.services import load_authority
from contracts.store import create_contract
from contracts.verify import verify_contract
from tests.browser import quality
from tests.browser.test_award import Browsers
from tests.browser.test_evaluation_report import make_second_signing_key
from tests.contracts.conftest import facts_for
from tests.support import Seed
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.events.log import Actor
from tradesys.services import Services
from tradesys.settings import Settings

pytestmark = pytest.mark.browser

PENALTY = "逾期一日按合同价的万分之五支付违约金。<b>加粗</b>"
PAYMENT = "按月计量，按已完工程量的 85% 支付。"


async def _contract(settings: Settings, clock: AdjustableClock, seed: Seed) -> int:
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(app):
        services: Services = app.state.services
        async with services.db.transaction() as session:
            contract = await create_contract(
                session, facts_for(seed.procurer, seed.bidder1), project_id=None,
                actor=Actor(user_id=seed.procurer.user_id), at=clock.now())
            return contract.id


def propose_second_draft(bidder: Page, contract_id: int) -> None:
    """The supplier's user edits the negotiable clauses on contract.html and submits draft 2:
    an empty clause and a repeated title are stopped in the page with nothing sent."""
    bidder.goto(f"/contract.html?id={contract_id}")
    form = bidder.locator("#draft-form")
    expect(form.locator(".clause-title")).to_have_count(1)
    expect(form.locator(".clause-title").first).to_have_value("工程款支付")
    sent: list[str] = []
    bidder.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    form.get_by_role("button", name="增加条款").click()
    form.get_by_role("button", name="提交新一稿").click()
    expect(form.locator("#clause-title-2-error")).to_have_text("请填写条款标题")
    expect(form.locator("#clause-text-2-error")).to_have_text("请填写条款内容")
    form.locator("#clause-title-2").fill("工程款支付")
    form.locator("#clause-text-2").fill(PENALTY)
    form.get_by_role("button", name="提交新一稿").click()
    expect(form.locator("#clause-title-2-error")).to_contain_text("条款标题「工程款支付」重复")
    assert sent == []
    quality.check(bidder, "contract-draft-refused")
    form.locator("#clause-title-2").fill("违约责任")
    form.locator(".clause-text").first.fill(PAYMENT)
    form.get_by_role("button", name="提交新一稿").click()
    expect(bidder.locator("#status")).to_contain_text("已提交第 2 稿")
    assert len(sent) == 1 and sent[0].endswith(f"/api/v1/contracts/{contract_id}/drafts")
    expect(bidder.locator("#draft-rows tr")).to_have_count(2)


def contract(settings: Settings, clock: AdjustableClock, seed: Seed) -> int:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _contract(settings, clock, seed)).result()


def certify_and_sign(page: Page, contract_id: int) -> None:
    """On contract.html: no certificate yet → ask for one for this browser's key → sign."""
    page.goto(f"/contract.html?id={contract_id}")
    expect(page.locator("#certificate-state")).to_contain_text("还没有有效的签名证书")
    expect(page.get_by_role("button", name="签名并签署合同")).to_be_hidden()
    page.get_by_role("button", name="申请签名证书").click()
    expect(page.locator("#status")).to_contain_text("签名证书已签发")
    expect(page.locator("#certificate-state")).to_contain_text("对应本浏览器中的签名密钥")
    page.get_by_role("button", name="签名并签署合同").click()


AMENDED_PENALTY = "逾期一日按合同价的万分之三支付违约金。"


def amend(bidder: Page, procurer: Page, contract_id: int) -> None:
    """合同变更 on contract.html: the bidder proposes (no change, and a fixed term, refused),
    signs first; the procurer signs; the amendment is in force."""
    form = bidder.locator("#amendment-form")
    expect(form).to_be_visible()
    sent: list[str] = []
    bidder.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    form.get_by_label("变更理由").fill("双方协商降低违约金比例")
    form.get_by_role("button", name="提交变更协议").click()
    expect(bidder.locator("#alert")).to_contain_text("条款没有任何变化")
    assert sent == []
    form.get_by_role("button", name="增加条款").click()
    form.locator(".clause-title").last.fill("合同价款")
    form.locator(".clause-text").last.fill("改为 30,000,000.00 元")
    form.get_by_role("button", name="提交变更协议").click()
    expect(bidder.locator("#alert")).to_contain_text("不得变更")  # the server's fixed_term
    assert len(sent) == 1
    form.locator(".remove-clause").last.click()
    row = form.locator(".clause-row", has=bidder.locator(".clause-title[value='违约责任']"))
    row.locator(".clause-text").fill(AMENDED_PENALTY)
    form.get_by_role("button", name="提交变更协议").click()
    expect(bidder.locator("#status")).to_contain_text("已提交第 1 号变更协议")
    rows = bidder.locator("#amendment-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(AMENDED_PENALTY)
    expect(form).to_be_hidden()  # one open amendment at a time
    bidder.get_by_role("button", name="签署第 1 号变更协议").click()
    expect(bidder.locator("#status")).to_contain_text("等待对方签署")
    procurer.goto(f"/contract.html?id={contract_id}")
    procurer.get_by_role("button", name="签署第 1 号变更协议").click()
    expect(procurer.locator("#status")).to_contain_text("变更已生效")
    expect(procurer.locator("#amendment-rows tr .amendment-state")).to_have_text(
        "已生效（双方签署）")
    quality.check(procurer, "contract-amended")


def test_both_parties_sign_the_contract_in_their_browsers(
        browser, settings: Settings, clock: AdjustableClock, seed: Seed) -> None:
    contract_id = contract(settings, clock, seed)
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        people = Browsers(browser, server)
        try:
            bidder = people.page(seed.bidder1)
            propose_second_draft(bidder, contract_id)

            procurer = people.page(seed.procurer, width=390, height=844)
            procurer.goto("/keys.html")
            make_second_signing_key(procurer)
            procurer.goto("/contract.html")
            procurer.get_by_role("link", name="AWD-2026-0001").click()
            expect(procurer.locator("#contract-state")).to_have_text("拟定中（未签署）")
            expect(procurer.locator("#contract-facts")).to_contain_text("35,200,000.00")
            expect(procurer.locator("#contract-facts")).to_contain_text("365 日历天")
            expect(procurer.locator("#draft-rows tr")).to_have_count(2)
            expect(procurer.locator("#clauses")).to_contain_text(PENALTY)  # as text
            # The differences between draft 1 and draft 2: one clause changed, one added.
            procurer.get_by_role("button", name="比较").click()
            expect(procurer.locator("#diff-summary")).to_contain_text(
                "第 1 稿 → 第 2 稿：2 处条款变化")
            changes = procurer.locator("#diff-list li")
            expect(changes.filter(has_text="修改条款「工程款支付」")).to_contain_text("80%")
            expect(changes.filter(has_text="修改条款「工程款支付」")).to_contain_text("85%")
            expect(changes.filter(has_text="新增条款「违约责任」")).to_contain_text(PENALTY)
            quality.check(procurer, "contract-drafts-compared")

            certify_and_sign(procurer, contract_id)
            expect(procurer.locator("#status")).to_contain_text("等待对方签署")
            expect(procurer.locator('#signature-rows tr[data-field="purchaser"]')).to_contain_text(
                "已签署")
            expect(procurer.locator("#contract-state")).to_have_text("签署中")
            expect(procurer.locator("#sign-step")).to_be_hidden()

            expect(procurer.locator("#draft-form")).to_be_hidden()  # signing has begun
            bidder.goto("/keys.html")
            make_second_signing_key(bidder)
            certify_and_sign(bidder, contract_id)
            expect(bidder.locator("#status")).to_contain_text("双方均已签署")
            expect(bidder.locator("#contract-state")).to_have_text("已签署（双方）")
            expect(bidder.locator("#signature-rows tr", has_text="已签署")).to_have_count(2)

            # Another bidder is no party: the page says so and shows nothing of the contract.
            stranger = people.page(seed.bidder2)
            stranger.goto(f"/contract.html?id={contract_id}")
            expect(stranger.locator("#contract-denied")).to_be_visible()
            expect(stranger.locator("#contract-page")).to_be_hidden()
            expect(stranger.locator("main")).not_to_contain_text("35,200,000.00")
            stranger.goto("/contract.html")
            expect(stranger.locator("#list-empty")).to_be_visible()

            bidder.get_by_role("button", name="验证合同签名").click()
            expect(bidder.locator("#verification-result")).to_contain_text(
                "验证通过：2 个签名完好、有效、可信")
            rows = bidder.locator("#verify-rows tr")
            expect(rows).to_have_count(2)
            expect(rows.nth(0)).to_contain_text(seed.procurer.credit_code)
            expect(rows.nth(1)).to_contain_text(seed.bidder1.credit_code)
            quality.check(bidder, "contract-signed-verified")
            amend(bidder, procurer, contract_id)
            href = bidder.locator("#contract-pdf").get_attribute("href")
            assert href is not None
            pdf = bidder.request.get(f"{server.url}/{href}")
            assert pdf.status == 200
            signed = pdf.body()
            assert signed.startswith(b"%PDF")
        finally:
            people.close()
        with httpx.Client(base_url=f"{server.url}/api/v1") as api:
            view = api.get(f"/contracts/{contract_id}", headers=seed.procurer.auth).json()
            mine = {party.key: api.get("/contracts/certificates", headers=party.auth).json()
                    for party in (seed.procurer, seed.bidder1)}
        assert people.problems == []
    assert view["state"] == "signed"
    assert [s["state"] for s in view["signatures"]] == ["signed", "signed"]
    # Each signature is by the certificate issued in the page for the key made in the page.
    for signature, party in zip(view["signatures"], (seed.procurer, seed.bidder1), strict=True):
        assert signature["certificate"] in {c["serial"] for c in mine[party.key]["items"]}
    # The stored file verifies offline (the same check as ``tradesys verify contract``).
    roots = load_authority(settings, clock.now()).trust_roots
    with ThreadPoolExecutor(1) as pool:  # playwright's loop runs on this thread
        report = pool.submit(verify_contract, signed, list(roots)).result()
    assert report.ok, report.reasons
    assert [s.credit_code for s in report.signers] == [seed.procurer.credit_code,
                                                        seed.bidder1.credit_code]
