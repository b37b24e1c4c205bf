"""The demo you can watch: a real ``tradesys serve --demo --demo-opening-in 1m`` process, and in
Debian's chromium the people of the README's "Watch an opening": the host (the agency), the
other two key holders (procurer, supervisor) and the three bidders, each in a browser context of
its own. Each logs in with the password from ``var/demo-accounts.json`` and imports its keys on
keys.html from the backup files in ``var/demo-keys/`` (the same password); nothing else puts a
key into the browsers. Then the whole opening, from those pages: the bid list published by the
server's scheduler at the deadline, the key holders' shares, the bidders' decryption in their
pages, the price reading, the record confirmed with the imported signing keys, the close, and
the final record, verified offline.

The clock: the served process runs on the system clock; no clock of another process can be
injected, and a control to move a server's clock from outside is not something a trading
system should have. So the test spends the real minute before the deadline on what a person
would do in it (logging in, importing the keys, signing in) and then waits for the bid list, at
most the time left plus a margin, never a fixed sleep.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import Person, import_backup, person, row, verify_confirmation
from tests.browser.test_ui import log_in
from tests.hall.support import REPO, log_errors, serve_argv, serve_env
from tradesys.demo.seed import WATCH_NAME
from tradesys.demo.server import free_port

pytestmark = pytest.mark.browser

OPENING_IN = timedelta(minutes=1)
#: Migrations, the seed (three sealed bids, nine key backups) and the server's start.
STARTUP = 180.0
#: The prices the demo's bidders sealed (tradesys/demo/scenario.py, submit_bids), as shown.
SHOWN_PRICES = ("34,980,000.00 元", "35,050,000.00 元", "34,720,000.00 元")


@dataclass
class DemoServer:
    url: str
    data_dir: Path
    log_path: Path

    def errors(self) -> list[dict[str, Any]]:
        return log_errors(self.log_path.read_text(errors="replace"))


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    """``tradesys serve --demo --demo-opening-in 1m`` on a fresh data directory (its SQLite
    file inside), stopped (SIGTERM, then SIGKILL) on the way out."""
    port = free_port()
    data_dir = tmp_path / "var"
    served = DemoServer(f"http://127.0.0.1:{port}", data_dir, tmp_path / "serve.log")
    with served.log_path.open("ab") as log:
        process = subprocess.Popen(
            serve_argv(port, "--demo", "--demo-opening-in", "1m"), cwd=REPO,
            env=serve_env(data_dir), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            if process.poll() is not None:
                pytest.fail(f"tradesys serve --demo exited ({process.returncode}):\n"
                            f"{served.log_path.read_text(errors='replace')[-4000:]}")
            try:
                if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("tradesys serve --demo did not answer /healthz")
            time.sleep(0.1)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def logged_in(who: Person, account: dict[str, Any]) -> None:
    log_in(who.page, account["username"], account["password"])
    expect(who.page).to_have_url(re.compile(r"/projects\.html$"))


def with_keys(who: Person, account: dict[str, Any]) -> None:
    """Imports every backup the demo wrote for this account, with the account's password."""
    for entry in account["key_backups"]:
        import_backup(who.page, Path(entry["file"]), account["password"], entry["key_id"])


def test_a_demo_opening_run_from_the_written_key_backups(
        browser: Browser, demo_server: DemoServer) -> None:
    accounts = json.loads((demo_server.data_dir / "demo-accounts.json").read_text("utf-8"))
    by_role: dict[str, list[dict[str, Any]]] = {}
    for account in accounts.values():
        by_role.setdefault(account["role"], []).append(account)
    (agency,), (procurer,), (supervisor,) = (by_role[r] for r in ("agency", "procurer",
                                                                   "supervisor"))
    bidder_accounts = sorted(by_role["bidder"], key=lambda a: a["username"])
    names = [a["organisation"] for a in bidder_accounts]
    notices = httpx.get(f"{demo_server.url}/api/v1/notices", timeout=10).json()["items"]
    notice = next(n for n in notices if n["project_name"] == WATCH_NAME)
    bid_deadline = datetime.fromisoformat(notice["bid_deadline"])
    server_now = datetime.fromisoformat(
        httpx.get(f"{demo_server.url}/api/v1/time", timeout=10).json()["now"])
    assert timedelta(0) < bid_deadline - server_now <= OPENING_IN  # opening ahead, ≤ 1 minute

    with ExitStack() as stack:
        host = person(stack, browser, demo_server, "host")
        holders = [(host, agency), (person(stack, browser, demo_server, "procurer"), procurer),
                   (person(stack, browser, demo_server, "supervisor"), supervisor)]
        bidders = [(person(stack, browser, demo_server, a["username"]), a)
                   for a in bidder_accounts]
        everyone = [who for who, _ in (*holders, *bidders)]

        # The host finds the hall as the README says: 招标公告 → the tender → 进入开标大厅.
        logged_in(host, agency)
        host.page.goto("/index.html")
        host.page.get_by_role("link", name=notice["title"]).click()
        host.page.get_by_role("link", name="进入开标大厅").click()
        page = host.page
        expect(page.locator("#phase")).to_have_text("等待开标")
        expect(page.locator("#countdown")).to_have_text(re.compile(r"^00:0[01]:\d\d$"))
        hall = page.url

        # Everyone logs in, imports its keys from the written backups, and enters the hall.
        for who, account in (*holders, *bidders):
            if who is not host:
                logged_in(who, account)
            with_keys(who, account)
            who.page.goto(hall)
            expect(who.page.locator("#connection")).to_have_text("已连接")
        for who, _ in bidders:
            who.page.get_by_role("button", name="签到").click()
            expect(who.page.get_by_role("button", name="已签到")).to_be_disabled()

        # The server's scheduler publishes the bid list at the deadline (real time: see top).
        left = (bid_deadline - datetime.now(UTC)).total_seconds()
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text(
                "投标人名单已公布", timeout=max(left, 0) * 1000 + 30_000)
            expect(who.page.locator("#bid-rows tr")).to_have_count(3)
        for name in names:
            expect(row(page, name)).to_contain_text("已签到")

        # The key holders release their opening-key shares, unwrapped with the imported keys.
        for count, (who, _) in enumerate(holders, start=1):
            who.page.get_by_role("button", name="释放开标密钥份额").click()
            expect(who.page.get_by_role("button", name="已释放开标密钥份额")).to_be_disabled()
            expect(page.locator("#holder-progress")).to_have_text(
                f"已释放 {count} 份，需 2 份（共 3 份）")

        # Decryption: each bidder's share, unwrapped in its page with its imported key.
        page.get_by_role("button", name="开始解密").click()
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("解密中")
        for who, _ in bidders:
            who.page.get_by_role("button", name="解密", exact=True).click()
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("解密结束")
        for name in names:
            expect(row(page, name)).to_contain_text("已解密")

        # 唱标, then the record, confirmed with the imported signing keys.
        read = page.get_by_role("button", name="唱标（下一家）")
        for _ in names:
            read.click()
        expect(read).to_be_disabled()
        for name, shown in zip(names, SHOWN_PRICES, strict=True):
            for who in (page, bidders[0][0].page):
                expect(row(who, name)).to_contain_text(shown)
        page.get_by_role("button", name="生成开标记录").click()
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("开标记录确认中")
        draft = page.locator("#record-sha256").text_content()
        assert draft
        for who, _ in bidders:
            who.page.get_by_role("button", name="确认开标记录").click()
            expect(who.page.get_by_role("status")).to_contain_text(
                "已用贵单位的签名密钥签名确认开标记录")
        expect(page.locator("#confirm-count")).to_have_text("3 / 3 家")

        # The close and the final record.
        page.get_by_role("button", name="结束开标").click()
        for who in everyone:
            expect(who.page.locator("#phase")).to_have_text("开标结束")
        final = page.locator("#final-sha256").text_content()
        assert final and final != draft
        record_url = page.get_by_role("link", name="开标记录（JSON）").get_attribute("href")
        published = httpx.get(f"{demo_server.url}{record_url}", timeout=10)
        assert published.status_code == 200
        assert hashlib.sha256(published.content).hexdigest() == final
        record = json.loads(published.content)
        assert record["version"] == "final"
        assert [b["outcome"] for b in record["bidders"]] == ["decrypted"] * 3
        signing = {a["credit_code"]: next(k["key_id"] for k in a["key_backups"]
                                          if k["purpose"] == "signing")
                   for a in bidder_accounts}
        assert sorted(c["credit_code"] for c in record["confirmations"]) == sorted(signing)
        for confirmation in record["confirmations"]:
            # Signed with the key from the demo's backup file, checked from the record alone.
            assert confirmation["key_id"] == signing[confirmation["credit_code"]]
            verify_confirmation(confirmation, record["section"]["code"], draft,
                                confirmation["credit_code"])

        assert [problem for who in everyone for problem in who.problems] == []
    assert demo_server.errors() == []
