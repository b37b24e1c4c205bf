"""``tradesys serve --demo``: load the demo tenders into the served database, once.

Two tenders, announced by the same demo parties:

* one open for bidding, its bid deadline 21 days away (bid on it in the browser);
* one that is about to be opened: its bid deadline ``opening_in`` after this first start, three
  sealed bids already in, two of three key holders needed. So that its periods satisfy the
  rules of an open tender (20 days from documents to deadline, docs/rules.md) its history is
  dated back three weeks: the seed runs on an adjustable clock started that far in the past and
  moved to the present before the bids are submitted; the served process then runs on the
  system clock, so the event log's times only ever move forward.

The accounts are written to ``<data dir>/demo-accounts.json`` (mode 0600) so the person who
started the server can log in, and every participant's private keys to
``<data dir>/demo-keys/`` (a 0700 folder, files 0600) as the browser's own password-protected
backup files (docs/envelope.md §7), each encrypted with its account's password: importing them
on keys.html gives a host, bidders and key holders who can run the opening in their pages.
Nothing secret is printed or logged.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tradesys.app import create_app
from tradesys.bids.keys import PrivateKey, key_id, make_backup
from tradesys.clock import AdjustableClock, SystemClock
from tradesys.demo.duration import DEFAULT as DEFAULT_OPENING_IN
from tradesys.demo.runner import bootstrap
from tradesys.demo.scenario import DemoFailure, DemoState, Party, Scenario
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings
from tradesys.storage import private_dir

#: The watchable tender's announcement lies this far before the first start.
HISTORY = timedelta(days=21, hours=1)
WATCH_NAME = "福州市示范学校体育馆改造工程（开标演示）"
WATCH_SECTIONS = [{"name": "施工总承包", "content": "体育馆屋面及场馆改造工程",
                   "budget": "36000000.00", "ceiling_price": "35200000.00",
                   "bid_security": "500000.00"}]


def ensure_demo_tender(settings: Settings,
                       opening_in: timedelta = DEFAULT_OPENING_IN) -> Path:
    accounts_file = (settings.data_dir / "demo-accounts.json").resolve()
    if accounts_file.exists():
        return accounts_file
    private_dir(settings.data_dir)
    system = SystemClock()
    start = system.now()
    clock = AdjustableClock(start - HISTORY)
    admin_name, admin_password = f"admin-{secrets.token_hex(2)}", secrets.token_urlsafe(12)
    asyncio.run(bootstrap(settings.database_url, admin_name, admin_password, at=clock.now()))
    state = DemoState(base_url="", out_dir=settings.data_dir)
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        admin = client.post("/api/v1/auth/tokens",
                            json={"username": admin_name, "password": admin_password})
        if admin.status_code != 201:
            raise DemoFailure("bootstrap", admin.text)
        scenario = Scenario(client, state, clock)
        scenario.create_parties(admin.json()["token"])
        # The tender to watch: announced three weeks ago, its deadline just ahead …
        scenario.register(name=WATCH_NAME, sections=WATCH_SECTIONS,
                          idempotency_key="register-watch")
        scenario.upload_documents()
        scenario.announce(bid_deadline=start + opening_in)
        clock.set(system.now())
        scenario.log_in_again()
        scenario.register_signing_keys()
        scenario.submit_bids()
        # … and the tender to bid on, announced today.
        scenario.register()
        scenario.upload_documents()
        scenario.announce()
    accounts: dict[str, dict[str, Any]] = {
        "admin": {"username": admin_name, "password": admin_password, "role": "admin"}}
    accounts.update(write_key_backups(settings.data_dir / "demo-keys", state.parties))
    _write_private(accounts_file, json.dumps(accounts, ensure_ascii=False, indent=2) + "\n")
    return accounts_file


def _write_private(path: Path, text: str) -> None:
    """A new file readable by its owner only from the start (not chmod-ed after writing)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)


def write_key_backups(folder: Path, parties: dict[str, Party]) -> dict[str, dict[str, Any]]:
    """Each party's private keys as backup files, encrypted with its account's password; the
    accounts as written to demo-accounts.json, each naming its key files."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    accounts: dict[str, dict[str, Any]] = {}
    for name, party in parties.items():
        keys: list[tuple[str, PrivateKey, str | None]] = []
        if party.private_key is not None:
            keys.append(("bidder" if party.role == "bidder" else "holder", party.private_key,
                         None))
        if party.signing_key is not None:
            keys.append(("signing", party.signing_key, "signing"))
        files = []
        for purpose, key, marker in keys:
            path = folder / f"{name}.{purpose}.json"
            backup = make_backup(key, party.password.encode(), purpose=marker)
            _write_private(path, json.dumps(backup, indent=2) + "\n")
            files.append({"file": str(path.resolve()), "purpose": purpose,
                          "key_id": key_id(key)})
        accounts[name] = {"username": name, "password": party.password, "role": party.role,
                          "organisation": party.org_name, "credit_code": party.credit_code,
                          "key_backups": files}
    return accounts
