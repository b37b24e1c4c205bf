"""The tendering period in the browser (tender.html), for each role, only through pages: a
bidder obtains the documents and sees its download logged, asks a question, reads the answer and
the amendment addressed to all, declares its bid security and sees it confirmed; the agency sees
the download log and the question list, answers, publishes an amendment (the 15-day rule's error
next to the new deadline, then moving the deadline), confirms the security after the deadline,
and terminates another tender with a reason. Results are read back through the API; nothing is
done through it after the setup.

SQLite only (see conftest.py). Time moves on the test's clock (``clock.advance``), never by
sleeping; a page is reloaded after a move so it reads the server's new time.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import quality
from tests.browser.support import Person, announced_project, api, person
from tests.browser.test_ui import log_in
from tests.support import Party, Seed
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer

pytestmark = pytest.mark.browser

DOCUMENT = b"%PDF-1.4\n% tender documents\n"


def logged_in(who: Person, party: Party) -> None:
    log_in(who.page, party.username, party.password)
    expect(who.page).to_have_url(re.compile(r"/projects\.html$"))


def later(clock: AdjustableClock, delta: timedelta, *people: tuple[Person, Party]) -> None:
    """Moves the server's clock; a session lasts 8 hours, so each person logs in again."""
    clock.advance(delta)
    for who, party in people:
        logged_in(who, party)


def open_tender(page: Page, project_id: int) -> None:
    page.goto(f"/tender.html?project={project_id}")
    expect(page.locator("#tender-body")).to_be_visible()


def test_the_tendering_period_through_pages(browser: Browser, server: InProcessServer,
                                            seed: Seed, clock: AdjustableClock) -> None:
    project = announced_project(server, seed)
    section = project["sections"][0]
    with ExitStack() as stack:
        agency = person(stack, browser, server, "agency")
        bidder = person(stack, browser, server, "bidder1")
        other = person(stack, browser, server, "bidder2")
        everyone = ((agency, seed.agency), (bidder, seed.bidder1), (other, seed.bidder2))
        for who, party in everyone:
            logged_in(who, party)
        clock.advance(timedelta(hours=1))  # 10:00 Beijing, inside the document period

        # 我的项目: the announced project, not yet marked; 办理 leads to its tender page.
        page = bidder.page
        page.goto("/projects.html")
        listed = page.locator("#project-rows tr", has_text=project["name"])
        expect(listed).to_contain_text("—")
        quality.check(page, "projects-bidder")
        listed.get_by_role("link", name=f"办理：{project['name']}").click()
        expect(page.locator("#tender-body")).to_be_visible()
        expect(page.locator("#downloads-empty")).to_be_visible()
        quality.check(page, "tender-bidder")

        # Obtaining the documents: the exact file, and the download logged with its time.
        with page.expect_download() as info:
            page.get_by_role("button", name="获取招标文件：招标文件.pdf").click()
        assert open(info.value.path(), "rb").read() == DOCUMENT
        assert info.value.suggested_filename == "招标文件.pdf"
        log_row = page.locator("#download-rows tr")
        expect(log_row).to_have_count(1)
        expect(log_row).to_contain_text("bidder1 有限公司")
        expect(log_row).to_contain_text("2026-03-02 10:00:00")
        page.goto("/projects.html")
        expect(page.locator("#project-rows tr", has_text=project["name"])).to_contain_text(
            "已获取招标文件")

        # A question before the clarification deadline; an empty one is refused in Chinese.
        open_tender(page, project["id"])
        ask = page.get_by_role("form", name="提出问题")
        ask.get_by_role("button", name="提交问题").click()
        expect(page.locator("#ask-text-error")).to_have_text("请填写问题内容")
        ask.get_by_label("问题内容").fill("第三章工期要求是否可以调整？")
        ask.get_by_role("button", name="提交问题").click()
        expect(page.get_by_role("status")).to_contain_text("问题已提交")
        expect(page.locator("#question-list li")).to_contain_text("（本单位提出）")

        # Another bidder sees neither who obtained the documents nor an unanswered question.
        open_tender(other.page, project["id"])
        expect(other.page.locator("#downloads-empty")).to_be_visible()
        expect(other.page.locator("#download-rows tr")).to_have_count(0)
        expect(other.page.locator("#questions-empty")).to_be_visible()

        # The agency: the whole download log, the question list, an answer.
        host = agency.page
        open_tender(host, project["id"])
        expect(host.locator("#download-rows tr")).to_contain_text("bidder1 有限公司")
        quality.check(host, "tender-host")
        answer = host.get_by_role("form", name="答复问题")
        answer.get_by_label("答复").fill("工期不得调整，以招标文件为准。")
        answer.get_by_role("button", name="发布答复").click()
        expect(host.get_by_role("status")).to_contain_text("已发布答复")
        expect(host.locator("#question-list li")).to_contain_text("答：工期不得调整")
        # The answer is addressed to all, without the asker.
        open_tender(other.page, project["id"])
        question = other.page.locator("#question-list li")
        expect(question).to_contain_text("第三章工期要求是否可以调整？")
        expect(question).to_contain_text("答：工期不得调整")
        expect(question).not_to_contain_text("本单位")

        # An amendment 12 days before the deadline breaks the 15-day rule: said next to the new
        # deadline; moving the deadline publishes it.
        later(clock, timedelta(days=9), *everyone)
        open_tender(host, project["id"])
        form = host.get_by_role("form", name="发布澄清或修改")
        form.get_by_label("标题").fill("关于工期的修改")
        form.get_by_label("内容").fill("计划工期由 365 日历天改为 300 日历天。")
        form.get_by_label("影响投标文件编制（修改）").check()
        form.get_by_role("button", name="发布").click()
        expect(host.locator("#c-deadline-error")).to_contain_text("15 日")
        expect(host.get_by_label("新的投标截止时间（北京时间，选填）")).to_be_focused()
        quality.check(host, "tender-amendment-too-late")
        with api(server, seed.agency) as client:
            assert client.get(f"/projects/{project['id']}/clarifications").json() == {
                "items": []}
        form.get_by_label("新的投标截止时间（北京时间，选填）").fill("2026-03-28T09:30")
        form.get_by_role("button", name="发布").click()
        expect(host.get_by_role("status")).to_contain_text("已发布")
        expect(host.locator("#c-deadline-error")).to_have_count(0)
        published = host.locator("#clarification-list li")
        expect(published).to_contain_text("第 1 号修改：关于工期的修改")
        expect(published).to_contain_text("顺延至 2026-03-28 09:30")

        # The bidder reads the answer and the amendment, and declares its security.
        open_tender(page, project["id"])
        expect(page.locator("#question-list li")).to_contain_text("答：工期不得调整")
        expect(page.locator("#clarification-list li")).to_contain_text("300 日历天")
        declare = page.get_by_role("form", name=f"申报投标保证金：{section['code']}")
        declare.get_by_label("缴纳形式").select_option(label="银行转账")
        declare.get_by_label("金额（元）").fill("8万")
        declare.get_by_role("button", name="申报保证金").click()
        expect(page.locator(f"#s{section['id']}-amount-error")).to_have_text(
            "金额须为元，最多两位小数，如 80000.00")
        declare.get_by_label("金额（元）").fill("80000.00")
        declare.get_by_label("付款账户（或保函编号）").fill("6222 0200 1234 5678")
        declare.get_by_role("button", name="申报保证金").click()
        mine = page.get_by_role("region", name=f"{section['code']} 保证金情况")
        expect(mine).to_contain_text("已申报，待核验")
        expect(mine).to_contain_text("80,000.00 元")
        quality.check(page, "tender-security-declared")

        # Before the deadline the agency sees no one's security; after it, it confirms.
        open_tender(host, project["id"])
        expect(host.locator(f"#security-{section['id']}")).to_contain_text("投标截止前不公开")
        later(clock, timedelta(days=17), *everyone)  # 03-28 10:00: past the moved deadline
        open_tender(host, project["id"])
        host.get_by_role("button", name=re.compile("^确认保证金：bidder1 有限公司")).click()
        expect(host.get_by_role("status")).to_contain_text("已确认bidder1 有限公司")
        expect(host.get_by_role("region", name=f"{section['code']} 保证金情况")).to_contain_text(
            "已确认")
        quality.check(host, "tender-security-confirmed")
        open_tender(page, project["id"])
        expect(page.get_by_role("region", name=f"{section['code']} 保证金情况")).to_contain_text(
            "已确认")

        with api(server, seed.agency) as client:
            url = f"/sections/{section['id']}/security"
            assert [(row["credit_code"], row["status"], row["reference"])
                    for row in client.get(url).json()["items"]] == [
                (seed.bidder1.credit_code, "confirmed", "6222 0200 1234 5678")]
            questions = client.get(f"/projects/{project['id']}/questions").json()["items"]
            assert [(q["text"], q["answer"]) for q in questions] == [
                ("第三章工期要求是否可以调整？", "工期不得调整，以招标文件为准。")]
            downloads = client.get(f"/projects/{project['id']}/downloads").json()["items"]
            assert [d["credit_code"] for d in downloads] == [seed.bidder1.credit_code]
        for who in (agency, bidder, other):
            assert who.problems == []


def test_the_agency_terminates_a_tender_with_a_reason(browser: Browser, server: InProcessServer,
                                                      seed: Seed) -> None:
    project = announced_project(server, seed)
    with ExitStack() as stack:
        agency = person(stack, browser, server, "agency")
        logged_in(agency, seed.agency)
        page = agency.page
        open_tender(page, project["id"])
        form = page.get_by_role("form", name="终止招标")
        form.get_by_role("button", name="终止招标并发布终止公告").click()
        expect(page.locator("#cancel-reason-error")).to_have_text("请填写终止原因")
        with api(server, seed.agency) as client:
            assert client.get(f"/projects/{project['id']}").json()["state"] == "announced"
        form.get_by_label("终止原因").fill("项目资金未落实，终止本次招标。")
        form.get_by_role("button", name="终止招标并发布终止公告").click()
        expect(page.get_by_role("status")).to_contain_text("已终止招标并发布终止公告")
        expect(page.locator("#tender-state")).to_have_text("已终止")
        expect(page.locator("#cancel-section")).to_be_hidden()
        quality.check(page, "tender-terminated")
        page.get_by_role("status").get_by_role("link").click()
        expect(page.locator("#notice-kind")).to_have_text("终止公告")
        expect(page.locator("#notice-content")).to_contain_text("项目资金未落实")
        with api(server, seed.agency) as client:
            assert client.get(f"/projects/{project['id']}").json()["state"] == "cancelled"
        assert agency.problems == []


def test_a_logged_out_visitor_is_asked_to_log_in(page: Page, server: InProcessServer,
                                                 seed: Seed) -> None:
    project = announced_project(server, seed)
    page.goto(f"/tender.html?project={project['id']}")
    expect(page.locator("#tender-login")).to_be_visible()
    expect(page.locator("#tender-body")).to_be_hidden()
    assert page.locator("#tender-login-link").get_attribute("href") == (
        f"login.html?next=tender.html%3Fproject%3D{project['id']}")
    quality.check(page, "tender-out")
