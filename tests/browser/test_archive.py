"""电子档案 in chromium (archive.html, docs/ui.md): the procurer searches the archives — a
credit code with a wrong check character is stopped in the page, in Chinese, with no request
sent — finds the project's archive by its code and by a bidder's credit code and by its
build's Beijing day (a 止 day before the 起 day is stopped in the page too), opens it, reads
the index's Chinese titles, downloads one file (its SHA-256 is the one the index shows) and
runs 校验档案 (✓ and the counts). A bidder of the project has no 电子档案 in the nav and is
told, in Chinese, that the archive does not exist.

The archive (a failed tender, tests/archive/conftest.py ``failed_project``, archived once) is
made through the API and the builder in a thread of its own before the server the browser
talks to starts, as in test_award.py.
"""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from playwright.sync_api import Browser, Request, expect

from archive.builder import Built, build_archive
from tests.archive.conftest import config_of, failed_project
from tests.browser import quality
from tests.browser.test_award import Browsers
from tests.evaluation.conftest import Pool, new_user, save_profile
from tests.support import Flow, Seed
from tradesys.app import create_app
from tradesys.clock import DISPLAY_TZ, AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings

pytestmark = pytest.mark.browser


async def _archived(settings: Settings, clock: AdjustableClock, seed: Seed) -> tuple[int, Built]:
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(app):
        services = app.state.services
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            flow = Flow(client, seed, clock.now())
            experts = [seed.expert] + [await new_user(client, seed.admin, f"expert_r{n}",
                                                      "expert") for n in range(5)]
            for expert in experts:
                await save_profile(client, seed.admin, expert)
            ended = await failed_project(client, flow, seed, clock, app,
                                         Pool(experts, {}, experts[0]))
            built = await build_archive(services.db, clock, config_of(services),
                                        ended.project_id)
            listed = await client.get("/api/v1/archives", headers=seed.admin.auth)
            archive_id = listed.json()["items"][0]["id"]
    return archive_id, built


def archived(settings: Settings, clock: AdjustableClock, seed: Seed) -> tuple[int, Built]:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _archived(settings, clock, seed)).result()


def test_the_procurer_finds_opens_downloads_and_verifies_the_archive(
        browser: Browser, settings: Settings, clock: AdjustableClock, seed: Seed,
        tmp_path: Path) -> None:
    archive_id, built = archived(settings, clock, seed)
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=seed.admin.auth) as api:
            view = api.get(f"/archives/{archive_id}").json()
        code = view["project"]["code"]
        people = Browsers(browser, server)
        try:
            procurer = people.page(seed.procurer)
            nav = procurer.get_by_role("navigation", name="主导航")
            nav.get_by_role("link", name="电子档案").click()
            expect(procurer.get_by_role("heading", name="档案检索")).to_be_visible()
            rows = procurer.locator("#list-rows tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text(code)
            expect(rows.first).to_contain_text("第 1 版")
            expect(rows.first).to_contain_text("定期10年")
            expect(rows.first).to_contain_text(built.sha256)
            quality.check(procurer, "archive-list")

            # A credit code with a wrong check character: stopped in the page, nothing sent.
            sent: list[str] = []

            def on_request(request: Request) -> None:
                if "/api/v1/archives" in request.url:
                    sent.append(request.url)

            procurer.on("request", on_request)
            good = seed.bidder1.credit_code
            wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
            form = procurer.get_by_role("search")
            form.get_by_label("统一社会信用代码").fill(wrong)
            form.get_by_role("button", name="检索").click()
            credit = form.get_by_label("统一社会信用代码")
            expect(credit).to_have_attribute("aria-invalid", "true")
            expect(procurer.locator("#search-credit-error")).to_have_text(
                "统一社会信用代码不正确：须为 18 位，校验位须相符")
            expect(credit).to_be_focused()
            quality.check(procurer, "archive-search-invalid-credit-code")
            # A project code with a space: stopped too.
            form.get_by_label("项目编号").fill("E 1")
            form.get_by_role("button", name="检索").click()
            expect(procurer.locator("#search-code-error")).to_have_text(
                "项目编号只含字母、数字和 _ . -，最多 40 个字符")
            procurer.wait_for_timeout(300)
            assert sent == []

            # Corrected (lower case is the same code): the search runs and finds the archive.
            credit.fill(good.lower())
            expect(procurer.locator("#search-credit-error")).to_have_count(0)
            form.get_by_label("项目编号").fill(code)
            form.get_by_role("button", name="检索").click()
            expect(procurer.get_by_role("status")).to_contain_text("找到 1 个档案")
            assert len(sent) == 1 and f"credit_code={good}" in sent[0] and f"code={code}" in sent[0]
            expect(rows).to_have_count(1)
            # Another project's code finds nothing.
            form.get_by_label("项目编号").fill("E000000000000000")
            form.get_by_role("button", name="检索").click()
            expect(procurer.locator("#list-empty")).to_be_visible()
            form.get_by_role("button", name="清除条件").click()
            expect(rows).to_have_count(1)

            # By 归档日期, Beijing days: the build's day finds it, the day after does not; a
            # 止 before the 起 is told in the page, nothing sent.
            day = datetime.fromisoformat(view["built_at"]).astimezone(DISPLAY_TZ).date()
            form.get_by_label("归档日期（起）").fill(day.isoformat())
            form.get_by_label("归档日期（止）").fill(day.isoformat())
            form.get_by_role("button", name="检索").click()
            expect(procurer.get_by_role("status")).to_contain_text("找到 1 个档案")
            form.get_by_label("归档日期（起）").fill((day + timedelta(days=1)).isoformat())
            before = len(sent)
            form.get_by_role("button", name="检索").click()
            expect(procurer.locator("#search-to-error")).to_have_text(
                "归档日期（止）不能早于归档日期（起）")
            procurer.wait_for_timeout(300)
            assert len(sent) == before
            form.get_by_label("归档日期（止）").fill((day + timedelta(days=1)).isoformat())
            form.get_by_role("button", name="检索").click()
            expect(procurer.locator("#list-empty")).to_be_visible()
            assert len(sent) == before + 1
            form.get_by_role("button", name="清除条件").click()
            expect(rows).to_have_count(1)

            # One archive: metadata, the index in Chinese, a file downloaded, the verifier.
            procurer.get_by_role("link", name=f"查阅 {view['project']['name']}（{code}） "
                                 "第 1 版档案").click()
            expect(procurer.get_by_role("heading", name="著录信息")).to_be_visible()
            facts = procurer.locator("#archive-facts")
            expect(facts).to_contain_text(code)
            expect(facts).to_contain_text(seed.procurer.credit_code)
            expect(facts).to_contain_text(seed.bidder1.credit_code)
            expect(procurer.locator("#archive-retention")).to_contain_text("定期10年")
            expect(procurer.locator("#section-rows")).to_contain_text("流标")
            index = procurer.locator("#index-rows tr")
            expect(index).to_have_count(len(view["files"]))
            titles = procurer.locator("#index-rows .file-title").all_inner_texts()
            assert titles == [f["title"] for f in view["files"]]
            assert "档案著录信息" in titles
            quality.check(procurer, "archive-detail")

            chosen = next(f for f in view["files"] if f["title"] == "档案著录信息")
            line = procurer.locator(f'#index-rows tr[data-path="{chosen["path"]}"]')
            shown = line.locator(".hash").inner_text()
            with procurer.expect_download() as info:
                line.get_by_role("link", name=f"下载「{chosen['title']}」").click()
            saved = tmp_path / "downloaded"
            info.value.save_as(saved)
            assert hashlib.sha256(saved.read_bytes()).hexdigest() == shown == chosen["sha256"]
            assert saved.read_bytes() == (built.path / chosen["path"]).read_bytes()
            tar = procurer.get_by_role("link", name="下载完整档案（tar）")
            assert tar.get_attribute("href") == f"api/v1/archives/{archive_id}/download"

            procurer.get_by_role("button", name="校验档案").click()
            result = procurer.locator("#verification-result")
            expect(result).to_contain_text("✓ 校验通过", timeout=60_000)
            expect(procurer.locator("#verification-failures")).to_have_count(0)
            counts = procurer.locator("#checked-rows tr")
            expect(counts.filter(has_text="文件")).to_contain_text(str(built.payload_files))
            expect(counts.filter(has_text="时间戳")).to_be_visible()
            quality.check(procurer, "archive-verified")

            # A bidder of the project: no 电子档案 in the nav; the archive "does not exist".
            bidder = people.page(seed.bidder1)
            expect(bidder.get_by_role("navigation", name="主导航").get_by_role(
                "link", name="电子档案")).to_be_hidden()
            bidder.goto(f"/archive.html?id={archive_id}")
            expect(bidder.locator("#archive-missing")).to_have_text(
                "档案不存在，或您无权查阅该档案。")
            expect(bidder.locator("#archive-page")).to_be_hidden()
            expect(bidder.locator("main")).not_to_contain_text(code)
            quality.check(bidder, "archive-not-found")
        finally:
            people.close()
        assert people.problems == []
