"""keys.html: a registered key whose private half is not in this browser (the seeded bidder key
was registered through the API from a key file) can still be revoked — revoking needs only the
login. It asks once more in the row; the revoked key is shown so and read back so."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import quality
from tests.browser.support import api
from tests.browser.test_ui import log_in
from tests.support import Seed
from tradesys.demo.server import InProcessServer

pytestmark = pytest.mark.browser


def test_a_key_not_in_this_browser_is_revoked_with_the_login_alone(
        page: Page, server: InProcessServer, seed: Seed) -> None:
    with api(server, seed.bidder1) as client:
        key = client.get("/keys").json()["items"][0]
    log_in(page, seed.bidder1.username, seed.bidder1.password)
    expect(page).to_have_url(re.compile(r"/projects\.html$"))
    page.goto("/keys.html")
    row = page.locator("#key-rows tr", has_text=key["key_id"])
    expect(row).to_contain_text("本浏览器中没有")
    expect(row).to_contain_text("有效")
    name = f"投标文件加密密钥 {key['key_id'][:16]}"
    row.get_by_role("button", name=f"撤销{name}").click()
    # Cancelling asks nothing and changes nothing.
    row.get_by_role("button", name="取消").click()
    expect(row.get_by_role("button", name=f"撤销{name}")).to_be_focused()
    row.get_by_role("button", name=f"撤销{name}").click()
    quality.check(page, "keys-revoke-confirm")
    with api(server, seed.bidder1) as client:
        assert client.get("/keys").json()["items"][0]["revoked_at"] is None
    row.get_by_role("button", name=f"确认撤销{name}").click()
    expect(page.get_by_role("status")).to_contain_text(f"已撤销{name}")
    expect(row).to_contain_text("已撤销")
    expect(row.get_by_role("button")).to_have_count(0)
    with api(server, seed.bidder1) as client:
        assert client.get("/keys").json()["items"][0]["revoked_at"] is not None
