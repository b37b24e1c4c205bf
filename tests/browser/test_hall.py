"""Bid openings in the hall (开标大厅), in Debian's chromium: the host (agency), three
bidders, the procurer, a supervisor and, at the end, a member of the public, each in a browser
context of its own, all on hall.html over the room's WebSocket.

The bidders seal their bids in their browsers (bid.html) with their registered keys kept in
IndexedDB; at the opening each unwraps its own bidder share in the page and releases it; the
host, the procurer and the supervisor unwrap and release their opening-key shares in theirs (2
of 3 needed). Then the price reading, the record, an objection answered, the confirmations and
the close; the observer, arriving last and not logged in, is shown the same final record and
prices, and no chat.

Each bidder confirms the record with its own signature: two make and register their signing
keys on keys.html beforehand, the third only when the hall tells it it has none (following the
page's link to keys.html). Each confirmation comes with the platform's countersigned receipt,
verified offline; every confirmation in the published record is verified offline too, in
Python, from the record alone (key id = SHA-256 of the public key, ECDSA P-256 over the signed
message).

A second test: too few bids, so the host declares the tender failed (流标) with the in-page
form; meanwhile a bidder is muted, and an observer's connection stalls, is dropped with 4008
(slow consumer) and resumes with ``after=N``, missing nothing and repeating nothing.

The server clock is frozen; the test moves it across the bid deadline. The scheduler runs (it
publishes the bid list at the deadline and opens bids as their shares arrive), waking whenever
the clock moves or a share is released.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    Page,
    WebSocketRoute,
    expect,
)
from starlette.applications import Starlette

from tests.browser.support import Person, announced_project, person, row, verify_confirmation
from tests.browser.test_bid import PASSWORD
from tests.browser.test_ui import log_in, screenshot
from tests.support import T0, Party, Seed
from tradesys.app import create_app
from tradesys.bids.encoding import b64u, unb64u
from tradesys.bids.keys import PrivateKey
from tradesys.bids.receipts import verify_receipt_file
from tradesys.bids.seal import seal
from tradesys.bids.upload_client import submit_envelope
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings

pytestmark = pytest.mark.browser

DEADLINE = T0 + timedelta(days=21)  # tests/support.py key_times
PRICES = ("9300000.00", "9150000.50", "9420000.00")
MANAGERS = ("张三", "李四", "王五")
SHOWN_PRICES = ("9,300,000.00 元", "9,150,000.50 元", "9,420,000.00 元")

#: Keeps a registered key pair in this browser's IndexedDB, as keys.html does after a backup
#: import: the test parties' keys were made outside the browser (tests/conftest.py).
KEEP_KEY = """async ({d, x, y}) => {
    const envelope = await import(new URL('js/envelope.js', location.href).href);
    const keyring = await import(new URL('js/keyring.js', location.href).href);
    const privateKey = await envelope.importPrivateKeyJwk({d, x, y});
    const publicKey = envelope.concat(new Uint8Array([4]), envelope.unb64u(x), envelope.unb64u(y));
    return keyring.storeLocal({privateKey, publicKey});
}"""


@pytest.fixture
def web_app(settings: Settings, clock: AdjustableClock) -> Starlette:
    """With the scheduler: the opening's time-driven steps (publishing the bid list at the
    deadline, opening bids as their shares arrive) are its jobs."""
    return create_app(replace(settings, scheduler_interval=0.2), clock=clock,
                      run_scheduler=True)


def jwk(key: PrivateKey) -> dict[str, str]:
    numbers = key.private_numbers()
    public = numbers.public_numbers
    return {"d": b64u(numbers.private_value.to_bytes(32, "big")),
            "x": b64u(public.x.to_bytes(32, "big")), "y": b64u(public.y.to_bytes(32, "big"))}


def logged_in(who: Person, party: Party) -> None:
    log_in(who.page, party.username, party.password)
    expect(who.page).to_have_url(re.compile(r"/projects\.html$"))


def keep_key(who: Person, party: Party) -> None:
    assert party.private_key is not None
    key_id = who.page.evaluate(KEEP_KEY, jwk(party.private_key))
    assert re.fullmatch(r"[0-9a-f]{64}", key_id)


def seal_bid(who: Person, section_id: int, price: str, manager: str) -> None:
    page = who.page
    page.goto(f"/bid.html?section={section_id}")
    expect(page.locator("#key-state")).to_contain_text("使用本浏览器中的投标密钥")
    page.get_by_label("投标报价").fill(price)
    page.get_by_label("工期（日历天）").fill("365")
    page.get_by_label("质量").fill("合格")
    page.get_by_label("项目经理").fill(manager)
    page.get_by_label("投标文件", exact=True).set_input_files(files=[{
        "name": "投标文件.pdf", "mimeType": "application/pdf",
        "buffer": f"%PDF-1.4\n% bid of {who.name}\n".encode() * 64}])
    page.get_by_role("button", name="加密并递交").click()
    expect(page.get_by_role("heading", name="投标回执")).to_be_focused()


def make_signing_key(page: Page) -> dict[str, str]:
    """On keys.html, as a user: 生成签名密钥, download its backup, register the public key."""
    form = page.get_by_role("form", name="生成签名密钥")
    form.get_by_label("备份密码", exact=True).fill(PASSWORD)
    form.get_by_label("再次输入备份密码").fill(PASSWORD)
    form.get_by_role("button", name="生成签名密钥").click()
    expect(page.get_by_role("heading", name="新签名密钥已生成")).to_be_focused()
    register = page.get_by_role("button", name="登记签名公钥")
    expect(register).to_be_disabled()  # not before the backup is saved
    with page.expect_download() as download:
        page.get_by_role("link", name="下载签名密钥备份文件").click()
    assert download.value.suggested_filename.startswith("签名密钥备份-")
    backup: dict[str, str] = json.loads(Path(download.value.path()).read_bytes())
    assert (backup["format"], backup["purpose"]) == ("tradesys-key-backup", "signing")
    register.click()
    expect(page.get_by_role("status")).to_contain_text("公钥已登记（签名密钥（电子签名））")
    expect(page.locator("#key-rows tr", has_text="签名密钥")).to_contain_text("已保存在本浏览器")
    return backup


def test_a_whole_opening_in_the_hall(browser: Browser, server: InProcessServer,
                                     web_app: Starlette, seed: Seed,
                                     clock: AdjustableClock) -> None:
    project = announced_project(server, seed)
    section = project["sections"][0]
    section_id = section["id"]
    hall = f"/hall.html?section={section_id}"
    parties = [seed.bidder1, seed.bidder2, seed.bidder3]
    names = [f"{party.key} 有限公司" for party in parties]

    with ExitStack() as stack:
        # -------------------------------------------------------- sealed bids, at T0
        bidders = [person(stack, browser, server, party.key) for party in parties]
        for who, party, price, manager in zip(bidders, parties, PRICES, MANAGERS, strict=True):
            logged_in(who, party)
            keep_key(who, party)
            seal_bid(who, section_id, price, manager)
        # Two bidders make their signing keys now; the first waits until the hall asks.
        backups: dict[str, dict[str, str]] = {}
        for who, party in zip(bidders[1:], parties[1:], strict=True):
            who.page.goto("/keys.html")
            backups[party.credit_code] = make_signing_key(who.page)

        # -------------------------------------------------------- five minutes before the deadline
        # (sessions last 8 hours: everyone logs in again on the day)
        clock.set(DEADLINE - timedelta(minutes=5))
        host = person(stack, browser, server, "host")
        procurer = person(stack, browser, server, "procurer")
        supervisor = person(stack, browser, server, "supervisor")
        holders = ((host, seed.agency), (procurer, seed.procurer), (supervisor, seed.supervisor))
        for who, party in holders:
            logged_in(who, party)
            keep_key(who, party)
        for who, party in zip(bidders, parties, strict=True):
            logged_in(who, party)
        everyone = [host, procurer, supervisor, *bidders]
        for who in everyone:
            who.page.goto(hall)
            expect(who.page.locator("#connection")).to_have_text("已连接")
            expect(who.page.locator("#phase")).to_have_text("等待开标")
        page = host.page
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"开标大厅：{section['code']} {section['name']}")
        expect(page.locator("#audience")).to_contain_text("主持人")
        expect(page.locator("#ceiling-price")).to_have_text("950,000.00 元")
        expect(page.locator("#bid-deadline")).to_have_text("2026-03-23 09:00:00")
        # Server time, in Beijing, although the browsers run in Los Angeles. (The server's
        # clock is frozen; the page's runs on from the offset until the next ping.)
        expect(page.locator("#hall-clock")).to_have_text(re.compile(r"^2026-03-23 08:5[56]:\d\d$"))
        expect(page.locator("#countdown")).to_have_text(re.compile(r"^00:0[45]:\d\d$"))
        expect(page.get_by_role("button", name="开始解密")).to_be_disabled()
        expect(bidders[0].page.locator("#audience")).to_contain_text("投标人")
        expect(procurer.page.locator("#audience")).to_contain_text("招标人")
        expect(procurer.page.locator("#host-panel")).to_be_hidden()
        expect(bidders[0].page.locator("#host-panel")).to_be_hidden()
        expect(supervisor.page.locator("#audience")).to_contain_text("监督人员（只读）")
        expect(supervisor.page.locator("#chat-panel")).to_be_visible()
        expect(supervisor.page.locator("#chat-form")).to_be_hidden()
        expect(bidders[0].page.locator("#holder-panel")).to_be_hidden()
        # Chat is closed to bidders before the deadline (a message would tell the others who
        # has bid): no input box, a line saying why; the host and the procurer may speak.
        for who in bidders:
            expect(who.page.locator("#chat-panel")).to_be_visible()
            expect(who.page.get_by_label("消息内容")).to_be_hidden()
            expect(who.page.locator("#chat-closed")).to_be_visible()
            expect(who.page.locator("#chat-closed")).to_contain_text("投标人名单公布后方可在交流区发言")
        for who in (host, procurer):
            expect(who.page.get_by_label("消息内容")).to_be_visible()
            expect(who.page.locator("#chat-closed")).to_be_hidden()

        # 签到 before the deadline stays private to each bidder.
        for who in bidders[:2]:
            who.page.get_by_role("button", name="签到").click()
            expect(who.page.get_by_role("status")).to_contain_text("签到成功")
            expect(who.page.get_by_role("button", name="已签到")).to_be_disabled()

        # -------------------------------------------------------- the deadline passes
        clock.advance(timedelta(minutes=6))
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("投标人名单已公布")
            expect(who.page.locator("#bid-rows tr")).to_have_count(3)
        # The list is out: the bidders' chat input appears as it happens (no reload).
        for who in bidders:
            expect(who.page.locator("#chat-closed")).to_be_hidden()
            expect(who.page.get_by_label("消息内容")).to_be_visible()
        bidders[1].page.get_by_label("消息内容").fill("各位好，已到开标时间。")
        bidders[1].page.get_by_role("button", name="发送").click()
        expect(page.locator("#chat-log")).to_contain_text(
            f"{names[1]}（投标人）：各位好，已到开标时间。")
        expect(page.locator("#countdown")).to_have_text("已到开标时间")
        for name in names[:2]:
            expect(row(page, name)).to_contain_text("已签到")
        expect(row(page, names[2])).to_contain_text("未签到")
        bidders[2].page.get_by_role("button", name="签到").click()
        expect(row(page, names[2])).to_contain_text("已签到")
        expect(page.locator("#event-log")).to_contain_text(f"{names[2]} 已签到")
        expect(page.locator("#event-log-empty")).to_be_hidden()  # its placeholder went away
        expect(row(page, names[0])).to_contain_text(parties[0].credit_code)

        # The key holders (host, procurer, supervisor) release their opening-key shares (2 of
        # 3 needed), each unwrapped in the holder's own page with the key kept there.
        expect(page.locator("#holder-progress")).to_have_text("已释放 0 份，需 2 份（共 3 份）")
        for count, (who, _) in enumerate(holders, start=1):
            who.page.get_by_role("button", name="释放开标密钥份额").click()
            expect(who.page.get_by_role("button", name="已释放开标密钥份额")).to_be_disabled()
            expect(bidders[0].page.locator("#holder-progress")).to_have_text(
                f"已释放 {count} 份，需 2 份（共 3 份）")

        # -------------------------------------------------------- decryption
        page.get_by_role("button", name="开始解密").click()
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("解密中")
        expect(page.locator("#window-left")).to_contain_text(re.compile(r"00:(30:00|29:\d\d)"))
        for who in bidders:
            who.page.get_by_role("button", name="解密", exact=True).click()
        # The scheduler opens each bid as its share arrives; the window ends by itself once
        # every bid has its outcome.
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("解密结束")
        for name in names:
            expect(row(page, name)).to_contain_text("已解密")
        expect(page.locator("#decrypt-progress")).to_contain_text("已开启 3 / 3 家")
        # The released opening-key shares are gone from the platform, and the page says so.
        expect(page.locator("#event-log")).to_contain_text("已释放的开标密钥份额已从平台删除")

        # -------------------------------------------------------- 唱标
        read = page.get_by_role("button", name="唱标（下一家）")
        for number, (name, shown) in enumerate(zip(names, SHOWN_PRICES, strict=True), start=1):
            read.click()
            for who in (page, bidders[2].page):
                expect(row(who, name)).to_contain_text(shown)
            expect(page.locator("#event-log")).to_contain_text(f"唱标（第 {number} 家）：{name}")
        expect(page.locator("#phase")).to_have_text("唱标")
        expect(read).to_be_disabled()
        expect(row(bidders[0].page, names[1])).to_contain_text(MANAGERS[1])

        # -------------------------------------------------------- the record, an objection
        page.get_by_role("button", name="生成开标记录").click()
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("开标记录确认中")
        draft = page.locator("#record-sha256").text_content()
        assert draft and re.fullmatch(r"[0-9a-f]{64}", draft)
        expect(bidders[1].page.locator("#record-sha256")).to_have_text(draft)

        objection = "第二家报价的小数位唱读不清，请主持人复核。"
        bidders[1].page.get_by_label("异议内容").fill(objection)
        bidders[1].page.get_by_role("button", name="提出异议").click()
        expect(page.locator("#objections")).to_contain_text(objection)
        answer = "已复核：报价为 9,150,000.50 元，与开标一览表一致。"
        item = page.locator("#objections li", has_text=objection)
        item.get_by_label("答复内容").fill(answer)
        item.get_by_role("button", name="答复异议").click()
        for who in (page, bidders[1].page, procurer.page):
            expect(who.locator("#objections")).to_contain_text(f"主持人答复：{answer}")

        # Chat among the participants.
        procurer.page.get_by_label("消息内容").fill("招标人已到场。")
        procurer.page.get_by_role("button", name="发送").click()
        expect(bidders[0].page.locator("#chat-log")).to_contain_text("招标人已到场。")

        # The host cannot close while bidders may still confirm.
        page.get_by_role("button", name="结束开标").click()
        expect(page.locator('[data-error-for~="close"]')).to_contain_text("确认时间未到")
        # The first bidder has no signing key: the page says so and links to keys.html,
        # where it makes one (beside the hall, which stays open), then confirms.
        first = bidders[0].page
        first.get_by_role("button", name="确认开标记录").click()
        slot = first.locator('[data-error-for~="confirm_record"]')
        expect(slot).to_contain_text("贵单位尚未登记签名密钥")
        expect(first.get_by_role("button", name="确认开标记录")).to_be_enabled()
        expect(page.locator("#confirm-count")).to_have_text("0 / 3 家")
        screenshot(first, "hall-no-signing-key.png")
        with first.expect_popup() as popup:
            slot.get_by_role("link", name="生成并登记签名密钥").click()
        keys_page = popup.value
        keys_page.on("pageerror", lambda error: bidders[0].problems.append(f"keys: {error}"))
        expect(keys_page).to_have_url(re.compile(r"/keys\.html$"))
        backups[parties[0].credit_code] = make_signing_key(keys_page)
        screenshot(keys_page, "keys-signing.png")
        keys_page.close()
        receipt_key = web_app.state.services.receipt_key.public_key()
        for who, name in zip(bidders, names, strict=True):
            who.page.get_by_role("button", name="确认开标记录").click()
            expect(who.page.get_by_role("button", name="已确认开标记录")).to_be_disabled()
            expect(who.page.get_by_role("status")).to_contain_text("已用贵单位的签名密钥签名确认开标记录")
            # The platform countersigns the confirmation: the file verifies offline.
            with who.page.expect_download() as download:
                who.page.get_by_role("link", name="下载确认回执（开标记录确认回执.json）").click()
            assert download.value.suggested_filename == "开标记录确认回执.json"
            receipt_bytes = Path(download.value.path()).read_bytes()
            assert verify_receipt_file(receipt_bytes, receipt_key) == (True, "genuine")
            confirmation = json.loads(receipt_bytes)["receipt"]
            assert (confirmation["record_sha256"], confirmation["bidder"]) == (draft, name)
        expect(page.locator("#confirm-count")).to_have_text("3 / 3 家")
        # Each confirmation is shown signed, with its key, checked in every page.
        for name, party in zip(names, parties, strict=True):
            key_id = hashlib.sha256(unb64u(backups[party.credit_code]["public_key"])).hexdigest()
            for who in (page, bidders[2].page):
                expect(who.locator("#confirmations li", has_text=name)).to_have_text(
                    f"{name} 已确认，已签名（签名密钥 {key_id[:8]} {key_id[8:16]}，"
                    "本页已核验签名）")

        # -------------------------------------------------------- the close
        page.get_by_role("button", name="结束开标").click()
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("开标结束")
        final = page.locator("#final-sha256").text_content()
        assert final and re.fullmatch(r"[0-9a-f]{64}", final) and final != draft
        expect(page.get_by_role("link", name="开标记录（JSON）")).to_be_visible()
        record_url = page.get_by_role("link", name="开标记录（JSON）").get_attribute("href")
        assert record_url
        published = httpx.get(f"{server.url}{record_url}", timeout=10)
        assert published.status_code == 200
        assert hashlib.sha256(published.content).hexdigest() == final
        # Every confirmation verifies offline from the published record alone, with the key
        # its bidder made in its browser.
        confirmations = json.loads(published.content)["confirmations"]
        assert sorted(c["credit_code"] for c in confirmations) == sorted(backups)
        for confirmation in confirmations:
            assert confirmation["public_key"] == backups[confirmation["credit_code"]]["public_key"]
            verify_confirmation(confirmation, section["code"], draft, confirmation["credit_code"])
        screenshot(page, "hall-host.png")

        # -------------------------------------------------------- the public, afterwards
        observer = person(stack, browser, server, "observer")
        observer.page.goto(hall)
        view = observer.page
        expect(view.locator("#phase")).to_have_text("开标结束")
        expect(view.locator("#audience")).to_contain_text("公众")
        expect(view.locator("#final-sha256")).to_have_text(final)
        expect(view.locator("#record-sha256")).to_have_text(draft)
        for name, shown in zip(names, SHOWN_PRICES, strict=True):
            expect(row(view, name)).to_contain_text(shown)
        expect(view.locator("#objections")).to_contain_text(answer)
        expect(view.locator("#confirmations li", has_text="本页已核验签名")).to_have_count(3)
        expect(view.locator("#chat-panel")).to_be_hidden()
        expect(view.locator("#event-log")).to_contain_text("开标结束，开标记录已公布")
        expect(view.locator("#event-log")).not_to_contain_text("招标人已到场")
        expect(view.get_by_role("link", name="开标记录（PDF）")).to_be_visible()
        for panel in ("#host-panel", "#bidder-panel", "#holder-panel"):
            expect(view.locator(panel)).to_be_hidden()
        screenshot(view, "hall-observer.png")

        problems = [problem for who in (*everyone, observer) for problem in who.problems]
        assert problems == []


def submit_sealed(server: InProcessServer, section_id: int, party: Party, price: str,
                  folder: Path) -> None:
    """A bid sealed outside the browser (as ``tradesys bidder seal`` does) and uploaded."""
    assert party.private_key is not None
    with httpx.Client(base_url=server.url, headers=party.auth, timeout=10) as client:
        sealing = client.get(f"/api/v1/sections/{section_id}/sealing").json()
        data = f"投标文件 {party.key}".encode() * 100
        envelope = folder / f"{party.key}.bid"
        with envelope.open("wb") as out:
            seal(io.BytesIO(data), len(data), out, section_code=sealing["section_code"],
                 bidder_code=party.credit_code,
                 bidder_public_key=party.private_key.public_key(),
                 opening_public_key=sealing["opening_public_key"],
                 summary={"price": price, "currency": "CNY", "duration_days": 300,
                          "quality": "合格", "project_manager": "赵六"}, chunk_size=4096)
        submit_envelope(client, section_id, envelope)


def test_too_few_bids_fail_while_a_dropped_connection_catches_up(
        browser: Browser, server: InProcessServer, web_app: Starlette, seed: Seed,
        clock: AdjustableClock, tmp_path: Path) -> None:
    project = announced_project(server, seed)
    section_id = project["sections"][0]["id"]
    hall = f"/hall.html?section={section_id}"
    for party, price in ((seed.bidder1, "800000.00"), (seed.bidder2, "810000.00")):
        submit_sealed(server, section_id, party, price, tmp_path)
    clock.set(DEADLINE + timedelta(minutes=1))

    with ExitStack() as stack:
        host = person(stack, browser, server, "host")
        bidder = person(stack, browser, server, "bidder1")
        observer = person(stack, browser, server, "observer")
        logged_in(host, seed.agency)
        logged_in(bidder, seed.bidder1)

        # No such opening: the refused handshake is explained, not retried for ever.
        observer.page.goto("/hall.html?section=99999")
        expect(observer.page.get_by_role("alert")).to_contain_text("该标段不存在或尚未发布公告")
        expect(observer.page.locator("#connection")).to_have_text("连接已关闭")
        observer.problems.clear()  # chromium's console reports the refused handshakes

        # The observer's WebSocket runs through a relay that can stall it, like a slow
        # network: the server's messages stop reaching the page until the server drops it.
        urls: list[str] = []
        routes: list[WebSocketRoute] = []
        stalled: list[bool] = []

        def relay(route: WebSocketRoute) -> None:
            urls.append(route.url)
            routes.append(route)
            to_server = route.connect_to_server()

            def forward(message: str | bytes) -> None:
                if not stalled:
                    route.send(message)

            to_server.on_message(forward)

        observer.page.route_web_socket(re.compile(r"/hall/\d+/ws"), relay)
        for who in (host, bidder, observer):
            who.page.goto(hall)
            expect(who.page.locator("#phase")).to_have_text("投标人不足（流标待宣布）")
            expect(who.page.locator("#bid-rows tr")).to_have_count(2)
        page = host.page
        expect(page.locator("#event-log")).to_contain_text("少于 3 家，不予开标（流标待宣布）")
        expect(page.get_by_role("button", name="开始解密")).to_be_disabled()
        assert not re.search(r"after=", urls[0])

        # Chat, then the host mutes the bidder.
        bidder.page.get_by_label("消息内容").fill("请问何时宣布结果？")
        bidder.page.get_by_role("button", name="发送").click()
        expect(page.locator("#chat-log")).to_contain_text(
            "bidder1 有限公司（投标人）：请问何时宣布结果？")
        page.get_by_role("button", name="禁言：bidder1 有限公司").click()
        expect(page.get_by_role("button", name="解除禁言：bidder1 有限公司")).to_be_visible()
        expect(bidder.page.locator("#chat-muted")).to_be_visible()
        expect(bidder.page.get_by_role("button", name="发送")).to_be_disabled()
        expect(observer.page.locator("#chat-panel")).to_be_hidden()

        # The observer's connection stalls; the host pauses, announces and resumes.
        log = observer.page.locator("#event-log li")
        seen = log.count()
        stalled.append(True)
        page.get_by_label("暂停/恢复原因").fill("网络故障，暂停十分钟")
        page.get_by_role("button", name="暂停开标").click()
        expect(bidder.page.locator("#paused")).to_be_visible()
        page.get_by_label("现场公告").fill("请各投标人稍候。")
        page.get_by_role("button", name="公告", exact=True).click()
        page.get_by_label("暂停/恢复原因").fill("网络已恢复")
        page.get_by_role("button", name="恢复开标").click()
        expect(bidder.page.locator("#paused")).to_be_hidden()
        expect(bidder.page.locator("#event-log")).to_contain_text("开标恢复：网络已恢复")
        expect(log).to_have_count(seen)  # nothing reached the stalled page
        # The server gives up on it (4008); the page resumes after the last event it saw.
        stalled.clear()
        routes[0].close(code=4008, reason="slow_consumer")
        expect(observer.page.locator("#connection")).to_have_text("已连接")
        expect(log).to_have_count(seen + 3)
        expect(log.filter(has_text="主持人公告：请各投标人稍候。")).to_have_count(1)
        expect(observer.page.locator("#paused")).to_be_hidden()
        assert len(urls) == 2 and re.search(r"after=[1-9]\d*$", urls[1]), urls

        # 流标: the reason is asked for in the page, not in a browser prompt.
        toggle = page.get_by_role("button", name="宣布流标…")
        toggle.click()
        form = page.get_by_role("form", name="宣布流标")
        expect(form.get_by_label("流标原因")).to_be_focused()
        form.get_by_role("button", name="取消").click()
        expect(form).to_be_hidden()
        expect(toggle).to_be_focused()
        toggle.click()
        form.get_by_role("button", name="确认宣布流标").click()  # no reason: refused here
        expect(form.get_by_role("alert")).to_contain_text("请填写流标原因")
        reason = "递交投标文件的投标人少于 3 家，依法重新招标。"
        form.get_by_label("流标原因").fill(reason)
        form.get_by_role("button", name="确认宣布流标").click()
        for who in (host, bidder, observer):
            expect(who.page.locator("#phase")).to_have_text("流标")
            expect(who.page.locator("#failed-reason-text")).to_contain_text(reason)
        expect(form).to_be_hidden()
        link = observer.page.get_by_role("link", name="开标记录（JSON）")
        expect(link).to_be_visible()
        published = httpx.get(f"{server.url}{link.get_attribute('href')}", timeout=10)
        assert published.status_code == 200
        assert json.loads(published.content)["failed"]["reason"] == reason
        expect(log.filter(has_text="主持人宣布流标")).to_have_count(1)

        problems = [problem for who in (host, bidder, observer) for problem in who.problems]
        assert problems == []
