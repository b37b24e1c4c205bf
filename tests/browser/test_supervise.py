"""The supervisor's read-only project view (supervise.html): opened from 我的项目, it shows the
project's file and timeline and holds nothing that changes anything."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser import quality
from tests.browser.test_bid import announced_project, api
from tests.browser.test_ui import log_in
from tests.support import Seed
from tradesys.demo.server import InProcessServer


def test_supervisor_opens_the_read_only_view_from_my_projects(
        page: Page, server: InProcessServer, seed: Seed) -> None:
    project = announced_project(server, seed)
    with api(server, seed.supervisor) as client:
        before = client.get(f"/projects/{project['id']}/timeline").json()
    log_in(page, seed.supervisor.username, seed.supervisor.password)
    # Logging in lands on 我的项目.
    expect(page).to_have_url(re.compile(r"/projects\.html$"))
    row = page.get_by_role("row").filter(has_text=project["code"])
    # A supervisor's only action is 查看; never the agency page nor the tender page.
    expect(row.get_by_role("link")).to_have_count(1)
    row.get_by_role("link", name=f"查看：{project['name']}").click()
    expect(page).to_have_url(f"{server.url}/supervise.html?project={project['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"项目监督查看：{project['name']}")
    timeline = page.locator("#timeline li")
    expect(timeline).to_have_count(len(before["items"]))
    expect(timeline.nth(0)).to_contain_text("项目登记")
    expect(page.locator("#timeline")).to_contain_text("发布公告")
    main = page.locator("main")
    expect(main.locator("form, button, input, select, textarea")).to_have_count(0)
    quality.check(page, "supervise-project")
    with api(server, seed.supervisor) as client:
        assert client.get(f"/projects/{project['id']}/timeline").json() == before
