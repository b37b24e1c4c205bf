"""The expert workbench (evaluate.html) in chromium: a drawn expert makes a signing key on
keys.html in the page, finds the section among their panels, sees the opened bids with their
flags, records review verdicts, is stopped in Chinese by a score out of range with nothing
sent, then signs and submits the sheet; the SHA-256 shown is the server's, and it is the hash
of exactly the document the expert signed (re-built here in Python).

The state before the committee (a section opened in the hall, its committee drawn) is made
through the API by the scoring tests' helpers, in a thread of its own (Playwright's sync API
holds the main thread's event loop), before the server the browser talks to starts.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager
from playwright.sync_api import Browser, Request, expect

from tests.browser import quality
from tests.browser.conftest import BROWSER_TIMEZONE
from tests.browser.test_hall import make_signing_key
from tests.browser.test_ui import log_in
from tests.evaluation.conftest import Pool, new_user, save_profile
from tests.evaluation.scoring import COMPREHENSIVE, Opened, draw_committee, opened_section
from tests.evaluation.test_scoring_api import PRICES
from tests.support import Flow, Party, Seed, project_body
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.evaluation import sheets
from tradesys.settings import Settings

pytestmark = pytest.mark.browser


@dataclass
class Evaluating:
    opened: Opened
    members: list[Party]
    scheme_sha256: str


async def _evaluating(settings: Settings, clock: AdjustableClock, seed: Seed,
                      draw: bool, ask: bool = False) -> Evaluating:
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            flow = Flow(client, seed, clock.now())
            experts = [seed.expert] + [await new_user(client, seed.admin, f"expert_w{n}",
                                                      "expert") for n in range(5)]
            for expert in experts:
                await save_profile(client, seed.admin, expert)
            opened = await opened_section(client, flow, seed, clock, app, PRICES, COMPREHENSIVE)
            members = await draw_committee(client, seed, Pool(experts, {}, experts[0]),
                                           opened.section_id) if draw else []
            if ask:  # an explanation of bidder4's low price, a clarification of its bid
                url = (f"/api/v1/sections/{opened.section_id}/evaluation/bids/"
                       f"{opened.bids['bidder4']}")
                for path, who, question in [("explanation", members[0], "请说明报价明显偏低的原因"),
                                            ("clarifications", seed.agency, "请澄清工期")]:
                    asked = await client.post(f"{url}/{path}", headers=who.auth,
                                              json={"question": question})
                    assert asked.status_code == 201, asked.text
            scheme = (await client.get(f"/api/v1/sections/{opened.section_id}/evaluation/scheme",
                                       headers=seed.agency.auth)).json()
    return Evaluating(opened, members, scheme["sha256"])


def evaluating(settings: Settings, clock: AdjustableClock, seed: Seed, *, draw: bool = True,
               ask: bool = False) -> Evaluating:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _evaluating(settings, clock, seed, draw, ask)).result()


SCORES = {"bidder1": ("30", "15", "8"), "bidder2": ("28.5", "14", "7"),
          "bidder3": ("35", "18", "9"), "bidder4": ("20", "10", "5")}


def test_an_expert_reviews_and_signs_a_score_sheet(
        browser: Browser, settings: Settings, clock: AdjustableClock, seed: Seed) -> None:
    state = evaluating(settings, clock, seed)
    expert = next(m for m in state.members if m.role == "expert")
    bids = state.opened.bids
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        context = browser.new_context(base_url=server.url, locale="zh-CN",
                                      timezone_id=BROWSER_TIMEZONE,
                                      viewport={"width": 390, "height": 844})  # a phone
        context.set_default_timeout(15_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        sent: list[Request] = []
        page.on("request", lambda r: sent.append(r) if "score-sheets" in r.url else None)

        log_in(page, expert.username, expert.password)
        expect(page.locator("#whoami")).to_contain_text("专家")
        nav = page.get_by_role("navigation", name="主导航")
        nav.get_by_role("link", name="加密密钥与签名密钥").click()
        expect(page.get_by_role("heading", name="生成签名密钥")).to_be_visible()
        make_signing_key(page)

        nav.get_by_role("link", name="评标工作台").click()
        page.get_by_role("link", name=re.compile(state.opened.section_code)).click()
        expect(page).to_have_url(re.compile(rf"evaluate\.html\?section={state.opened.section_id}$"))
        table = page.locator("#bid-rows")
        expect(table.locator("tr")).to_have_count(4)
        low = table.locator("tr", has_text="5,000,000.00 元")
        expect(low).to_contain_text("异常低价")
        expect(table.locator("tr", has_text="9,050,000.00 元")).not_to_contain_text("异常低价")

        # Review: a verdict without a reason is stopped in the page; then one bid, all items.
        group = page.locator(f'#review-items fieldset[data-bid="{bids["bidder1"]}"]')
        group.locator('fieldset[data-item="qualified"]').get_by_label("通过", exact=True).check()
        page.get_by_role("button", name="提交审查结论").click()
        expect(group.locator('fieldset[data-item="qualified"] .field-error')).to_have_text(
            "请写明该项结论的理由")
        for item in ("signed_sealed", "qualified", "single_offer", "responsive"):
            box = group.locator(f'fieldset[data-item="{item}"]')
            box.get_by_label("通过", exact=True).check()
            box.locator("textarea").fill("符合招标文件要求")
        page.get_by_role("button", name="提交审查结论").click()
        expect(page.locator("#status")).to_contain_text("已提交 4 项审查结论")

        # Scores: one out of its range is refused in Chinese, nothing signed, nothing sent.
        for key, values in SCORES.items():
            for criterion, value in zip(("T1", "T2", "B1"), values, strict=True):
                page.locator(f'#s-{bids[key]}-{criterion}').fill(value)
        expect(page.locator(f'#t-{bids["bidder2"]}')).to_have_text("合计：49.50 分（不含价格分）")
        page.locator(f'#s-{bids["bidder1"]}-B1').fill("1.5")
        page.get_by_role("button", name="签名并提交评分表").click()
        expect(page.locator(f'#s-{bids["bidder1"]}-B1-error')).to_have_text(
            "类似业绩的分值须在 2 至 10 分之间")
        expect(page.locator("#alert")).to_contain_text("评分表未签名，也未提交")
        assert sent == []

        page.locator(f'#s-{bids["bidder1"]}-B1').fill("8")
        page.get_by_role("button", name="签名并提交评分表").click()
        expect(page.get_by_role("heading", name="评分表已提交")).to_be_focused()
        shown = page.locator("#sheet-sha").text_content()
        expect(page.locator("#status")).to_contain_text("摘要与本机签名的内容一致")
        assert len(sent) == 1
        quality.check(page, "evaluate-sheet-signed")
        context.close()

    scores = {bids[k]: dict(zip(("T1", "T2", "B1"), v, strict=True)) for k, v in SCORES.items()}
    document = sheets.message(state.opened.section_code, state.scheme_sha256, expert.user_id,
                              scores)
    assert shown == hashlib.sha256(document).hexdigest()
    assert problems == []


def test_the_host_sets_the_scheme_and_draws_the_committee(
        browser: Browser, settings: Settings, clock: AdjustableClock, seed: Seed) -> None:
    state = evaluating(settings, clock, seed, draw=False)
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        api = httpx.Client(base_url=f"{server.url}/api/v1", headers=seed.agency.auth, timeout=10)
        registered = api.post("/projects", json=project_body(seed.procurer))
        assert registered.status_code == 201, registered.text
        fresh = registered.json()["sections"][0]["id"]
        context = browser.new_context(base_url=server.url, locale="zh-CN",
                                      timezone_id=BROWSER_TIMEZONE,
                                      viewport={"width": 390, "height": 844})
        context.set_default_timeout(15_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        puts: list[Request] = []
        page.on("request", lambda r: puts.append(r) if r.method == "PUT" else None)
        log_in(page, seed.agency.username, seed.agency.password)
        expect(page.locator("#whoami")).to_be_visible()

        # The scheme of a registered section: 30 + 40 + 29 is not 100, refused in the page.
        page.goto(f"/evaluation.html?section={fresh}")
        expect(page.locator("#scheme-current")).to_contain_text("尚未设置评标办法")
        page.get_by_label("价格分（分）").fill("30")
        first = page.locator("#criteria fieldset").nth(0)
        first.get_by_label("编号").fill("T1")
        first.get_by_label("名称").fill("技术方案")
        first.get_by_label("满分").fill("40")
        page.get_by_role("button", name="添加评分项").click()
        second = page.locator("#criteria fieldset").nth(1)
        second.get_by_label("编号").fill("B1")
        second.get_by_label("名称").fill("类似业绩")
        second.get_by_label("类别").select_option(label="商务")
        second.get_by_label("最低分").fill("2")
        second.get_by_label("满分").fill("29")
        expect(page.locator("#sum-line")).to_contain_text("合计：99.00 分")
        page.get_by_role("button", name="保存评标办法").click()
        expect(page.locator("#sc-weight-error")).to_have_text(
            "价格分与各评分项满分合计须为 100 分（现为 99.00 分）")
        assert puts == []
        second.get_by_label("满分").fill("30")
        page.get_by_role("button", name="保存评标办法").click()
        expect(page.locator("#status")).to_contain_text("评标办法已保存")
        expect(page.locator("#scheme-current")).to_contain_text(
            "综合评估法，价格分 30 分，评分项 2 项")
        scheme = api.get(f"/sections/{fresh}/evaluation/scheme").json()
        assert (scheme["method"], scheme["price_weight"]) == ("comprehensive", "30")
        assert [(c["id"], c["category"], c["min_score"], c["max_score"])
                for c in scheme["criteria"]] == [("T1", "technical", "0", "40"),
                                                 ("B1", "business", "2", "30")]

        # The committee of the opened section: a broken composition, then the draw.
        page.goto(f"/evaluation.html?section={state.opened.section_id}")
        expect(page.locator("#members-empty")).to_have_text("尚未抽取评标委员会。")
        page.get_by_label("委员会人数").fill("4")
        page.get_by_label("专业代码").fill("A01")
        page.get_by_label("招标人代表（用户编号，选填）").fill(str(seed.procurer.user_id))
        page.get_by_role("button", name="抽取评标委员会").click()
        expect(page.locator("#alert")).not_to_be_empty()
        assert api.get(f"/sections/{state.opened.section_id}/panel").json()["members"] == []
        page.get_by_label("委员会人数").fill("5")
        page.get_by_role("button", name="抽取评标委员会").click()
        expect(page.locator("#status")).to_contain_text("已抽取评标委员会（5 人）")
        rows = page.locator("#member-rows tr")
        expect(rows).to_have_count(5)
        expect(rows.filter(has_text="招标人代表")).to_have_count(1)
        members = api.get(f"/sections/{state.opened.section_id}/panel").json()["members"]
        names = page.locator("#member-rows td:nth-child(2)").all_text_contents()
        assert sorted(names) == sorted(m["name"] for m in members)
        # Progress: outstanding work, nobody's scores.
        expect(page.locator("#progress")).to_contain_text("尚缺审查结论")
        expect(page.locator("#progress")).to_contain_text("第 1、2、3、4、5 席")
        quality.check(page, "evaluation-host-committee")
        context.close()
        api.close()
    assert problems == []


def test_the_bidder_answers_the_explanation_and_the_clarification(
        browser: Browser, settings: Settings, clock: AdjustableClock, seed: Seed) -> None:
    state = evaluating(settings, clock, seed, ask=True)
    bidder = seed.bidder4
    base = f"/sections/{state.opened.section_id}/evaluation/bids/{state.opened.bids['bidder4']}"
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        context = browser.new_context(base_url=server.url, locale="zh-CN",
                                      timezone_id=BROWSER_TIMEZONE,
                                      viewport={"width": 390, "height": 844})
        context.set_default_timeout(15_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        # Another bidder's page shows nothing of it.
        log_in(page, seed.bidder1.username, seed.bidder1.password)
        expect(page.locator("#whoami")).to_be_visible()
        page.goto(f"/bid.html?section={state.opened.section_id}")
        expect(page.locator("#replies-step")).to_be_hidden()
        page.get_by_role("button", name="退出").click()
        expect(page).to_have_url(re.compile(r"index\.html$"))

        log_in(page, bidder.username, bidder.password)
        expect(page.locator("#whoami")).to_be_visible()
        page.goto(f"/bid.html?section={state.opened.section_id}")
        replies = page.locator("#replies")
        expect(replies).to_contain_text("请说明报价明显偏低的原因")
        expect(replies).to_contain_text("请澄清工期")
        quality.check(page, "bid-replies")
        page.get_by_role("button", name="提交答复").first.click()
        expect(page.get_by_label("书面说明")).to_have_attribute("aria-invalid", "true")
        page.get_by_label("书面说明").fill("自有工厂，材料成本低")
        page.get_by_role("button", name="提交答复").first.click()
        expect(page.locator("#status")).to_contain_text("书面说明已提交")
        page.get_by_label("澄清答复").fill("工期 300 日历天")
        page.get_by_role("button", name="提交答复").click()
        expect(page.locator("#status")).to_contain_text("澄清要求 1 的答复已提交")
        expect(page.get_by_role("button", name="提交答复")).to_have_count(0)
        context.close()
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=bidder.auth) as api:
            assert api.get(f"{base}/explanation").json()["answer"] == "自有工厂，材料成本低"
            assert [c["answer"] for c in api.get(f"{base}/clarifications").json()["items"]] == [
                "工期 300 日历天"]
    assert problems == []
