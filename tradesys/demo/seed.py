"""``tradesys serve --demo``: load one announced tender into the served database, once.

The accounts it creates are written to ``<data dir>/demo-accounts.json`` (mode 0600) so the
person who started the server can log in; no password is printed to the logs.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from pathlib import Path

import httpx

from tradesys.app import create_app
from tradesys.demo.runner import bootstrap
from tradesys.demo.scenario import DemoFailure, DemoState, Scenario
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings


def ensure_demo_tender(settings: Settings) -> Path:
    accounts_file = (settings.data_dir / "demo-accounts.json").resolve()
    if accounts_file.exists():
        return accounts_file
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    admin_name, admin_password = f"admin-{secrets.token_hex(2)}", secrets.token_urlsafe(12)
    asyncio.run(bootstrap(settings.database_url, admin_name, admin_password))
    state = DemoState(base_url="", out_dir=settings.data_dir)
    with InProcessServer(create_app(settings, run_scheduler=False)) as server, httpx.Client(
        base_url=server.url, timeout=30
    ) as client:
        admin = client.post("/api/v1/auth/tokens",
                            json={"username": admin_name, "password": admin_password})
        if admin.status_code != 201:
            raise DemoFailure("bootstrap", admin.text)
        scenario = Scenario(client, state, None)
        scenario.create_parties(admin.json()["token"])
        scenario.register()
        scenario.upload_documents()
        scenario.announce()
    accounts: dict[str, dict[str, str]] = {
        "admin": {"username": admin_name, "password": admin_password, "role": "admin"}}
    for name, party in state.parties.items():
        accounts[name] = {"username": name, "password": party.password, "role": party.role,
                          "organisation": party.org_name}
    accounts_file.write_text(json.dumps(accounts, ensure_ascii=False, indent=2),
                             encoding="utf-8")
    os.chmod(accounts_file, 0o600)
    return accounts_file
