"""The supervisor's read-only project view (supervise.html): opened from 我的项目, it shows the
project's file and timeline and holds nothing that changes anything."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser import quality
from tests.browser.support import announced_project, api, grant_supervisor
from tests.browser.test_ui import log_in
from tests.support import Seed, project_body
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
    # The tendering period's records stay on tender.html, one link away.
    expect(page.get_by_role("link", name=re.compile("^招标期间记录"))).to_have_attribute(
        "href", f"tender.html?project={project['id']}")
    main = page.locator("main")
    expect(main.locator("form, button, input, select, textarea")).to_have_count(0)
    quality.check(page, "supervise-project")
    with api(server, seed.supervisor) as client:
        assert client.get(f"/projects/{project['id']}/timeline").json() == before


def test_the_view_escapes_what_it_shows(page: Page, server: InProcessServer, seed: Seed) -> None:
    # A registered project (no notice yet) whose name is markup: shown as text, never run (the
    # page fixture fails the test on any dialog).
    name = '<img src=x onerror="alert(1)">教学楼'
    with api(server, seed.agency) as client:
        created = client.post("/projects", json=project_body(seed.procurer, name=name))
        assert created.status_code == 201, created.text
    project = created.json()
    grant_supervisor(server, seed, project["id"])
    log_in(page, seed.supervisor.username, seed.supervisor.password)
    expect(page).to_have_url(re.compile(r"/projects\.html$"))
    page.goto(f"/supervise.html?project={project['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"项目监督查看：{name}")
    expect(page.locator("main img")).to_have_count(0)
    expect(page.locator("#timeline li")).to_have_count(1)
    expect(page.locator("#tender-link")).to_be_hidden()
    quality.check(page, "supervise-registered-project")
