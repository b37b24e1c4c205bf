"""The shared layout (js/layout.js) on every page, and the UI defects of issue 12: the login's
``next=`` page, the hall's width, placeholder and missing-section error, the logged-in header
on one line at 1366 px, and the forms' own Chinese validation messages in an en-US browser.

SQLite only, like every browser test (see conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.browser import quality
from tests.browser.conftest import BROWSER_TIMEZONE
from tests.browser.support import announced_project
from tests.browser.test_ui import log_in, screenshot
from tests.support import Party, Seed
from tradesys.demo.server import InProcessServer

pytestmark = pytest.mark.browser

#: Every page, and the nav link that is its own (aria-current="page"), if any.
PAGES = {
    "index.html": "招标公告",
    "login.html": "登录",
    "projects.html": "我的项目",
    "agency.html": "项目登记",
    "keys.html": "加密密钥与签名密钥",
    "notice.html": None,
    "bid.html": None,
    "hall.html": None,
    "tender.html": None,
    "award.html": None,
    "contract.html": "合同网签",
    "archive.html": "电子档案",
    # The admin's own page: its nav link (shown to the admin only) is marked on it for everyone.
    "console.html": "平台运维",
    "reset.html": None,
}


def new_page(browser: Browser, server: InProcessServer, *, locale: str = "zh-CN",
             width: int = 1280, height: int = 900) -> tuple[BrowserContext, Page, list[str]]:
    """A context and page of its own; script errors and dialogs are collected as problems.
    A refused hall WebSocket (a missing section on purpose) is logged by chromium, not a bug."""
    context = browser.new_context(base_url=server.url, locale=locale, timezone_id=BROWSER_TIMEZONE,
                                  viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" and not text.startswith(("Failed to load resource",
                                                            "WebSocket connection to")):
            problems.append(f"console: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"),
                                      dialog.dismiss()))
    return context, page, problems


@pytest.fixture
def en_page(browser: Browser, server: InProcessServer) -> Iterator[Page]:
    """A page in an en-US browser: its own validation bubbles would speak English."""
    context, page, problems = new_page(browser, server, locale="en-US")
    try:
        yield page
    finally:
        context.close()
    assert problems == []


def logged_in(page: Page, party: Party) -> None:
    log_in(page, party.username, party.password)
    expect(page).to_have_url(re.compile(r"/projects\.html$"))


# ---------------------------------------------------------------------------- the layout


def test_every_page_gets_the_one_layout(page: Page, server: InProcessServer, seed: Seed) -> None:
    """The HTML files hold only their <main>; the layout renders the skip link, the banner with
    the main navigation (aria-current on the page's own link), the session, the server clock
    and the footer, the same on every page."""
    for name in PAGES:
        html = httpx.get(f"{server.url}/{name}", timeout=10).text
        assert "<header" not in html and "<footer" not in html and "主导航" not in html, name
        assert '<main id="main"' in html and "<noscript>" in html, name

    def check(name: str, current: str | None, logged: bool) -> None:
        page.goto(f"/{name}")
        expect(page.get_by_role("banner")).to_have_count(1)
        expect(page.get_by_role("contentinfo")).to_contain_text("所有时间均为北京时间")
        nav = page.get_by_role("navigation", name="主导航")
        expect(nav).to_be_visible()
        expect(page.locator("#server-clock")).to_have_text("2026-03-02 09:00:00")
        expect(page.locator("#clock-offset")).not_to_be_empty()
        marked = nav.locator('[aria-current="page"]')
        if current is None:
            expect(marked).to_have_count(0)
        else:
            expect(marked).to_have_count(1)
            expect(marked).to_have_text(current)
        expect(page.get_by_role("button", name="退出")).to_be_visible(visible=logged)
        expect(nav.get_by_role("link", name="登录")).to_be_visible(visible=not logged)
        # The skip link is the first stop of the keyboard and leads to <main>.
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="跳到主要内容")
        expect(skip).to_be_focused()
        assert skip.get_attribute("href") == "#main"
        assert page.evaluate("document.body.firstElementChild.matches('a.skip-link')"), name
        quality.check(page, f"{name.removesuffix('.html')}-{'in' if logged else 'out'}")

    for name in ("index.html", "login.html", "notice.html", "bid.html", "hall.html",
                 "tender.html", "award.html"):
        check(name, PAGES[name], logged=False)
    logged_in(page, seed.agency)
    expect(page.locator("#whoami")).to_have_text("agency（招标代理机构）")
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link")).to_have_text(["招标公告", "我的项目", "项目登记", "电子档案",
                                                  "加密密钥与签名密钥"])
    for name, current in PAGES.items():
        if name != "login.html":
            check(name, current, logged=True)


def test_the_hall_is_as_wide_as_the_other_pages(page: Page) -> None:
    widths = {}
    for name in ("index.html", "hall.html", "keys.html"):
        page.goto(f"/{name}")
        widths[name] = (page.locator("main").bounding_box() or {})["width"]
        expect(page.get_by_role("banner")).to_be_visible()
    assert widths["hall.html"] == widths["index.html"] == widths["keys.html"]


# ---------------------------------------------------------------------------- login next=


GOOD_NEXT = ("hall.html?section=1", "bid.html?section=2", "notice.html?id=3")
BAD_NEXT = ("https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)",
            "../index.html", "index.html/../notice.html", "index.html?x=..", "\tindex.html",
            "index.html\n", "index.html?x=\x00", "login.html")


def test_login_next_returns_to_any_own_page_and_nowhere_else(browser: Browser,
                                                             server: InProcessServer,
                                                             seed: Seed) -> None:
    context, page, problems = new_page(browser, server)
    try:
        for target in GOOD_NEXT + BAD_NEXT:
            context.clear_cookies()
            page.goto(f"/login.html?next={quote(target, safe='')}")
            page.get_by_label("用户名").fill(seed.bidder1.username)
            page.get_by_label("密码").fill(seed.bidder1.password)
            page.get_by_role("button", name="登录").click()
            if target in GOOD_NEXT:
                expect(page).to_have_url(f"{server.url}/{target}")
            else:
                expect(page).to_have_url(f"{server.url}/projects.html")
        # The hall's own 前往登录 link (showError on a 401) builds exactly such a next=.
        context.clear_cookies()
        page.goto("/hall.html?section=1")
        page.evaluate("""async () => {
            const ui = await import(new URL('js/ui.js', location.href).href);
            document.querySelector('#alert').replaceChildren();
            ui.showError(Object.assign(new Error('请先登录'), {status: 401}));
        }""")
        page.get_by_role("alert").get_by_role("link", name="前往登录").click()
        expect(page).to_have_url(f"{server.url}/login.html?next=hall.html%3Fsection%3D1")
        page.get_by_label("用户名").fill(seed.bidder1.username)
        page.get_by_label("密码").fill(seed.bidder1.password)
        page.get_by_role("button", name="登录").click()
        expect(page).to_have_url(f"{server.url}/hall.html?section=1")
    finally:
        context.close()
    assert problems == []


# ---------------------------------------------------------------------------- the header


def header_boxes(page: Page) -> dict[str, float]:
    return page.evaluate("""() => {
        const box = (s) => document.querySelector(s).getBoundingClientRect();
        return {header: box('.site-header').height, brand: box('.brand').top,
                nav: box('.site-nav').top, session: box('.session').top,
                time: box('.server-time').top, navBottom: box('.site-nav').bottom,
                brandBottom: box('.brand').bottom,
                overflow: document.scrollingElement.scrollWidth - innerWidth};
    }""")


def test_logged_in_header_is_one_line_at_1366(browser: Browser, server: InProcessServer,
                                              seed: Seed) -> None:
    context, page, problems = new_page(browser, server, width=1366, height=768)
    try:
        page.goto("/index.html")
        expect(page.locator("#server-clock")).to_have_text(re.compile(r"^\d{4}-"))
        out = header_boxes(page)
        # Every role's own nav items (the procurer has the most); a long name must not break
        # the line either.
        long_name = "福州市示范建设工程招标代理有限公司 张工程师（招标代理机构）"
        for party in (seed.procurer, seed.agency, seed.supervisor, seed.bidder1, seed.expert,
                      seed.admin):
            log_in(page, party.username, party.password)
            expect(page.locator("#whoami")).to_be_visible()
            page.goto("/keys.html" if party is not seed.admin else "/console.html")
            expect(page.locator("#clock-offset")).not_to_be_empty()
            expect(page.locator("#whoami")).to_contain_text(f"{party.username}（")
            for who in (page.locator("#whoami").inner_text(), long_name):
                page.locator("#whoami").evaluate("(node, text) => { node.textContent = text; }",
                                                 who)
                inn = header_boxes(page)
                assert inn["header"] == out["header"], (party.key, who, inn, out)
                # brand, nav, session and clock on one row: each starts above the brand's end
                for part in ("nav", "session", "time"):
                    assert inn[part] < inn["brandBottom"], (party.key, who, part, inn)
                assert inn["overflow"] <= 0
            screenshot(page, f"header-1366-{party.key}.png")
            page.get_by_role("button", name="退出").click()
            expect(page.locator("#whoami")).to_be_hidden()
        # At phone width the header wraps, but nothing is wider than the screen.
        log_in(page, seed.procurer.username, seed.procurer.password)
        expect(page.locator("#whoami")).to_be_visible()
        page.set_viewport_size({"width": 375, "height": 740})
        assert header_boxes(page)["overflow"] <= 0
        screenshot(page, "header-375.png")
        expect(page.get_by_role("button", name="退出")).to_be_visible()
    finally:
        context.close()
    assert problems == []


# ---------------------------------------------------------------------------- the hall


def test_a_missing_section_shows_only_the_error(browser: Browser, server: InProcessServer
                                                ) -> None:
    context, page, problems = new_page(browser, server)
    try:
        page.goto("/hall.html?section=999999")
        expect(page.get_by_role("alert")).to_contain_text("该标段不存在或尚未发布公告",
                                                          timeout=20_000)
        expect(page.locator("#hall-page")).to_be_hidden()
        expect(page.locator("#hall-connecting")).to_be_hidden()
        assert "—" not in page.locator("main").inner_text()  # rendered text only
        page.goto("/hall.html")
        expect(page.get_by_role("alert")).to_contain_text("未指定标段")
        expect(page.locator("#hall-page")).to_be_hidden()
        assert "—" not in page.locator("main").inner_text()  # rendered text only
    finally:
        context.close()
    assert problems == []


def test_the_hall_log_has_a_placeholder_until_its_first_line(page: Page, server: InProcessServer,
                                                             seed: Seed) -> None:
    project = announced_project(server, seed)
    page.goto(f"/hall.html?section={project['sections'][0]['id']}")
    expect(page.locator("#hall-page")).to_be_visible()
    log = page.get_by_role("log", name="现场记录")
    placeholder = page.locator("#event-log-empty")
    # Before the deadline nothing has happened in the room: the log says so instead of nothing.
    expect(log.locator("li")).to_have_count(0)
    expect(placeholder).to_be_visible()
    expect(placeholder).to_contain_text("尚无现场记录")
    # (test_hall.py: the placeholder goes once the first line is logged.)


# ---------------------------------------------------------------------------- validation


def expect_message(page: Page, label: str, message: str) -> None:
    control = page.get_by_label(label, exact=True)
    expect(control).to_have_attribute("aria-invalid", "true")
    described = control.get_attribute("aria-describedby") or ""
    error = page.locator(f"#{control.get_attribute('id')}-error")
    assert error.get_attribute("id") in described.split()
    expect(error).to_have_text(message)
    expect(error).to_have_attribute("role", "alert")
    # The browser's own message would be English here; the page never shows it.
    assert re.search(r"[A-Za-z]{4}", error.inner_text()) is None


def every_form_is_novalidate(page: Page) -> None:
    assert page.evaluate("[...document.forms].every((form) => form.noValidate)")
    assert page.evaluate("document.forms.length") > 0


def test_forms_speak_the_pages_chinese_in_an_en_us_browser(en_page: Page,
                                                           server: InProcessServer,
                                                           seed: Seed) -> None:
    page = en_page
    project = announced_project(server, seed)
    section_id = project["sections"][0]["id"]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url)
            if request.method == "POST" else None)

    # login.html: nothing typed: the page's message next to each control, and no request.
    page.goto("/login.html")
    every_form_is_novalidate(page)
    page.get_by_role("button", name="登录").click()
    expect_message(page, "用户名", "请填写用户名")
    expect_message(page, "密码", "请填写密码")
    expect(page.get_by_label("用户名")).to_be_focused()
    assert requests == []
    page.get_by_label("用户名").fill(seed.agency.username)
    expect(page.locator("#username-error")).to_have_count(0)
    expect(page.get_by_label("用户名")).not_to_have_attribute("aria-invalid", "true")
    page.get_by_label("密码").fill(seed.agency.password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/projects\.html$"))

    # agency.html: the region code has its own pattern.
    page.goto("/agency.html")
    every_form_is_novalidate(page)
    page.get_by_label("行政区划代码").fill("12")
    requests.clear()
    page.get_by_role("button", name="登记项目").click()
    expect_message(page, "项目名称", "请填写项目名称")
    expect(page.get_by_label("项目名称")).to_be_focused()
    expect(page.locator("#p-region-error")).to_contain_text("行政区划代码")
    screenshot(page, "agency-checks.png")
    assert requests == []

    # keys.html: a backup password too short.
    page.goto("/keys.html")
    every_form_is_novalidate(page)
    generate = page.get_by_role("form", name="生成加密密钥")
    generate.get_by_label("备份密码", exact=True).fill("short")
    generate.get_by_role("button", name="生成密钥对").click()
    password = generate.get_by_label("备份密码", exact=True)
    expect(page.locator(f"#{password.get_attribute('id')}-error")).to_have_text(
        "备份密码至少 8 个字符（现为 5 个）")
    expect(page.locator("#g-password2-error")).to_have_text("请再次输入备份密码")
    assert requests == []

    # bid.html, as a bidder: a price that is no amount, a duration below 1.
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/index\.html$"))
    logged_in(page, seed.bidder1)
    page.goto(f"/bid.html?section={section_id}")
    every_form_is_novalidate(page)
    requests.clear()
    page.locator("#b-price").fill("12,5")
    page.locator("#b-duration").fill("0")
    page.locator("#bid-form").evaluate("(form) => form.requestSubmit()")
    expect(page.locator("#b-price-error")).not_to_be_empty()
    expect(page.locator("#b-duration-error")).to_contain_text("不能小于 1")
    assert requests == []

    # hall.html keeps its own checks (data-checks="own"), also novalidate.
    page.goto(f"/hall.html?section={section_id}")
    expect(page.locator("#hall-page")).to_be_visible()
    every_form_is_novalidate(page)


# ---------------------------------------------------------------------------- quality bars


def test_the_quality_bars_catch_what_they_look_for(page: Page) -> None:
    """The harness of tests/browser/quality.py is no empty ritual: on a real page, a button
    without a name is a critical axe violation and a too-wide block is sideways scrolling."""
    page.goto("/index.html")
    expect(page.get_by_role("banner")).to_be_visible()
    assert quality.axe_violations(page) == []
    assert quality.overflow(page) == 0
    page.evaluate("""() => {
        document.getElementById('main').append(document.createElement('button'));
    }""")
    assert [v["id"] for v in quality.axe_violations(page)] == ["button-name"]
    page.locator("#main").evaluate("(main) => { main.style.minWidth = '3000px'; }")
    assert quality.overflow(page) > 0
