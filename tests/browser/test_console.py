"""平台运维 (console.html) in chromium: the admin lands on it at login, registers an organisation
(its credit code checked in the page, in Chinese, before the API), corrects it, creates a
supervisor user, makes a one-time reset link that the user opens in a browser of their own to set
a password and log in, grants the new department a project, disables user and organisation, and
replays a dead letter. The quality bars (tests/browser/quality.py) are checked on each state.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import quality
from tests.browser.conftest import BROWSER_TIMEZONE
from tests.browser.support import announced_project, api
from tests.browser.test_ui import db_path, log_in
from tests.support import Seed
from tradesys.demo.scenario import random_credit_code
from tradesys.demo.server import InProcessServer

pytestmark = pytest.mark.browser

NEW_PASSWORD = "inspector-password-1"


def count(db_url: str, sql: str, *args: Any) -> int:
    with sqlite3.connect(db_path(db_url)) as connection:
        value: int = connection.execute(sql, args).fetchone()[0]
    return value


def test_the_admin_runs_the_platform_from_the_console(
        page: Page, browser: Browser, server: InProcessServer, seed: Seed, db_url: str) -> None:
    project = announced_project(server, seed)
    log_in(page, seed.admin.username, seed.admin.password)
    # An admin lands on the console, not on an empty 我的项目.
    expect(page).to_have_url(re.compile(r"/console\.html$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("平台运维")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="平台运维")).to_have_attribute("aria-current", "page")
    expect(page.locator("#org-rows tr")).to_have_count(len(seed.parties))
    expect(page.locator("#ops-facts")).to_contain_text("就绪")
    quality.check(page, "console-start")

    # ---------------------------------------------------------------- an organisation
    orgs_before = count(db_url, "SELECT count(*) FROM organisations")
    form = page.get_by_role("form", name="登记机构")
    form.get_by_label("机构名称").fill("某市住房和城乡建设局")
    code = random_credit_code()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    form.get_by_label("统一社会信用代码").fill(wrong)
    form.get_by_role("button", name="登记机构").click()
    expect(form.locator("#org-code-error")).to_have_text(
        "统一社会信用代码无效：须为18位，且末位校验码正确")
    expect(form.get_by_label("统一社会信用代码")).to_be_focused()
    assert count(db_url, "SELECT count(*) FROM organisations") == orgs_before
    quality.check(page, "console-org-invalid")
    # Too short: the page's own Chinese message, not the browser's.
    form.get_by_label("统一社会信用代码").fill("9135")
    form.get_by_role("button", name="登记机构").click()
    expect(form.locator("#org-code-error")).to_contain_text("统一社会信用代码至少 18 个字符")
    form.get_by_label("统一社会信用代码").fill(code.lower())
    form.get_by_role("button", name="登记机构").click()
    expect(page.locator("#status")).to_contain_text("已登记机构：某市住房和城乡建设局")
    row = page.locator("#org-rows tr").filter(has_text=code)
    expect(row).to_contain_text("某市住房和城乡建设局")
    assert count(db_url, "SELECT count(*) FROM organisations") == orgs_before + 1

    # Corrected: the name had a typo.
    row.get_by_role("button", name="修改：某市住房和城乡建设局").click()
    edit = page.get_by_role("form", name=re.compile("^修改机构"))
    expect(edit.get_by_label("机构名称")).to_be_focused()
    edit.get_by_label("机构名称").fill("某市住房和城乡建设局（监督科）")
    edit.get_by_role("button", name="保存修改").click()
    expect(page.locator("#status")).to_contain_text("已保存机构信息：某市住房和城乡建设局（监督科）")
    expect(edit).to_be_hidden()
    org_name = "某市住房和城乡建设局（监督科）"

    # ---------------------------------------------------------------- a user in it
    users = page.get_by_role("form", name="创建用户")
    users.get_by_label("所属机构").select_option(label=org_name)
    users.get_by_label("用户名").fill("in spector")
    users.get_by_label("姓名").fill("监督员甲")
    users.get_by_label("角色").select_option(label="行政监督部门")
    users.get_by_label("初始密码").fill("temporary-password-1")
    users.get_by_role("button", name="创建用户").click()
    expect(users.locator("#user-name-error")).to_have_text("用户名须为 3–64 位字母、数字或 _ . -")
    users.get_by_label("用户名").fill("inspector")
    users.get_by_role("button", name="创建用户").click()
    expect(page.locator("#status")).to_contain_text("已创建用户：inspector（行政监督部门）")
    user_row = page.locator("#user-rows tr").filter(has_text="inspector")
    expect(user_row).to_contain_text(org_name)
    quality.check(page, "console-user-created")

    # ---------------------------------------------------------------- a one-time reset link
    user_row.get_by_role("button", name="重置密码：inspector").click()
    expect(page.locator("#reset-result")).to_be_visible()
    link = page.get_by_label("链接（仅显示这一次）").input_value()
    assert re.fullmatch(rf"{re.escape(server.url)}/reset\.html#token=rst_[A-Za-z0-9_-]{{43}}", link)
    quality.check(page, "console-reset-link")

    other = browser.new_context(base_url=server.url, locale="zh-CN",
                                timezone_id=BROWSER_TIMEZONE,
                                viewport={"width": 1280, "height": 900})
    other.set_default_timeout(10_000)
    try:
        holder = other.new_page()
        holder.goto(link)
        # The token leaves the address bar at once.
        expect(holder).to_have_url(f"{server.url}/reset.html")
        reset = holder.locator("#reset-form")
        reset.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
        reset.get_by_label("再次输入新密码").fill(NEW_PASSWORD + "x")
        reset.get_by_role("button", name="设置新密码").click()
        expect(holder.locator("#confirm-password-error")).to_have_text("两次输入的新密码不一致")
        quality.check(holder, "reset-mismatch")
        reset.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
        reset.get_by_role("button", name="设置新密码").click()
        expect(holder.locator("#reset-done")).to_be_visible()
        quality.check(holder, "reset-done")

        # Twice (a fresh tab: the same page with a new fragment would not reload): refused.
        again = other.new_page()
        again.goto(link)
        again.locator("#new-password").fill("yet-another-password-2")
        again.locator("#confirm-password").fill("yet-another-password-2")
        again.get_by_role("button", name="设置新密码").click()
        expect(again.locator("#alert")).to_contain_text("此重置链接已使用过")
        quality.check(again, "reset-used")
        again.close()

        # The new password logs in; no project is granted yet, so 我的项目 is empty.
        log_in(holder, "inspector", NEW_PASSWORD)
        expect(holder).to_have_url(re.compile(r"/projects\.html$"))
        expect(holder.get_by_text("暂无项目。")).to_be_visible()
        holder.goto(f"/supervise.html?project={project['id']}")
        expect(holder.locator("#alert")).to_contain_text("项目不存在")

        # ------------------------------------------------------------ a supervisor grant
        page.get_by_label("项目", exact=True).select_option(value=str(project["id"]))
        expect(page.locator("#grant-rows tr")).to_have_count(1)  # the seeded supervisor
        grant = page.get_by_role("form", name="授予查看权")
        grant.get_by_label("监督部门").select_option(label=org_name)
        grant.get_by_role("button", name="授权查看").click()
        expect(page.locator("#status")).to_contain_text(f"已授权 {org_name} 查看该项目")
        expect(page.locator("#grant-rows tr")).to_have_count(2)
        quality.check(page, "console-granted")

        holder.goto("/projects.html")
        holder.get_by_role("link", name=f"查看：{project['name']}").click()
        expect(holder.get_by_role("heading", level=1)).to_have_text(
            f"项目监督查看：{project['name']}")

        # ------------------------------------------------------------ disabling
        user_row.get_by_role("button", name="停用：inspector").click()
        expect(page.locator("#status")).to_contain_text("已停用用户：inspector")
        expect(user_row).to_contain_text("已停用")
        # Its session ends at once: the page no longer knows the user.
        holder.goto("/projects.html")
        expect(holder.locator("#projects-login")).to_be_visible()
        user_row.get_by_role("button", name="启用：inspector").click()
        expect(user_row).to_contain_text("正常")
        page.locator("#org-rows tr").filter(has_text=code).get_by_role(
            "button", name=f"停用：{org_name}").click()
        expect(page.locator("#status")).to_contain_text(f"已停用机构：{org_name}")
        expect(page.locator("#org-rows tr").filter(has_text=code)).to_contain_text("已停用")
        log_in(holder, "inspector", NEW_PASSWORD)
        expect(holder.locator("#alert")).to_contain_text("用户名或密码错误")
    finally:
        other.close()

    # ---------------------------------------------------------------- dead letters
    with sqlite3.connect(db_path(db_url)) as connection:
        connection.execute("UPDATE outbox SET status = 'dead', attempts = 8, "
                           "last_error = 'HTTP 503 from the platform' WHERE project_id = ?",
                           (project["id"],))
    dead = count(db_url, "SELECT count(*) FROM outbox WHERE status = 'dead'")
    assert dead > 0
    page.get_by_role("button", name="刷新运行状态").click()
    expect(page.locator("#dead-rows tr")).to_have_count(dead)
    expect(page.locator("#dead-rows")).to_contain_text("HTTP 503 from the platform")
    quality.check(page, "console-dead-letters")
    page.get_by_role("button", name="全部重新报送").click()
    expect(page.locator("#status")).to_contain_text(f"已将 {dead} 条死信重新排入报送队列")
    expect(page.locator("#dead-empty")).to_be_visible()
    assert count(db_url, "SELECT count(*) FROM outbox WHERE status = 'dead'") == 0
    # Every one of the admin's actions is in the event log.
    for kind in ("organisation.registered", "organisation.updated", "user.created",
                 "user.password_reset_issued", "user.password_reset", "project.supervisor_granted",
                 "user.disabled", "user.enabled", "organisation.disabled",
                 "platform.dead_letters_replayed"):
        assert count(db_url, "SELECT count(*) FROM events WHERE type = ?", kind) >= 1, kind


def test_a_non_admin_is_told_the_console_is_not_theirs(
        page: Page, server: InProcessServer, seed: Seed) -> None:
    log_in(page, seed.agency.username, seed.agency.password)
    expect(page).to_have_url(re.compile(r"/projects\.html$"))
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="平台运维")).to_have_count(0)
    page.goto("/console.html")
    expect(page.locator("#console-forbidden")).to_be_visible()
    expect(page.locator("#console-body")).to_be_hidden()
    quality.check(page, "console-forbidden")
    with api(server, seed.agency) as client:
        assert client.get("/organisations").status_code == 403


def test_a_reset_page_without_a_token_says_so(page: Page) -> None:
    page.goto("/reset.html")
    expect(page.locator("#reset-missing")).to_be_visible()
    expect(page.locator("#reset-form")).to_be_hidden()
    quality.check(page, "reset-missing")
