"""After the evaluation, in chromium (award.html, notice.html; docs/award.md §4–§7): the host
publishes the candidates of the final report; a bidder objects during the publicity (and is
refused in Chinese once it has ended); the procurer answers; the server's scheduler ends the
publicity when the test moves the clock past it; the host is stopped in the page when passing
over the first candidate without a reason, then awards the first; the winner downloads its
award notice (a PDF naming it) and a losing bidder its result notice; a visitor reads the
candidates and the result announcements on the public notice pages.

The state before (a section with a final, signed evaluation report) is made through the API by
the award tests' helpers, in a thread of its own (Playwright's sync API holds the main thread's
event loop), before the server the browser talks to starts, as in test_evaluate.py.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from tests.award.conftest import Reported, drafted_report, sign_all
from tests.browser import quality
from tests.browser.conftest import BROWSER_TIMEZONE
from tests.browser.test_ui import log_in
from tests.evaluation.conftest import Pool, new_user, save_profile
from tests.support import Flow, Party, Seed
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.formatting import short_instant
from tradesys.settings import Settings

pytestmark = pytest.mark.browser


async def _reported(settings: Settings, clock: AdjustableClock, seed: Seed) -> Reported:
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            flow = Flow(client, seed, clock.now())
            experts = [seed.expert] + [await new_user(client, seed.admin, f"expert_a{n}",
                                                      "expert") for n in range(5)]
            for expert in experts:
                await save_profile(client, seed.admin, expert)
            reported = await drafted_report(client, flow, seed, clock, app,
                                            Pool(experts, {}, experts[0]))
            await sign_all(client, reported)
    return reported


def _run(setup: Coroutine[Any, Any, Reported]) -> Reported:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, setup).result()


def reported(settings: Settings, clock: AdjustableClock, seed: Seed) -> Reported:
    return _run(_reported(settings, clock, seed))


class Browsers:
    """One browser context per person (each logged in on its own), all checked for script
    errors and dialogs (nothing in the UI opens one: a sign of injection)."""

    def __init__(self, browser: Browser, server: InProcessServer) -> None:
        self.browser, self.server = browser, server
        self.contexts: list[BrowserContext] = []
        self.problems: list[str] = []

    def page(self, party: Party | None, *, width: int = 1280, height: int = 900) -> Page:
        context = self.browser.new_context(base_url=self.server.url, locale="zh-CN",
                                           timezone_id=BROWSER_TIMEZONE, accept_downloads=True,
                                           viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("console", lambda m: self.problems.append(f"console: {m.text}") if (
            m.type == "error" and not m.text.startswith("Failed to load resource")) else None)
        page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        if party is not None:
            log_in(page, party.username, party.password)
            expect(page.locator("#whoami")).to_be_visible()
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def refreshed_until(page: Page, done: Callable[[], bool], timeout: float = 15.0) -> None:
    """Press 刷新 until the page shows what the server did on its own (the scheduler)."""
    give_up = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < give_up, "the page never showed the scheduler's step"
        page.get_by_role("button", name="刷新").click()
        page.wait_for_timeout(300)


def pdf_text(page: Page, link: str, folder: Path, name: str) -> str:
    with page.expect_download() as info:
        page.get_by_role("link", name=link).click()
    path = folder / name
    info.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_publicity_objection_award_and_notices(
        browser: Browser, settings: Settings, clock: AdjustableClock, seed: Seed,
        tmp_path: Path) -> None:
    state = reported(settings, clock, seed)
    section_id = state.section_id
    url = f"/award.html?section={section_id}"
    names = {b["credit_code"]: b["name"] for b in state.report["bidders"]}
    candidates = [c["credit_code"] for c in state.report["candidates"]]
    party_of = {p.credit_code: p for p in seed.parties.values() if p.role == "bidder"}
    winner, objector = party_of[candidates[0]], party_of[candidates[1]]
    outsider = party_of[next(c for c in names if c not in candidates)]
    # The server's scheduler runs (it ends the publicity), as in test_hall.py. Sessions outlive
    # the three days of the publicity, so that a page opened during it is still logged in after
    # it: the late objection it sends is the server's to refuse.
    app = create_app(replace(settings, scheduler_interval=0.2, session_ttl_seconds=4 * 86400),
                     clock=clock, run_scheduler=True)
    with InProcessServer(app) as server:
        people = Browsers(browser, server)
        try:
            # The host: the final report's candidates, then the publicity.
            host = people.page(seed.agency)
            host.goto(url)
            expect(host.locator("#award-stage")).to_have_text("评标报告已定稿，待发布中标候选人公示。")
            expect(host.locator("#award-title")).to_contain_text(state.opened.section_code)
            quality.check(host, "award-host-final")
            host.get_by_role("button", name="发布中标候选人公示").click()
            expect(host.locator("#status")).to_contain_text("中标候选人公示已发布")
            rows = host.locator("#candidate-rows tr")
            expect(rows).to_have_count(3)
            for n, code in enumerate(candidates):
                expect(rows.nth(n)).to_contain_text(f"第 {n + 1} 名")
                expect(rows.nth(n)).to_contain_text(names[code])
            ends = clock.now() + timedelta(days=3)
            shown = host.locator("#publicity-ends time")
            expect(shown).to_have_text(short_instant(ends))
            expect(host.get_by_role("button", name="发布中标候选人公示")).to_be_hidden()
            quality.check(host, "award-host-publicity")

            # A bidder of the section objects, on a phone; an empty objection stops in the page.
            sent: list[Request] = []
            bidder = people.page(objector, width=390, height=844)
            bidder.on("request", lambda r: sent.append(r) if r.method == "POST" and (
                "objections" in r.url) else None)
            bidder.goto(url)
            expect(bidder.locator("#mine-candidate")).to_have_text("第 2 名中标候选人")
            expect(bidder.locator("#mine-result")).to_have_text("未定标")
            bidder.get_by_role("button", name="提出异议").click()
            expect(bidder.locator("#ob-text-error")).to_have_text("请写明异议的内容与理由")
            assert sent == []
            text = "第一名的业绩证明不实<img src=x onerror=alert(1)>"
            bidder.get_by_label("异议内容").fill(text)
            bidder.get_by_role("button", name="提出异议").click()
            expect(bidder.locator("#status")).to_contain_text("异议已提交")
            expect(bidder.locator("#objection-1")).to_contain_text(text)  # as text, not markup
            expect(bidder.locator("#objection-1")).to_contain_text("尚未答复")
            quality.check(bidder, "award-bidder-objected")
            # Another bidder sees no one else's objection.
            other = people.page(outsider)
            other.goto(url)
            expect(other.locator("#mine-candidate")).to_have_text("不是中标候选人")
            expect(other.locator("#objections-empty")).to_be_visible()

            # The procurer answers it.
            procurer = people.page(seed.procurer)
            procurer.goto(url)
            item = procurer.locator("#objection-1")
            expect(item).to_contain_text(text)
            quality.check(procurer, "award-procurer-objection")
            expect(procurer.get_by_role("button", name="发布中标候选人公示")).to_be_hidden()
            item.get_by_label("对异议 1 的答复").fill("经核查，业绩证明属实，维持评标结果")
            item.get_by_role("button", name="答复异议 1").click()
            expect(procurer.locator("#status")).to_contain_text("已答复异议 1")
            expect(procurer.locator("#objection-1")).to_contain_text("答复：经核查")

            # Past the publicity: the scheduler ends it; a late objection is refused in Chinese.
            clock.advance(timedelta(days=3, seconds=1))
            # The other bidder's page, opened during the publicity, sends its objection late.
            late: list[Request] = []
            other.on("request", lambda r: late.append(r) if r.method == "POST" else None)
            other.get_by_label("异议内容").fill("迟到的异议")
            other.get_by_role("button", name="提出异议").click()
            expect(other.locator("#alert")).to_contain_text("公示期已结束，不能再提出异议")
            assert len(late) == 1
            quality.check(other, "award-bidder-objection-refused")
            refreshed_until(host, lambda: "已结束" in host.locator("#publicity-state")
                            .inner_text())
            expect(host.locator("#award-stage")).to_have_text("公示期已结束，待定标。")
            expect(host.locator("#objection-list > li")).to_have_count(1)
            bidder.reload()
            expect(bidder.locator("#mine-candidate")).to_have_text("第 2 名中标候选人")
            expect(bidder.get_by_role("button", name="提出异议")).to_be_hidden()
            expect(bidder.locator("#objection-1")).to_contain_text("答复：经核查")

            # The award: passing over the first without a reason stops in the page.
            awards: list[Request] = []
            host.on("request", lambda r: awards.append(r) if r.method == "POST" and (
                r.url.endswith("/award")) else None)
            form = host.locator("#award-form")
            expect(form.get_by_label("中标人")).to_have_value(candidates[0])
            quality.check(host, "award-host-ended")
            form.get_by_label("中标人").select_option(candidates[1])
            form.get_by_role("button", name="确定中标人").click()
            expect(host.locator("#aw-reason-error")).to_contain_text("须写明理由")
            assert awards == []
            form.get_by_label("中标人").select_option(candidates[0])
            form.get_by_role("button", name="确定中标人").click()
            expect(host.locator("#status")).to_contain_text("已定标")
            assert len(awards) == 1 and awards[0].post_data_json == {}
            expect(host.locator("#round-rows tr")).to_have_count(1)
            expect(host.locator("#round-rows tr")).to_contain_text(names[candidates[0]])
            expect(host.locator("#round-rows tr")).to_contain_text("已定标")
            notices = host.locator("#notice-rows tr")
            expect(notices).to_have_count(4)
            expect(notices.filter(has_text="中标通知书")).to_have_count(1)
            expect(notices.filter(has_text="中标结果通知书")).to_have_count(3)
            for n in range(4):
                assert re.fullmatch(r"[0-9a-f]{64}", notices.nth(n).locator("code").inner_text())
            expect(host.get_by_role("heading", name="记录中标人放弃中标")).to_be_visible()
            expect(host.locator("#award-form")).to_be_hidden()
            quality.check(host, "award-host-awarded")
            # The host makes the contract from the award (draft 1); a second time is refused.
            expect(host.locator("#contract-link")).to_be_hidden()  # the host is no party
            host.get_by_role("button", name="由中标结果生成合同").click()
            expect(host.locator("#status")).to_contain_text("合同已由中标结果生成（第 1 稿")
            host.get_by_role("button", name="由中标结果生成合同").click()
            expect(host.locator("#alert")).to_contain_text("该中标结果已生成合同")
            # The owner of an entrusted tender follows the award but is not its host.
            procurer.reload()
            expect(procurer.locator("#notice-rows tr")).to_have_count(4)
            expect(procurer.locator("#decline-form")).to_be_hidden()
            expect(procurer.locator("#award-form")).to_be_hidden()
            procurer.get_by_role("link", name="到“合同网签”查看、比较各稿并签署合同").click()
            expect(procurer.locator("#list-rows tr")).to_have_count(1)

            # The winner downloads its award notice; a losing bidder its result notice.
            won = people.page(winner, width=390, height=844)
            won.goto(url)
            expect(won.locator("#mine-result")).to_have_text("本单位中标")
            expect(won.locator("#contract-link")).to_be_visible()
            expect(won.locator("#make-contract")).to_be_hidden()
            quality.check(won, "award-winner")
            award_pdf = pdf_text(won, "下载中标通知书（PDF）", tmp_path, "award.pdf")
            assert "中标通知书" in award_pdf and names[candidates[0]] in award_pdf
            bidder.reload()
            expect(bidder.locator("#mine-result")).to_have_text("未中标")
            expect(bidder.locator("#contract-part")).to_be_hidden()
            expect(bidder.get_by_role("link", name="下载中标通知书（PDF）")).to_have_count(0)
            quality.check(bidder, "award-loser")
            result_pdf = pdf_text(bidder, "下载中标结果通知书（PDF）", tmp_path, "result.pdf")
            assert "中标结果通知书" in result_pdf and names[candidates[0]] in result_pdf
            assert names[candidates[1]] in result_pdf

            # A visitor: the candidates notice and the result announcement are public.
            visitor = people.page(None)
            visitor.goto("/index.html")
            rows = visitor.locator("#notice-rows tr")
            expect(rows.filter(has_text="中标候选人公示")).to_have_count(1)
            rows.filter(has_text="中标结果公告").get_by_role("link").click()
            expect(visitor.locator("#notice-kind")).to_have_text("中标结果公告")
            expect(visitor.locator("#notice-content")).to_contain_text(names[candidates[0]])
            expect(visitor.locator("#times-section")).to_be_hidden()
            quality.check(visitor, "notice-result")
            visitor.goto("/index.html")
            visitor.locator("#notice-rows tr").filter(has_text="中标候选人公示").get_by_role(
                "link").click()
            expect(visitor.locator("#notice-kind")).to_have_text("中标候选人公示")
            for code in candidates:
                expect(visitor.locator("#notice-content")).to_contain_text(names[code])
            quality.check(visitor, "notice-candidates")
        finally:
            people.close()
    assert people.problems == []


async def _failing(settings: Settings, clock: AdjustableClock, seed: Seed) -> Reported:
    """Lowest evaluated price, bidder3 failing the review: two compliant bids, fewer than the
    rule book's three, so the final report names no candidate (tests/award)."""
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            flow = Flow(client, seed, clock.now())
            experts = [seed.expert] + [await new_user(client, seed.admin, f"expert_f{n}",
                                                      "expert") for n in range(5)]
            for expert in experts:
                await save_profile(client, seed.admin, expert)
            failed = await drafted_report(client, flow, seed, clock, app,
                                          Pool(experts, {}, experts[0]),
                                          failing=frozenset({"bidder3"}), scheme=None)
            await sign_all(client, failed)
    return failed


def test_a_decline_then_the_next_candidate(
        browser: Browser, settings: Settings, clock: AdjustableClock, seed: Seed) -> None:
    state = reported(settings, clock, seed)
    url = f"/award.html?section={state.section_id}"
    names = {b["credit_code"]: b["name"] for b in state.report["bidders"]}
    candidates = [c["credit_code"] for c in state.report["candidates"]]
    party_of = {p.credit_code: p for p in seed.parties.values() if p.role == "bidder"}
    app = create_app(replace(settings, scheduler_interval=0.2, session_ttl_seconds=4 * 86400),
                     clock=clock, run_scheduler=True)
    with InProcessServer(app) as server:
        people = Browsers(browser, server)
        try:
            host = people.page(seed.agency, width=390, height=844)
            host.goto(url)
            host.get_by_role("button", name="发布中标候选人公示").click()
            expect(host.locator("#candidate-rows tr")).to_have_count(3)
            clock.advance(timedelta(days=3, seconds=1))
            refreshed_until(host, lambda: host.locator("#award-form").is_visible())
            host.get_by_role("button", name="确定中标人").click()
            expect(host.locator("#round-rows tr")).to_have_count(1)

            # The host records the winner's decline: a reason is required, in the page.
            declines: list[Request] = []
            host.on("request", lambda r: declines.append(r) if r.url.endswith("/decline")
                    else None)
            host.get_by_role("button", name="记录放弃中标").click()
            expect(host.locator("#dc-reason-error")).to_have_text("请写明中标人放弃中标的理由")
            assert declines == []
            host.get_by_label("中标人放弃中标的理由").fill("中标人书面放弃中标")
            host.get_by_role("button", name="记录放弃中标").click()
            expect(host.locator("#status")).to_contain_text("已记录放弃中标")
            first = host.locator("#round-rows tr").nth(0)
            expect(first).to_contain_text("已放弃中标")
            expect(first).to_contain_text("中标人书面放弃中标")
            # The next candidate is the default now; the declined one is no longer offered.
            form = host.locator("#award-form")
            expect(form.get_by_label("中标人")).to_have_value(candidates[1])
            expect(form.locator("option")).to_have_count(2)
            quality.check(host, "award-host-declined")
            form.get_by_role("button", name="确定中标人").click()
            second = host.locator("#round-rows tr").nth(1)
            expect(second).to_contain_text(names[candidates[1]])
            expect(second).to_contain_text("已定标")
            expect(host.locator("#notice-rows tr")).to_have_count(8)

            # The second winner sees it won; the first sees it did not.
            won = people.page(party_of[candidates[1]])
            won.goto(url)
            expect(won.locator("#mine-result")).to_have_text("本单位中标")
            expect(won.locator("#contract-link")).to_be_visible()
            expect(won.locator("#make-contract")).to_be_hidden()
            expect(won.get_by_role("link", name="下载中标通知书（PDF）")).to_have_count(1)
            lost = people.page(party_of[candidates[0]])
            lost.goto(url)
            expect(lost.locator("#mine-result")).to_have_text("未中标")
            expect(lost.locator("#mine-winner")).to_contain_text(names[candidates[1]])
        finally:
            people.close()
    assert people.problems == []


def test_a_report_without_candidates_is_recorded_as_a_failed_tender(
        browser: Browser, settings: Settings, clock: AdjustableClock, seed: Seed) -> None:
    state = _run(_failing(settings, clock, seed))
    url = f"/award.html?section={state.section_id}"
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        people = Browsers(browser, server)
        try:
            host = people.page(seed.agency)
            host.goto(url)
            expect(host.locator("#award-stage")).to_have_text("评标报告未推荐中标候选人，待记录招标失败。")
            expect(host.get_by_role("button", name="发布中标候选人公示")).to_be_hidden()
            quality.check(host, "award-host-no-candidates")
            host.get_by_role("button", name="记录招标失败").click()
            expect(host.locator("#status")).to_contain_text("已记录招标失败")
            expect(host.locator("#failed")).to_contain_text("有效投标不足")
            expect(host.get_by_role("button", name="记录招标失败")).to_be_hidden()
            quality.check(host, "award-host-failed")
            host.locator("#failed").get_by_role("link", name="查看招标失败公告").click()
            expect(host.locator("#notice-kind")).to_have_text("招标失败公告")
            expect(host.locator("#notice-content")).to_contain_text("招标失败")
            quality.check(host, "notice-failed")
        finally:
            people.close()
    assert people.problems == []
