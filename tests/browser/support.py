"""Helpers shared by the browser tests: pages of whole openings in the hall (test_hall.py with
in-process servers, test_demo_opening.py with a real ``tradesys serve --demo``), and the API
calls that set a project up for a page (an announced project, a supervisor's grant)."""

from __future__ import annotations

import hashlib
import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    expect,
)

from tests.browser.conftest import BROWSER_TIMEZONE
from tests.support import T0, Party, Seed, announce_body, project_body
from tradesys.bids.encoding import unb64u
from tradesys.demo.server import InProcessServer


class Served(Protocol):
    """A running server the browser talks to (an in-process one or a ``tradesys serve``)."""

    @property
    def url(self) -> str: ...


@dataclass
class Person:
    """One browser context with one page, failing the test on any script error."""

    name: str
    context: BrowserContext
    page: Page
    problems: list[str] = field(default_factory=list)


def person(stack: ExitStack, browser: Browser, server: Served, name: str) -> Person:
    context = browser.new_context(base_url=server.url, locale="zh-CN",
                                  timezone_id=BROWSER_TIMEZONE,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    stack.callback(context.close)
    page = context.new_page()
    who = Person(name, context, page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            who.problems.append(f"{name} console: {message.text}")

    def on_dialog(dialog: Dialog) -> None:
        who.problems.append(f"{name} dialog: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda error: who.problems.append(f"{name} uncaught: {error}"))
    page.on("dialog", on_dialog)
    return who


def verify_confirmation(confirmation: dict[str, str], section_code: str, record_sha256: str,
                        credit_code: str) -> None:
    """Checks a confirmation from the published record alone, as anyone can (no tradesys
    code): the signed message is rebuilt from the record, the key id is the SHA-256 of the
    public key, the signature is ECDSA P-256 / SHA-256, r || s."""
    signed = {"type": "tradesys.opening-record-confirmation", "section_code": section_code,
              "record_sha256": record_sha256, "bidder_credit_code": credit_code}
    assert confirmation["signed"] == signed
    message = json.dumps(signed, sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False).encode()
    point = unb64u(confirmation["public_key"])
    assert hashlib.sha256(point).hexdigest() == confirmation["key_id"]
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    raw = unb64u(confirmation["signature"])
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, message, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature if not
    with pytest.raises(InvalidSignature):  # and it is bound to this record
        key.verify(der, message.replace(record_sha256.encode(), b"0" * 64),
                   ec.ECDSA(hashes.SHA256()))


def row(page: Page, name: str) -> Locator:
    """The hall's row of one bidder (its name)."""
    return page.locator("#bid-rows tr", has_text=name)


def import_backup(page: Page, path: Path, password: str, key_id: str) -> None:
    """On keys.html, as a user: 从备份文件导入 a backup file with its password; the key is then
    kept in this browser (and shown so against its registered public key)."""
    page.goto("/keys.html")
    form = page.get_by_role("form", name="从备份文件导入")
    form.get_by_label("备份文件").set_input_files(str(path))
    form.get_by_label("备份密码").fill(password)
    form.get_by_role("button", name="导入备份").click()
    expect(page.get_by_role("status")).to_contain_text(f"已导入密钥 {key_id[:16]}…")
    expect(page.locator("#key-rows tr", has_text=key_id)).to_contain_text("已保存在本浏览器")


def api(server: InProcessServer, party: Party) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", headers=party.auth, timeout=10)


def announced_project(server: InProcessServer, seed: Seed) -> dict[str, Any]:
    """A project with two sections, announced by the seeded agency (holders: agency, procurer,
    supervisor, 2 of 3), bid deadline T0 + 21 days."""
    with api(server, seed.agency) as client:
        project = client.post("/projects", json=project_body(seed.procurer))
        assert project.status_code == 201, project.text
        body: dict[str, Any] = project.json()
        document = client.post(f"/projects/{body['id']}/documents",
                               params={"filename": "招标文件.pdf"},
                               headers={"Content-Type": "application/pdf"},
                               content=b"%PDF-1.4\n% tender documents\n")
        assert document.status_code == 201, document.text
        # The supervisor holds a share: its department is granted the project first.
        grant_supervisor(server, seed, body["id"])
        notice = client.post(f"/projects/{body['id']}/announce", json=announce_body(T0, seed))
        assert notice.status_code == 201, notice.text
        body["notice"] = notice.json()
    return body


def grant_supervisor(server: InProcessServer, seed: Seed, project_id: int) -> None:
    """The admin lets the seeded supervisor's department see the project (a supervisor sees
    only the projects it was granted)."""
    with api(server, seed.admin) as client:
        granted = client.post(f"/projects/{project_id}/supervisors",
                              json={"org_id": seed.supervisor.org_id})
        assert granted.status_code == 201, granted.text
