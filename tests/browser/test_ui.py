"""The browser UI in Debian's chromium: login, project registration, document upload,
announcement, the public notices and the server clock in the header.

SQLite only (see conftest.py). The server clock is frozen at T0 (2026-03-02 09:00 Beijing); the
browser runs in America/Los_Angeles, so every time checked below proves the page shows server
time in Asia/Shanghai, not the browser's own clock or zone.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import quality
from tests.browser.support import grant_supervisor
from tests.support import Seed
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer

pytestmark = pytest.mark.browser

#: Markup in a title must be shown as text, never parsed.
TITLE = "<b>福州</b>示范学校教学楼新建工程招标公告"
DOCUMENT = b"%PDF-1.4\n% tender documents for the browser test\n"


def api_get(server: InProcessServer, token_headers: dict[str, str], path: str) -> dict:
    response = httpx.get(f"{server.url}/api/v1{path}", headers=token_headers, timeout=10)
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def screenshot(page: Page, name: str) -> None:
    """A page state worth keeping: the quality bars (tests/browser/quality.py: axe, no sideways
    scrolling at 1366 and 390 px) are checked on it and its screenshots written."""
    quality.check(page, name)


def db_path(db_url: str) -> str:
    return db_url.removeprefix("sqlite+aiosqlite:///")


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login.html")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_agency_registers_uploads_and_announces(page: Page, server: InProcessServer,
                                                seed: Seed, db_url: str) -> None:
    agency = seed.agency
    log_in(page, agency.username, agency.password)
    expect(page).to_have_url(re.compile(r"/projects\.html$"))
    expect(page.get_by_role("heading", name="我的项目")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text("agency（招标代理机构）")
    expect(page.get_by_text("暂无项目。")).to_be_visible()

    # 项目登记, with two sections; first naming a procurer that does not exist.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="项目登记").click()
    expect(page.get_by_role("heading", name="项目登记", exact=True)).to_be_visible()
    page.get_by_label("项目名称").fill("福州市示范学校教学楼新建工程")
    page.get_by_label("交易类型").select_option(label="工程建设")
    page.get_by_label("采购类别").select_option(label="工程")
    page.get_by_label("招标方式").select_option(label="公开招标")
    page.get_by_label("行政区划代码").fill("350100")
    page.get_by_label("项目业主").fill("福州市示范学校")
    procurer_code = page.get_by_label("招标人统一社会信用代码")
    procurer_code.fill("91350100MA00000000")
    page.get_by_label("项目概况").fill("新建教学楼一栋，建筑面积约12000平方米。")
    first = page.get_by_role("group", name="标段（包）1", exact=True)
    first.get_by_label("标段名称").fill("施工总承包")
    first.get_by_label("标段内容").fill("土建及安装工程")
    first.get_by_label("预算金额").fill("36000000.00")
    first.get_by_label("最高投标限价").fill("35200000.00")
    first.get_by_label("投标保证金").fill("500000.00")
    page.get_by_role("button", name="添加标段").click()
    second = page.get_by_role("group", name="标段（包）2", exact=True)
    expect(second.get_by_label("标段名称")).to_be_focused()
    second.get_by_label("标段名称").fill("工程监理")
    second.get_by_label("标段内容").fill("施工阶段全过程监理")
    second.get_by_label("最高投标限价").fill("950000.00")
    screenshot(page, "register.png")
    page.get_by_role("button", name="登记项目").click()
    expect(page.get_by_role("alert")).to_contain_text("未找到统一社会信用代码为 91350100MA00000000")
    expect(procurer_code).to_have_attribute("aria-invalid", "true")
    expect(procurer_code).to_be_focused()

    procurer_code.fill(seed.procurer.credit_code)
    page.get_by_role("button", name="登记项目").click()
    expect(page.get_by_role("status")).to_contain_text("项目已登记，项目编号 E3501002026")
    expect(page.get_by_role("alert")).to_be_empty()
    expect(page).to_have_url(re.compile(r"/agency\.html\?project=\d+$"))
    project_id = int(page.url.rsplit("=", 1)[1])
    # The platform operator grants the supervising department the project (it then may hold
    # an opening-key share); the agency's page asks for the holders again on reload.
    grant_supervisor(server, seed, project_id)
    page.reload()
    project = api_get(server, agency.auth, f"/projects/{project_id}")
    assert project["name"] == "福州市示范学校教学楼新建工程"
    assert project["procurer_org_id"] == seed.procurer.org_id
    assert project["agency_org_id"] == agency.org_id
    assert [(s["name"], s["budget"], s["ceiling_price"], s["bid_security"])
            for s in project["sections"]] == [
        ("施工总承包", "36000000.00", "35200000.00", "500000.00"),
        ("工程监理", None, "950000.00", None),
    ]
    sections_table = page.locator("#project-sections")
    expect(sections_table.get_by_role("row")).to_have_count(2)
    expect(sections_table).to_contain_text("35,200,000.00 元")

    # 发布公告 before any document: the server refuses and the page says why.
    page.get_by_label("公告标题").fill(TITLE)
    page.get_by_label("公告内容").fill("现对该项目进行公开招标，欢迎符合资格条件的投标人参加投标。")
    page.get_by_label("招标文件获取开始时间").fill("2026-03-02T09:30")
    page.get_by_label("招标文件获取截止时间").fill("2026-03-09T17:00")
    page.get_by_label("澄清截止时间").fill("2026-03-12T17:00")
    page.get_by_label("投标截止时间").fill("2026-03-24T09:30")
    page.get_by_label("联系方式").fill("示范代理 张工 0591-00000000")

    # 开标密钥持有人: the project's agency and procurer users and the supervisor (each has a
    # registered holder key), all checked; the threshold k of n, 2 by default.
    holders = page.get_by_role("group", name="开标密钥持有人")
    expect(holders.get_by_role("checkbox")).to_have_count(3)
    for name in ("procurer（招标人，procurer 有限公司）", "agency（招标代理机构，agency 有限公司）",
                 "supervisor（行政监督部门，supervisor 有限公司）"):
        expect(holders.get_by_role("checkbox", name=name)).to_be_checked()
    threshold = holders.get_by_label("开标时需要的份额数")
    explain = page.locator("#threshold-explain")
    expect(threshold).to_have_value("2")
    expect(explain).to_have_text("开标密钥由所选 3 位持有人分持，开标时需 2 人提交份额（2/3）。")
    supervisor_box = holders.get_by_role("checkbox", name=re.compile("^supervisor"))
    supervisor_box.uncheck()
    expect(explain).to_have_text("开标密钥由所选 2 位持有人分持，开标时需 2 人提交份额（2/2）。")
    expect(threshold.locator("option")).to_have_count(1)
    supervisor_box.check()
    threshold.select_option("3")
    expect(explain).to_have_text("开标密钥由所选 3 位持有人分持，开标时需 3 人提交份额（3/3）。")
    page.get_by_role("button", name="发布公告").click()
    expect(page.get_by_role("alert")).to_contain_text("发布公告前须上传招标文件")
    screenshot(page, "agency.png")

    # 上传招标文件: the raw file with its type.
    page.get_by_label("招标文件", exact=True).set_input_files(
        files=[{"name": "招标文件.pdf", "mimeType": "application/pdf", "buffer": DOCUMENT}])
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已上传 招标文件.pdf")
    documents = api_get(server, agency.auth, f"/projects/{project_id}/documents")["items"]
    assert [(d["filename"], d["content_type"], d["sha256"]) for d in documents] == [
        ("招标文件.pdf", "application/pdf", hashlib.sha256(DOCUMENT).hexdigest())]
    expect(page.locator("#document-rows")).to_contain_text(hashlib.sha256(DOCUMENT).hexdigest())

    page.get_by_role("button", name="发布公告").click()
    expect(page.get_by_role("status")).to_contain_text(
        "招标公告已发布，投标截止时间 2026-03-24 09:30（北京时间）")
    expect(page.get_by_role("heading", name="公告已发布")).to_be_focused()
    expect(sections_table).to_contain_text("投标中")
    # Every section's opening key went to the three chosen holders, 3 of 3.
    with sqlite3.connect(f"file:{db_path(db_url)}?mode=ro", uri=True) as db:
        keys = db.execute(
            "SELECT k.section_id, k.threshold, k.holders, s.holder_user_id FROM opening_keys k "
            "JOIN opening_key_shares s ON s.opening_key_id = k.id "
            "ORDER BY k.section_id, s.share_index").fetchall()
    chosen = [seed.procurer.user_id, seed.agency.user_id, seed.supervisor.user_id]
    assert sorted({row[0] for row in keys}) == sorted(s["id"] for s in project["sections"])
    for section in project["sections"]:
        rows = [row for row in keys if row[0] == section["id"]]
        assert [(r[1], r[2]) for r in rows] == [(3, 3)] * 3
        assert sorted(r[3] for r in rows) == sorted(chosen)

    # The form's Beijing wall-clock times went out with +08:00.
    notices = api_get(server, {}, "/notices")["items"]
    assert [n["title"] for n in notices] == [TITLE]
    notice = api_get(server, {}, f"/notices/{notices[0]['id']}")
    beijing = timedelta(hours=8)
    assert instant(notice["doc_start"]) == datetime(2026, 3, 2, 9, 30, tzinfo=UTC) - beijing
    assert instant(notice["doc_end"]) == datetime(2026, 3, 9, 17, 0, tzinfo=UTC) - beijing
    assert instant(notice["clarification_deadline"]) == (
        datetime(2026, 3, 12, 17, 0, tzinfo=UTC) - beijing)
    assert instant(notice["bid_deadline"]) == datetime(2026, 3, 24, 1, 30, tzinfo=UTC)

    # 我的项目 lists it, announced.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的项目").click()
    mine = page.locator("#project-rows tr")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text(project["code"])
    expect(mine).to_contain_text("已发布公告")

    # The public list, then the detail page.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="招标公告").click()
    expect(page.get_by_role("heading", name="招标公告", exact=True)).to_be_visible()
    row = page.locator("#notice-rows tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(project["code"])
    expect(row.locator("td").nth(3)).to_have_text("2026-03-02 09:00")
    expect(row.locator("td").nth(4)).to_have_text("2026-03-24 09:30")
    screenshot(page, "notices.png")
    row.get_by_role("link", name=TITLE).click()
    expect(page).to_have_url(re.compile(rf"/notice\.html\?id={notice['id']}$"))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(TITLE)
    expect(heading.locator("b")).to_have_count(0)
    expect(page).to_have_title(f"{TITLE} — 电子招标投标交易平台")
    expect(page.locator("#bid-deadline")).to_have_text("2026-03-24 09:30")
    expect(page.locator("#doc-period")).to_have_text("2026-03-02 09:30 至 2026-03-09 17:00")
    expect(page.locator("#clarification-deadline")).to_have_text("2026-03-12 17:00")
    expect(page.locator("#notice-published")).to_have_text("2026-03-02 09:00")
    expect(page.locator("#notice-sections tr")).to_have_count(2)
    expect(page.locator("#notice-sections")).to_contain_text("950,000.00 元")
    screenshot(page, "notice.png")

    # 退出: the notice stays public.
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/index\.html$"))
    expect(page.get_by_role("link", name="登录")).to_be_visible()
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    assert "tradesys_session" not in {c["name"] for c in page.context.cookies()}


def test_bad_login_shows_the_error(page: Page, seed: Seed) -> None:
    log_in(page, seed.agency.username, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    expect(page).to_have_url(re.compile(r"/login\.html$"))
    expect(page.get_by_label("密码")).to_have_value("")
    expect(page.get_by_label("密码")).to_be_focused()
    assert "tradesys_session" not in {c["name"] for c in page.context.cookies()}
    # Not logged in: the projects page says so instead of showing anything.
    page.goto("/projects.html")
    expect(page.get_by_text("再查看您参与的项目")).to_be_visible()
    expect(page.locator("#projects-list")).to_be_hidden()


def test_header_shows_server_time_not_the_browsers(page: Page, clock: AdjustableClock) -> None:
    browser_time = datetime(2031, 7, 15, 4, 0, tzinfo=UTC)
    page.clock.set_fixed_time(browser_time)
    page.goto("/")
    server_clock = page.locator("#server-clock")
    expect(server_clock).to_have_text("2026-03-02 09:00:00")
    expect(page.locator("#clock-offset")).to_contain_text("本机时钟快")
    # The browser's clock moves 90 s: the server time shown moves with it, from the offset.
    page.clock.set_fixed_time(browser_time + timedelta(seconds=90))
    expect(server_clock).to_have_text("2026-03-02 09:01:30")
    # The server's clock moves a day: a fresh page shows the server's time again.
    clock.advance(timedelta(days=1))
    page.reload()
    expect(server_clock).to_have_text("2026-03-03 09:00:00")


def test_procurer_answers_the_entrustments_that_name_it(page: Page, server: InProcessServer,
                                                        seed: Seed) -> None:
    """委托 is mutual: an agency's registration naming the procurer waits on 我的项目 for the
    procurer to accept (or decline) it; accepted, it joins the procurer's projects."""
    procurer, agency = seed.procurer, seed.agency
    api = f"{server.url}/api/v1"
    standing = api_get(server, procurer.auth, "/entrustments")["items"]
    for item in standing:
        assert httpx.post(f"{api}/entrustments/{item['id']}/revoke", headers=procurer.auth,
                          timeout=10).status_code == 200
    names = ["<i>委托</i>测试工程甲", "委托测试工程乙"]
    for name in names:
        body = {"name": name, "trade_type": "works", "category": "works", "procedure": "open",
                "region_code": "350100", "content": "内容", "owner_name": "业主",
                "procurer_credit_code": procurer.credit_code,
                "sections": [{"name": "施工", "content": "施工", "budget": "100.00",
                              "ceiling_price": "90.00", "bid_security": "1.00"}]}
        registered = httpx.post(f"{api}/projects", headers=agency.auth, json=body, timeout=10)
        assert registered.json()["entrustment"] == "pending"

    log_in(page, procurer.username, procurer.password)
    expect(page).to_have_url(re.compile(r"/projects\.html$"))
    requests = page.get_by_role("region", name="待确认的委托")
    expect(requests.get_by_role("row")).to_have_count(3)   # the header and two requests
    # Markup in a name is text.
    first = requests.get_by_role("row").filter(has_text="<i>委托</i>测试工程甲")
    expect(first).to_contain_text("agency 有限公司")
    expect(first).to_contain_text("招标人")
    expect(page.get_by_text("暂无项目。")).to_be_visible()

    first.get_by_role("button", name="接受委托").click()
    expect(page.get_by_role("status")).to_contain_text("已接受")
    expect(requests.get_by_role("row")).to_have_count(2)
    projects = page.get_by_role("region", name="我参与的项目")
    expect(projects.get_by_role("row").filter(has_text="<i>委托</i>测试工程甲")).to_have_count(1)

    second = requests.get_by_role("row").filter(has_text=names[1])
    second.get_by_role("button", name="拒绝", exact=True).click()
    second.get_by_role("button", name="取消").click()     # thought better of it
    expect(second.get_by_role("button", name="接受委托")).to_be_visible()
    second.get_by_role("button", name="拒绝", exact=True).click()
    second.get_by_role("button", name="确认拒绝（不可撤回）").click()
    expect(page.get_by_role("status")).to_contain_text("已拒绝")
    expect(page.locator("#requests")).to_be_hidden()
    expect(projects.get_by_role("row").filter(has_text=names[1])).to_have_count(0)
    assert api_get(server, procurer.auth, "/entrustment-requests")["items"] == []
    screenshot(page, "entrustment.png")
