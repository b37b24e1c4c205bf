"""The evaluation report (评标报告) in chromium: the host's page shows the drafted report's
ranked candidates and every member's signature as 待签; each member makes a signing key on
keys.html, and on evaluate.html one first records a dissent (its markup shown as text), then
all sign with their browser keys; the host's page then shows every member 已签, the report
final, and its PDF link answers a PDF. A second test drafts the report in the host's page and,
after the signing period, records a silent member's refusal there (记录拒签).

The state before (a section scored, and for the first test its report drafted, nobody signed)
is made through the API by the award tests' helpers in a thread of their own, as in
test_award.py.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from playwright.sync_api import Browser, Page, expect

from tests.award.conftest import Reported, Scored, drafted_report, scored_section
from tests.browser import quality
from tests.browser.test_award import Browsers
from tests.browser.test_bid import PASSWORD
from tests.evaluation.conftest import Pool, new_user, save_profile
from tests.support import Flow, Seed
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.documents import evaluation_report as documents
from tradesys.opening import confirmation
from tradesys.settings import Settings

pytestmark = pytest.mark.browser


async def _prepared(settings: Settings, clock: AdjustableClock, seed: Seed,
                    draft: bool) -> Scored:
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            flow = Flow(client, seed, clock.now())
            experts = [seed.expert] + [await new_user(client, seed.admin, f"expert_r{n}",
                                                      "expert") for n in range(5)]
            for expert in experts:
                await save_profile(client, seed.admin, expert)
            prepare = drafted_report if draft else scored_section
            return await prepare(client, flow, seed, clock, app, Pool(experts, {}, experts[0]))


def drafted(settings: Settings, clock: AdjustableClock, seed: Seed) -> Reported:
    with ThreadPoolExecutor(1) as pool:
        state = pool.submit(asyncio.run, _prepared(settings, clock, seed, True)).result()
    assert isinstance(state, Reported)
    return state


def scored(settings: Settings, clock: AdjustableClock, seed: Seed) -> Scored:
    """Every member has reviewed and scored; the report is not drafted yet."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _prepared(settings, clock, seed, False)).result()


def make_second_signing_key(page: Page) -> None:
    """On keys.html: a new signing key, its backup downloaded, then registered (the member
    already has one from the set-up, whose private half this browser does not hold)."""
    form = page.get_by_role("form", name="生成签名密钥")
    form.get_by_label("备份密码", exact=True).fill(PASSWORD)
    form.get_by_label("再次输入备份密码").fill(PASSWORD)
    form.get_by_role("button", name="生成签名密钥").click()
    expect(page.get_by_role("heading", name="新签名密钥已生成")).to_be_focused()
    with page.expect_download():
        page.get_by_role("link", name="下载签名密钥备份文件").click()
    page.get_by_role("button", name="登记签名公钥").click()
    expect(page.get_by_role("status")).to_contain_text("公钥已登记（签名密钥（电子签名））")
    expect(page.locator("#key-rows tr", has_text="已保存在本浏览器")).to_have_count(1)


def test_members_sign_the_report_and_the_host_sees_it_final(
        browser: Browser, settings: Settings, clock: AdjustableClock, seed: Seed) -> None:
    state = drafted(settings, clock, seed)
    section_id = state.section_id
    names = {b["credit_code"]: b["name"] for b in state.report["bidders"]}
    candidates = [c["credit_code"] for c in state.report["candidates"]]
    seat_of = {m.user_id: c["member_id"] for m, c in zip(state.members,
                                                         state.report["committee"],
                                                         strict=True)}
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        people = Browsers(browser, server)
        try:
            host = people.page(seed.agency)
            host.goto(f"/evaluation.html?section={section_id}")
            expect(host.locator("#report-state")).to_contain_text(
                f"已签 0 人，待签 {len(state.members)} 人")
            rows = host.locator("#report-candidates tr")
            expect(rows).to_have_count(len(candidates))
            for n, code in enumerate(candidates):
                expect(rows.nth(n)).to_contain_text(f"第 {n + 1} 名")
                expect(rows.nth(n)).to_contain_text(names[code])
            signatures = host.locator("#signature-rows tr")
            expect(signatures).to_have_count(len(state.members))
            expect(signatures.filter(has_text="待签")).to_have_count(len(state.members))
            expect(host.get_by_role("button", name="起草评标报告")).to_be_hidden()
            quality.check(host, "evaluation-host-report-drafted")

            dissent = "第一名工期偏长<img src=x onerror=alert(1)>"
            for n, member in enumerate(state.members):
                page = people.page(member, width=390, height=844)
                page.goto("/keys.html")
                make_second_signing_key(page)
                page.goto(f"/evaluate.html?section={section_id}")
                expect(page.locator("#report-state")).to_contain_text("您尚未签署")
                if n == 0:
                    # An empty dissent is stopped in the page; then one with its reasons.
                    page.get_by_role("button", name="提交不同意见").click()
                    expect(page.locator("#dissent-opinion")).to_have_attribute(
                        "aria-invalid", "true")
                    page.get_by_label("不同意见", exact=True).fill(dissent)
                    page.get_by_label("理由", exact=True).fill("工期超过招标文件要求")
                    page.get_by_role("button", name="提交不同意见").click()
                    expect(page.locator("#status")).to_contain_text("不同意见已写入评标报告")
                    expect(page.locator("#report-state")).to_contain_text(dissent)
                    quality.check(page, "evaluate-report-dissent")
                else:  # someone has signed: the report can no longer change
                    expect(page.get_by_role("button", name="提交不同意见")).to_be_hidden()
                page.get_by_role("button", name="签名并签署评标报告").click()
                expect(page.locator("#status")).to_contain_text("您已用本人的签名密钥签署评标报告")
                expect(page.locator("#report-state")).to_contain_text("您已签署")
                expect(page.locator("#report-actions")).to_be_hidden()
                if n == 0:
                    host.get_by_role("button", name="刷新评标报告").click()
                    seat = seat_of[member.user_id]
                    row = host.locator(f'#signature-rows tr[data-member="{seat}"]')
                    expect(row).to_contain_text("已签")
                    expect(row).to_contain_text(dissent)  # as text, not markup
                    expect(host.locator("#report-state")).to_contain_text("已签 1 人")
                page.context.close()

            host.get_by_role("button", name="刷新评标报告").click()
            expect(host.locator("#report-state")).to_contain_text("评标报告已定稿")
            expect(signatures.filter(has_text="已签")).to_have_count(len(state.members))
            expect(signatures.filter(has_text="待签")).to_have_count(0)
            quality.check(host, "evaluation-host-report-final")
            link = host.get_by_role("link", name="评标报告 PDF（在新窗口打开）")
            href = link.get_attribute("href")
            assert href is not None
            pdf = host.request.get(f"{server.url}/{href}")
            assert pdf.status == 200
            assert pdf.headers["content-type"] == "application/pdf"
            assert pdf.body().startswith(b"%PDF")
        finally:
            people.close()
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=seed.agency.auth) as api:
            view = api.get(f"/sections/{section_id}/evaluation/report").json()
        assert people.problems == []
    assert view["final"] is True
    signed = view["report"]["signatures"]
    assert [s["status"] for s in signed] == ["signed"] * len(state.members)
    # Signed with the keys made in the browsers, not the ones the set-up registered.
    assert not {s["key_id"] for s in signed} & {k.key_id for k in state.keys.values()}
    assert [d["opinion"] for d in view["report"]["dissent"]] == [dissent]


def test_the_host_drafts_the_report_and_records_a_silent_members_refusal(
        browser: Browser, settings: Settings, clock: AdjustableClock, seed: Seed) -> None:
    """The host drafts the report in the page; four members sign (through the API: signing in
    the page is the test above); the fifth neither signs nor dissents. No 记录拒签 button while
    the signing period runs; once the server's clock is past it, the host records the refusal in
    the page and the report is final, the member shown as 拒签 (taken to agree, 条例 Art. 53).
    The host works at phone width throughout."""
    state = scored(settings, clock, seed)
    section_id = state.section_id
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        people = Browsers(browser, server)
        api = httpx.Client(base_url=f"{server.url}/api/v1")
        try:
            host = people.page(seed.agency, width=390, height=844)
            host.goto(f"/evaluation.html?section={section_id}")
            expect(host.locator("#report")).to_contain_text("尚未起草评标报告")
            host.get_by_role("button", name="起草评标报告").click()
            expect(host.locator("#status")).to_contain_text("评标报告已起草")
            expect(host.locator("#report-state")).to_contain_text(
                f"已签 0 人，待签 {len(state.members)} 人")
            expect(host.get_by_role("button", name="起草评标报告")).to_be_hidden()
            expect(host.locator("#sign-until")).to_contain_text("届满后")

            url = f"/sections/{section_id}/evaluation/report"
            view = api.get(url, headers=seed.agency.auth).json()
            report = view["report"]
            for member, entry in zip(state.members[:-1], report["committee"], strict=False):
                message = documents.signing_message(report, entry["member_id"])
                key = state.keys[member.user_id]
                answer = api.post(f"{url}/signatures", headers=member.auth, json={
                    "key_id": key.key_id,
                    "signature": confirmation.sign(key.private_key, message)})
                assert answer.status_code == 200, answer.text
            seat, silent = report["committee"][-1]["member_id"], report["committee"][-1]["name"]
            host.get_by_role("button", name="刷新评标报告").click()
            expect(host.locator("#report-state")).to_contain_text(
                f"已签 {len(state.members) - 1} 人，待签 1 人")
            row = host.locator(f'#signature-rows tr[data-member="{seat}"]')
            expect(row).to_contain_text("待签")
            expect(host.locator("button.refuse")).to_have_count(0)  # the period still runs

            # The next day (the host's login session of yesterday has expired): the period
            # is over by the server's clock.
            clock.advance(timedelta(hours=24))
            host.context.close()
            host = people.page(seed.agency, width=390, height=844)
            host.goto(f"/evaluation.html?section={section_id}")
            row = host.locator(f'#signature-rows tr[data-member="{seat}"]')
            expect(host.locator("#sign-until")).to_contain_text("已届满")
            refuse = host.get_by_role("button", name=f"记录{silent}拒签（视为同意）")
            expect(refuse).to_be_visible()
            expect(host.locator("button.refuse")).to_have_count(1)  # the signed have none
            quality.check(host, "evaluation-host-report-refusable")
            refuse.click()
            expect(host.locator("#status")).to_contain_text("已记录该成员拒签")
            expect(host.locator("#report-state")).to_contain_text("评标报告已定稿")
            expect(row).to_contain_text("拒签（未陈述理由，视为同意）")
            expect(host.locator("button.refuse")).to_have_count(0)
            quality.check(host, "evaluation-host-report-refused")
            final = api.get(url, headers=seed.agency.auth).json()
        finally:
            api.close()
            people.close()
        assert people.problems == []
    assert final["final"] is True
    statuses = {s["member_id"]: s["status"] for s in final["report"]["signatures"]}
    assert statuses[seat] == "refused"
    assert sorted(statuses.values()) == ["refused"] + ["signed"] * (len(state.members) - 1)
