"""A bidder in Debian's chromium: makes and registers a key on keys.html, restores it from its
backup, seals a bid IN THE BROWSER on bid.html, uploads the envelope resumably (one slice is cut
off on the way), keeps the signed receipt, withdraws, and meets the deadline.

The plaintext never reaches the server: a marker in the bid file and one in the bid summary
appear in no request the page sends, and nowhere in the database or the data directory.
SQLite only, like every browser test (see conftest.py). The server clock is frozen at T0.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Download, Page, Request, Route, expect
from starlette.applications import Starlette

from tests.browser.support import announced_project, api, grant_supervisor
from tests.browser.test_ui import log_in, screenshot
from tests.support import Seed, project_body
from tradesys.bids.encoding import unb64u
from tradesys.bids.keys import load_backup, public_key_text
from tradesys.bids.receipts import verify_receipt_file
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings

pytestmark = pytest.mark.browser

PASSWORD = "备份密码-correct-horse"
#: One upload slice (tradesys/static/js/resumable.js SLICE_BYTES).
SLICE = 8 * 1024 * 1024
#: Over one upload slice, so the envelope goes up in two PATCH requests.
BID_SIZE = SLICE + 512 * 1024


def bid_file(marker: bytes) -> bytes:
    """BID_SIZE bytes with the marker at the start, across the first slice boundary, and at
    the end."""
    filler = bytes(range(32, 127)) * (BID_SIZE // 95 + 1)
    data = bytearray(filler[:BID_SIZE])
    for at in (0, SLICE - len(marker) // 2, BID_SIZE - len(marker)):
        data[at:at + len(marker)] = marker
    return bytes(data)


def downloaded(download: Download) -> bytes:
    return Path(download.path()).read_bytes()


def files_holding(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_bidder_registers_a_key_seals_uploads_and_keeps_the_receipt(
        page: Page, server: InProcessServer, web_app: Starlette, seed: Seed, settings: Settings,
        clock: AdjustableClock, tmp_path: Path) -> None:
    bidder = seed.bidder1
    project = announced_project(server, seed)
    section = project["sections"][0]
    notice_id = project["notice"]["id"]
    marker = f"PLAINTEXT-MARKER-{uuid.uuid4().hex}".encode()
    summary_marker = f"SUMMARY-MARKER-{uuid.uuid4().hex}"

    # ------------------------------------------------------------------ keys.html
    log_in(page, bidder.username, bidder.password)
    expect(page).to_have_url(re.compile(r"/projects\.html$"))
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="加密密钥").click()
    expect(page.get_by_role("heading", name="加密密钥", level=1)).to_be_visible()
    rows = page.locator("#key-rows tr")
    expect(rows).to_have_count(1)  # the seed's key, made outside this browser
    expect(rows).to_contain_text("投标文件加密密钥")
    expect(rows).to_contain_text("本浏览器中没有")

    generate = page.get_by_role("form", name="生成加密密钥")
    generate.get_by_label("备份密码", exact=True).fill(PASSWORD)
    generate.get_by_label("再次输入备份密码").fill(PASSWORD + "x")
    generate.get_by_role("button", name="生成密钥对").click()
    expect(page.get_by_role("alert")).to_contain_text("两次输入的备份密码不一致")
    generate.get_by_label("备份密码", exact=True).fill(PASSWORD)
    generate.get_by_label("再次输入备份密码").fill(PASSWORD)
    generate.get_by_role("button", name="生成密钥对").click()
    expect(page.get_by_role("heading", name="新密钥已生成")).to_be_focused()
    register = page.get_by_role("button", name="登记公钥")
    expect(register).to_be_disabled()  # not before the backup is saved
    with page.expect_download() as backup_download:
        page.get_by_role("link", name="下载备份文件").click()
    backup_bytes = downloaded(backup_download.value)
    backup = json.loads(backup_bytes)
    assert backup["format"] == "tradesys-key-backup" and backup["iterations"] >= 600000
    assert backup_download.value.suggested_filename.startswith("密钥备份-")
    register.click()
    expect(page.get_by_role("status")).to_contain_text("公钥已登记（投标文件加密密钥）")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="已保存在本浏览器")).to_have_count(1)
    with api(server, bidder) as client:
        keys = client.get("/keys").json()["items"]
    assert [k["public_key"] for k in keys if k["user_id"] == bidder.user_id][-1] == (
        backup["public_key"])

    # Another computer (an empty IndexedDB): the key comes back from the backup file only.
    page.evaluate("""() => new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase('tradesys-keys');
        request.onsuccess = resolve; request.onerror = reject; })""")
    page.reload()
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="已保存在本浏览器")).to_have_count(0)
    backup_file = {"name": "密钥备份.json", "mimeType": "application/json", "buffer": backup_bytes}
    restore = page.get_by_role("form", name="从备份文件导入")
    restore.get_by_label("备份文件").set_input_files(files=[backup_file])
    restore.get_by_label("备份密码").fill("wrong password")
    restore.get_by_role("button", name="导入备份").click()
    expect(page.get_by_role("alert")).to_contain_text("密码错误或备份已损坏")
    expect(restore.get_by_label("备份密码")).to_be_focused()
    restore.get_by_label("备份密码").fill(PASSWORD)
    restore.get_by_role("button", name="导入备份").click()
    expect(page.get_by_role("status")).to_contain_text("已导入密钥")
    expect(rows.filter(has_text="已保存在本浏览器")).to_have_count(1)
    screenshot(page, "keys.png")

    # ------------------------------------------------------------------ bid.html
    page.goto(f"/notice.html?id={notice_id}")
    page.get_by_role("link", name=f"递交投标文件：{section['code']} {section['name']}").click()
    expect(page).to_have_url(re.compile(rf"/bid\.html\?section={section['id']}&notice={notice_id}$"))
    expect(page.locator("#section-code")).to_have_text(section["code"])
    expect(page.locator("#bid-deadline")).to_have_text("2026-03-23 09:00")  # T0 + 21 days
    expect(page.locator("#bidder-code")).to_have_text(bidder.credit_code)
    # Server time (T0), not the browser's: 21 days to go, give or take the seconds of the test.
    expect(page.locator("#countdown")).to_have_text(
        re.compile(r"^(21 天 00:00:00|20 天 23:5\d:\d\d)$"))
    key_id = hashlib.sha256(unb64u(backup["public_key"])).hexdigest()
    expect(page.locator("#key-state")).to_contain_text(
        f"使用本浏览器中的投标密钥 {key_id[:8]} {key_id[8:16]}")
    expect(page.locator("#bids-empty")).to_be_visible()

    page.get_by_label("投标报价").fill("9300000.00")
    expect(page.get_by_label("币种")).to_have_value("CNY")
    page.get_by_label("工期（日历天）").fill("365")
    page.get_by_label("质量").fill("合格")
    page.get_by_label("项目经理").fill(f"张三 {summary_marker}")
    page.get_by_label("投标文件", exact=True).set_input_files(files=[{
        "name": "投标文件.pdf", "mimeType": "application/pdf", "buffer": bid_file(marker)}])

    # Everything the page sends, and one upload slice cut off on the way (a network failure).
    sent: list[tuple[str, str, bytes]] = []
    cut: list[str] = []

    def record(request: Request) -> None:
        sent.append((request.method, request.url, request.post_data_buffer or b""))

    def flaky(route: Route) -> None:
        request = route.request
        if request.method == "PATCH" and request.headers.get("upload-offset") != "0" and not cut:
            cut.append(request.headers["upload-offset"])
            route.abort("connectionreset")
            return
        route.continue_()

    page.on("request", record)
    page.route("**/api/v1/uploads/*", flaky)
    page.get_by_role("button", name="加密并递交").click()
    receipt_heading = page.get_by_role("heading", name="投标回执")
    expect(receipt_heading).to_be_focused()
    expect(page.get_by_role("status")).to_contain_text(
        "投标文件已递交：平台已接收密文并签发回执，接收时间 2026-03-02 09:00:00（北京时间）")
    expect(page.locator("#receipt-section-code")).to_have_text(section["code"])
    expect(page.locator("#receipt-time")).to_have_text("2026-03-02 09:00:00")
    page.unroute("**/api/v1/uploads/*")
    screenshot(page, "bid.png")

    # The receipt, saved byte for byte, verifies against the platform's receipt key.
    with page.expect_download() as receipt_download:
        page.get_by_role("link", name="下载回执（回执.json）").click()
    assert receipt_download.value.suggested_filename == "回执.json"
    receipt_bytes = downloaded(receipt_download.value)
    services = web_app.state.services
    assert verify_receipt_file(receipt_bytes, services.receipt_key.public_key()) == (
        True, "genuine")
    receipt = json.loads(receipt_bytes)["receipt"]
    assert (receipt["section_id"], receipt["bidder_credit_code"]) == (section["id"],
                                                                    bidder.credit_code)
    expect(page.locator("#receipt-sha256")).to_have_text(receipt["envelope_sha256"])
    expect(page.locator("#receipt-size")).to_contain_text(f"{receipt['size']} 字节")

    # The resumed upload: the cut slice was asked for again from where the server stood.
    assert cut == [str(SLICE)]
    patches = [(url, body) for method, url, body in sent if method == "PATCH"]
    assert len(patches) == 3  # slice 1, slice 2 (cut off), slice 2 again
    assert len(patches[0][1]) + len(patches[2][1]) == receipt["size"]
    assert any(method == "GET" and re.search(r"/api/v1/uploads/[^/]+$", url)
               for method, url, _ in sent)
    # No request carried the plaintext: the bid file or its summary.
    for method, url, body in sent:
        assert marker not in body and summary_marker.encode() not in body, (method, url)

    # The server holds the envelope: one valid bid, as receipted.
    with api(server, bidder) as client:
        bids = client.get(f"/sections/{section['id']}/bids").json()["items"]
    assert [(b["status"], b["envelope_sha256"], b["size"]) for b in bids] == [
        ("valid", receipt["envelope_sha256"], receipt["size"])]
    stored = [path for path in settings.data_dir.rglob("*") if path.is_file()
              and path.stat().st_size == receipt["size"]]
    assert stored, "the envelope is not in the data directory"
    # …and nothing of the plaintext, anywhere in the database files or the data directory.
    for needle in (marker, summary_marker.encode()):
        assert files_holding(tmp_path, needle) == []

    bid_rows = page.locator("#bid-rows tr")
    expect(bid_rows).to_have_count(1)
    expect(bid_rows).to_contain_text("有效")

    # 撤回: asked first; cancelling changes nothing.
    withdraw = page.get_by_role("button", name="撤回投标文件")
    withdraw.click()
    dialog = page.get_by_role("dialog", name="确认撤回投标文件")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    expect(withdraw).to_be_focused()
    withdraw.click()
    dialog.get_by_role("button", name="确认撤回").click()
    expect(page.get_by_role("status")).to_contain_text("投标文件已撤回")
    expect(bid_rows).to_contain_text("已撤回")
    expect(withdraw).to_be_hidden()
    with api(server, bidder) as client:
        bids = client.get(f"/sections/{section['id']}/bids").json()["items"]
    assert [b["status"] for b in bids] == ["withdrawn"]

    # The server's clock passes the deadline while the page still counts down: the server
    # refuses, and the page says so in Chinese. (Sessions last 8 hours: log in again in
    # another tab of this browser, leaving this page as it was.)
    clock.advance(timedelta(days=21, minutes=1))
    other = page.context.new_page()
    log_in(other, bidder.username, bidder.password)
    expect(other).to_have_url(re.compile(r"/projects\.html$"))
    other.close()
    page.get_by_label("投标文件", exact=True).set_input_files(files=[{
        "name": "投标文件.pdf", "mimeType": "application/pdf", "buffer": b"late bid"}])
    page.get_by_role("button", name=re.compile("^加密并递交")).click()
    expect(page.get_by_role("alert")).to_contain_text("已过投标截止时间")
    page.reload()
    expect(page.locator("#countdown")).to_have_text("投标已截止")
    expect(page.get_by_role("button", name=re.compile("^加密并递交"))).to_be_disabled()


def test_a_supervisor_registers_a_holder_key(page: Page, server: InProcessServer,
                                              seed: Seed) -> None:
    supervisor = seed.supervisor
    log_in(page, supervisor.username, supervisor.password)
    expect(page).to_have_url(re.compile(r"/projects\.html$"))
    page.goto("/keys.html")
    expect(page.get_by_role("form", name="生成加密密钥")).to_contain_text("开标密钥持有人的密钥")
    generate = page.get_by_role("form", name="生成加密密钥")
    generate.get_by_label("备份密码", exact=True).fill(PASSWORD)
    generate.get_by_label("再次输入备份密码").fill(PASSWORD)
    generate.get_by_role("button", name="生成密钥对").click()
    with page.expect_download() as backup_download:
        page.get_by_role("link", name="下载备份文件").click()
    backup = json.loads(downloaded(backup_download.value))
    page.get_by_role("button", name="登记公钥").click()
    expect(page.get_by_role("status")).to_contain_text("公钥已登记（开标密钥持有人密钥）")
    with api(server, supervisor) as client:
        keys = client.get("/keys").json()["items"]
    assert [(k["purpose"], k["public_key"]) for k in keys][-1] == ("holder",
                                                                   backup["public_key"])

    # A signing key too (电子签名), kept apart from the encryption keys, restored from its backup.
    sign = page.get_by_role("form", name="生成签名密钥")
    sign.get_by_label("备份密码", exact=True).fill(PASSWORD)
    sign.get_by_label("再次输入备份密码").fill(PASSWORD)
    sign.get_by_role("button", name="生成签名密钥").click()
    expect(page.get_by_role("heading", name="新签名密钥已生成")).to_be_focused()
    with page.expect_download() as signing_download:
        page.get_by_role("link", name="下载签名密钥备份文件").click()
    signing_bytes = downloaded(signing_download.value)
    signing = json.loads(signing_bytes)
    assert signing["purpose"] == "signing" and signing["iterations"] >= 600000
    # The same backup format as the encryption keys: the Python tools open it too.
    assert public_key_text(load_backup(signing, PASSWORD.encode())) == signing["public_key"]
    page.get_by_role("button", name="登记签名公钥").click()
    expect(page.get_by_role("status")).to_contain_text("公钥已登记（签名密钥（电子签名））")
    with api(server, supervisor) as client:
        keys = client.get("/keys").json()["items"]
    assert [(k["purpose"], k["public_key"]) for k in keys][-1] == ("signing",
                                                                   signing["public_key"])
    rows = page.locator("#key-rows tr")
    expect(rows.filter(has_text="已保存在本浏览器")).to_have_count(2)
    page.evaluate("""() => new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase('tradesys-keys');
        request.onsuccess = resolve; request.onerror = reject; })""")
    page.reload()
    expect(rows.filter(has_text="已保存在本浏览器")).to_have_count(0)
    restore = page.get_by_role("form", name="从备份文件导入")
    restore.get_by_label("备份文件").set_input_files(files=[{
        "name": "签名密钥备份.json", "mimeType": "application/json", "buffer": signing_bytes}])
    restore.get_by_label("备份密码").fill(PASSWORD)
    restore.get_by_role("button", name="导入备份").click()
    expect(page.get_by_role("status")).to_contain_text("（签名密钥），私钥已保存在本浏览器中")
    kept = rows.filter(has_text="已保存在本浏览器")
    expect(kept).to_have_count(1)
    expect(kept).to_contain_text("签名密钥（电子签名）")
    # The restored key signs, and the registered public key checks the signature.
    assert page.evaluate("""async ({keyId, publicKey}) => {
        const keyring = await import(new URL('js/keyring.js', location.href).href);
        const signing = await import(new URL('js/signing.js', location.href).href);
        const pair = await keyring.loadLocal(keyId, 'signing');
        const bytes = new TextEncoder().encode('test');
        return signing.verify(publicKey, bytes, await signing.sign(pair.privateKey, bytes));
    }""", {"keyId": hashlib.sha256(unb64u(signing["public_key"])).hexdigest(),
          "publicKey": signing["public_key"]})


def test_announce_explains_missing_key_holders(page: Page, server: InProcessServer,
                                               seed: Seed) -> None:
    agency = seed.agency
    with api(server, agency) as client:
        project = client.post("/projects", json=project_body(seed.procurer)).json()
    grant_supervisor(server, seed, project["id"])  # the third holder: a granted supervisor
    log_in(page, agency.username, agency.password)
    expect(page).to_have_url(re.compile(r"/projects\.html$"))
    # Only one candidate has a holder key (as the server would say before the others register).
    candidates = f"**/api/v1/projects/{project['id']}/key-holder-candidates"
    page.route(candidates, lambda route: route.fulfill(json={"items": [{
        "user_id": agency.user_id, "display_name": "agency", "role": "agency",
        "organisation": "agency 有限公司"}]}))
    page.goto(f"/agency.html?project={project['id']}")
    missing = page.locator("#holders-missing")
    expect(missing).to_contain_text("可选的开标密钥持有人只有 1 位，至少需要 2 位，暂不能发布公告")
    expect(missing.get_by_role("link", name="加密密钥")).to_have_attribute("href", "keys.html")
    publish = page.get_by_role("button", name="发布公告")
    expect(publish).to_be_disabled()
    # The others register their keys; asking again offers all three.
    page.unroute(candidates)
    missing.get_by_role("button", name="重新获取持有人").click()
    holders = page.get_by_role("group", name="开标密钥持有人")
    expect(holders.get_by_role("checkbox")).to_have_count(3)
    expect(missing).to_be_hidden()
    expect(publish).to_be_enabled()
