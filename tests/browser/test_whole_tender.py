"""A whole tender done only through pages (issue 12): the agency registers the project,
uploads the documents and announces; two bidders obtain the documents, one asks; the agency
answers and publishes an amendment; the bidders declare their bid securities and seal their
bids; the deadline passes; the agency confirms the securities; the bids are opened in the hall
and read out. Results are read back through the API; nothing is done through it.

The seeded parties (tests/conftest.py) are the platform's registered users; the admin registers
a third bidder company and its user on 平台运维 (console.html), who logs in with the initial
password. The admin grants
the supervisor's department the project on 平台运维; each bidder makes and registers its
encryption key on keys.html and seals with it; the opening-key holders, whose shares were sealed
at the announcement to the keys they had registered before, restore those keys on keys.html
from their backup files (从备份文件导入). Time moves on the test's clock, never by sleeping;
the scheduler runs, as in the hall tests, for the opening's time-driven steps.
"""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette

from tests.browser import quality
from tests.browser.support import Person, api, import_backup, person, row
from tests.browser.test_hall import logged_in, seal_bid
from tests.browser.test_ui import log_in
from tests.support import T0, Party, Seed
from tradesys.app import create_app
from tradesys.bids.keys import key_id, make_backup
from tradesys.clock import AdjustableClock
from tradesys.demo.scenario import random_credit_code
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings

pytestmark = pytest.mark.browser

DOCUMENT = b"%PDF-1.4\n% the tender documents of the whole-tender test\n"
#: The announced bid deadline, 2026-03-24 09:30 Beijing.
DEADLINE = T0 + timedelta(days=22, minutes=30)
PRICES = ("880000.00", "905000.00", "912000.50")
BACKUP_PASSWORD = "备份密码-whole-tender"
NEW_BIDDER_PASSWORD = "initial-password-bidder5"
SHOWN = ("880,000.00 元", "905,000.00 元", "912,000.50 元")


@pytest.fixture
def web_app(settings: Settings, clock: AdjustableClock) -> Starlette:
    """With the scheduler, as in test_hall.py: the bid list at the deadline, the opening."""
    return create_app(replace(settings, scheduler_interval=0.2), clock=clock,
                      run_scheduler=True)


def grant_in_console(admin: Page, seed: Seed, project_id: int) -> None:
    """console.html, as the admin: 授予查看权 to the seeded supervisor's department."""
    admin.goto("/console.html")
    admin.get_by_label("项目", exact=True).select_option(value=str(project_id))
    grant = admin.get_by_role("form", name="授予查看权")
    grant.get_by_label("监督部门").select_option(value=str(seed.supervisor.org_id))
    grant.get_by_role("button", name="授权查看").click()
    expect(admin.locator("#status")).to_contain_text("查看该项目")
    expect(admin.locator("#grant-rows tr")).to_have_count(1)


def register_bidder(admin: Page, key: str) -> Party:
    """console.html, as the admin: 登记机构 a new bidder company and 创建用户 its user with an
    initial password (what it logs in with)."""
    admin.goto("/console.html")
    code = random_credit_code()
    name = f"{key} 有限公司"
    form = admin.get_by_role("form", name="登记机构")
    form.get_by_label("机构名称").fill(name)
    form.get_by_label("统一社会信用代码").fill(code)
    form.get_by_role("button", name="登记机构").click()
    expect(admin.locator("#status")).to_contain_text(f"已登记机构：{name}")
    users = admin.get_by_role("form", name="创建用户")
    users.get_by_label("所属机构").select_option(label=name)
    users.get_by_label("用户名").fill(key)
    users.get_by_label("姓名").fill(f"{key} 投标专员")
    users.get_by_label("角色").select_option(label="投标人")
    users.get_by_label("初始密码").fill(NEW_BIDDER_PASSWORD)
    users.get_by_role("button", name="创建用户").click()
    expect(admin.locator("#status")).to_contain_text(f"已创建用户：{key}（投标人）")
    return Party(key=key, role="bidder", username=key, password=NEW_BIDDER_PASSWORD,
                 credit_code=code)


def make_bid_key(page: Page) -> None:
    """keys.html, as a bidder: 生成加密密钥, save its backup, 登记公钥 (the key stays in this
    browser, non-extractable, and bid.html seals to the platform's opening key with it)."""
    page.goto("/keys.html")
    generate = page.get_by_role("form", name="生成加密密钥")
    generate.get_by_label("备份密码", exact=True).fill(BACKUP_PASSWORD)
    generate.get_by_label("再次输入备份密码").fill(BACKUP_PASSWORD)
    generate.get_by_role("button", name="生成密钥对").click()
    expect(page.get_by_role("heading", name="新密钥已生成")).to_be_focused()
    with page.expect_download():
        page.get_by_role("link", name="下载备份文件").click()
    page.get_by_role("button", name="登记公钥").click()
    expect(page.get_by_role("status")).to_contain_text("公钥已登记（投标文件加密密钥）")


def restore_key(who: Person, party: Party, folder: Path) -> None:
    """keys.html, as an opening-key holder: 从备份文件导入 the backup of the key it registered
    before the announcement (its share of the opening key is sealed to that key)."""
    assert party.private_key is not None
    path = folder / f"{party.key}-backup.json"
    path.write_text(json.dumps(make_backup(party.private_key, BACKUP_PASSWORD.encode())))
    import_backup(who.page, path, BACKUP_PASSWORD, key_id(party.private_key))


def register_and_announce(page: Page, admin: Page, seed: Seed) -> int:
    """agency.html: 项目登记 (one section), 上传招标文件, 发布公告; the project's id."""
    page.goto("/agency.html")
    page.get_by_label("项目名称").fill("闽侯县第二中学操场改造工程")
    page.get_by_label("交易类型").select_option(label="工程建设")
    page.get_by_label("采购类别").select_option(label="工程")
    page.get_by_label("招标方式").select_option(label="公开招标")
    page.get_by_label("行政区划代码").fill("350121")
    page.get_by_label("项目业主").fill("闽侯县第二中学")
    page.get_by_label("招标人统一社会信用代码").fill(seed.procurer.credit_code)
    page.get_by_label("项目概况").fill("操场塑胶跑道及看台改造。")
    section = page.get_by_role("group", name="标段（包）1", exact=True)
    section.get_by_label("标段名称").fill("施工")
    section.get_by_label("标段内容").fill("跑道、看台及排水")
    section.get_by_label("最高投标限价").fill("950000.00")
    section.get_by_label("投标保证金").fill("18000.00")
    page.get_by_role("button", name="登记项目").click()
    expect(page.get_by_role("status")).to_contain_text("项目已登记")
    expect(page).to_have_url(re.compile(r"/agency\.html\?project=\d+$"))
    project_id = int(page.url.rsplit("=", 1)[1])
    # The supervisor holds an opening-key share: the admin grants its department the project
    # on 平台运维 (a supervisor sees, and holds shares of, only the projects it was granted);
    # the agency's page asks for the holders again on reload.
    grant_in_console(admin, seed, project_id)
    page.reload()
    page.get_by_label("招标文件", exact=True).set_input_files(
        files=[{"name": "招标文件.pdf", "mimeType": "application/pdf", "buffer": DOCUMENT}])
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已上传 招标文件.pdf")
    page.get_by_label("公告标题").fill("闽侯县第二中学操场改造工程招标公告")
    page.get_by_label("公告内容").fill("现对该项目进行公开招标，欢迎符合资格条件的投标人参加投标。")
    page.get_by_label("招标文件获取开始时间").fill("2026-03-02T09:30")
    page.get_by_label("招标文件获取截止时间").fill("2026-03-09T17:00")
    page.get_by_label("澄清截止时间").fill("2026-03-12T17:00")
    page.get_by_label("投标截止时间").fill("2026-03-24T09:30")
    page.get_by_label("联系方式").fill("示范代理 张工 0591-00000000")
    page.get_by_role("button", name="发布公告").click()
    expect(page.get_by_role("status")).to_contain_text(
        "招标公告已发布，投标截止时间 2026-03-24 09:30")
    return project_id


def open_tender(page: Page, project_id: int) -> None:
    page.goto(f"/tender.html?project={project_id}")
    expect(page.locator("#tender-body")).to_be_visible()


def test_a_whole_tender_only_through_pages(browser: Browser, server: InProcessServer,
                                           seed: Seed, clock: AdjustableClock,
                                           tmp_path: Path) -> None:
    with ExitStack() as stack:
        host = person(stack, browser, server, "host")
        logged_in(host, seed.agency)
        admin = person(stack, browser, server, "admin")
        log_in(admin.page, seed.admin.username, seed.admin.password)
        expect(admin.page).to_have_url(re.compile(r"/console\.html$"))
        # Three bidders (fewer fail the tender): two registered before, one the admin
        # registers now on the console.
        parties = [seed.bidder1, seed.bidder2, register_bidder(admin.page, "bidder5")]
        names = [f"{party.key} 有限公司" for party in parties]
        project_id = register_and_announce(host.page, admin.page, seed)
        with api(server, seed.agency) as client:
            project = client.get(f"/projects/{project_id}").json()
        section = project["sections"][0]

        # 10:00: inside the document period. The bidders obtain the documents; one asks.
        clock.advance(timedelta(hours=1))
        bidders = [person(stack, browser, server, party.key) for party in parties]
        for who, party in zip(bidders, parties, strict=True):
            logged_in(who, party)
            who.page.get_by_role("link", name=f"办理：{project['name']}").click()
            expect(who.page.locator("#tender-body")).to_be_visible()
            with who.page.expect_download() as info:
                who.page.get_by_role("button", name="获取招标文件：招标文件.pdf").click()
            assert open(info.value.path(), "rb").read() == DOCUMENT
            expect(who.page.locator("#download-rows tr")).to_have_count(1)
        ask = bidders[0].page.get_by_role("form", name="提出问题")
        ask.get_by_label("问题内容").fill("看台是否包含遮阳棚？")
        ask.get_by_role("button", name="提交问题").click()
        expect(bidders[0].page.get_by_role("status")).to_contain_text("问题已提交")

        # The agency answers and publishes an amendment (3 weeks before the deadline: allowed).
        page = host.page
        open_tender(page, project_id)
        expect(page.locator("#download-rows tr")).to_have_count(3)
        answer = page.get_by_role("form", name="答复问题")
        answer.get_by_label("答复").fill("不包含遮阳棚。")
        answer.get_by_role("button", name="发布答复").click()
        expect(page.locator("#question-list li")).to_contain_text("答：不包含遮阳棚。")
        amend = page.get_by_role("form", name="发布澄清或修改")
        amend.get_by_label("标题").fill("关于排水沟的修改")
        amend.get_by_label("内容").fill("排水沟改为成品树脂排水沟。")
        amend.get_by_label("影响投标文件编制（修改）").check()
        amend.get_by_role("button", name="发布").click()
        expect(page.locator("#clarification-list li")).to_contain_text("第 1 号修改")

        # Each bidder reads them, declares its security and seals its bid.
        for who, party, price in zip(bidders, parties, PRICES, strict=True):
            open_tender(who.page, project_id)
            expect(who.page.locator("#question-list li")).to_contain_text("答：不包含遮阳棚。")
            expect(who.page.locator("#clarification-list li")).to_contain_text("树脂排水沟")
            declare = who.page.get_by_role("form", name=f"申报投标保证金：{section['code']}")
            expect(declare.get_by_label("金额（元）")).to_have_value("18000.00")
            declare.get_by_label("付款账户（或保函编号）").fill(f"6222 {party.key}")
            declare.get_by_role("button", name="申报保证金").click()
            expect(who.page.get_by_role("region", name=f"{section['code']} 保证金情况")
                   ).to_contain_text("已申报，待核验")
            make_bid_key(who.page)
            seal_bid(who, section["id"], price, f"项目经理{party.key}")
            who.page.goto("/projects.html")
            expect(who.page.locator("#project-rows tr", has_text=project["name"])).to_contain_text(
                "已获取招标文件、已递交投标文件")

        # Five minutes before the deadline everyone is in the hall (sessions last 8 hours).
        clock.set(DEADLINE - timedelta(minutes=5))
        procurer = person(stack, browser, server, "procurer")
        supervisor = person(stack, browser, server, "supervisor")
        holders: list[Person] = [host, procurer, supervisor]
        for who, party in zip(holders, (seed.agency, seed.procurer, seed.supervisor),
                              strict=True):
            logged_in(who, party)
            restore_key(who, party, tmp_path)
        for who, party in zip(bidders, parties, strict=True):
            logged_in(who, party)
        everyone = [*holders, *bidders]
        hall = f"/hall.html?section={section['id']}"
        for who in everyone:
            who.page.goto(hall)
            expect(who.page.locator("#phase")).to_have_text("等待开标")

        # The deadline passes: the bid list is published; the agency, on a second page,
        # confirms the securities.
        clock.advance(timedelta(minutes=6))
        for who in everyone:
            expect(who.page.locator("#bid-rows tr")).to_have_count(3)
        desk = host.context.new_page()
        open_tender(desk, project_id)
        for name in names:
            desk.get_by_role("button", name=re.compile(f"^确认保证金：{name}")).click()
            expect(desk.get_by_role("status")).to_contain_text(f"已确认{name}")
        securities = desk.get_by_role("region", name=f"{section['code']} 保证金情况")
        expect(securities.get_by_text("已确认")).to_have_count(3)
        quality.check(desk, "tender-whole-securities")
        desk.close()

        # The opening: the holders release their shares, the host starts decryption, the
        # bidders release theirs, and the host reads out each bid.
        for who in holders:
            who.page.get_by_role("button", name="释放开标密钥份额").click()
            expect(who.page.get_by_role("button", name="已释放开标密钥份额")).to_be_disabled()
        page.get_by_role("button", name="开始解密").click()
        for who in bidders:
            expect(who.page.locator("#phase")).to_have_text("解密中")
            who.page.get_by_role("button", name="解密", exact=True).click()
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("解密结束")
        read = page.get_by_role("button", name="唱标（下一家）")
        for name, shown in zip(names, SHOWN, strict=True):
            read.click()
            expect(row(page, name)).to_contain_text(shown)
        expect(row(bidders[1].page, names[0])).to_contain_text(SHOWN[0])
        quality.check(page, "hall-read-out")

        # Read back: the record of the tender as the API tells it.
        with api(server, seed.agency) as client:
            assert [(d["credit_code"]) for d in client.get(
                f"/projects/{project_id}/downloads").json()["items"]] == [
                party.credit_code for party in parties]
            assert [(s["credit_code"], s["status"]) for s in client.get(
                f"/sections/{section['id']}/security").json()["items"]] == [
                (party.credit_code, "confirmed") for party in parties]
            clarifications = client.get(f"/projects/{project_id}/clarifications").json()
            assert [c["title"] for c in clarifications["items"]] == ["关于排水沟的修改"]
            bids = client.get(f"/sections/{section['id']}/bids").json()["items"]
            assert sorted(b["bidder_name"] for b in bids if b["status"] == "valid") == names
        for who in everyone:
            assert who.problems == []
