"""``tradesys serve --demo``'s seed (the tender to watch, the participants' key backups) and the
strict ``--demo-opening-in`` option. The opening itself, run from the written backups in
chromium, is tests/browser/test_demo_opening.py."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tradesys.app import create_app
from tradesys.bids.encoding import b64u
from tradesys.bids.errors import EnvelopeError
from tradesys.bids.keys import key_id, load_backup
from tradesys.cli import build_parser
from tradesys.db.migrate import upgrade
from tradesys.demo.duration import parse_opening_in
from tradesys.demo.seed import WATCH_NAME, ensure_demo_tender
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings


@pytest.mark.parametrize(("text", "expected"), [
    ("90s", timedelta(seconds=90)), ("1m", timedelta(minutes=1)), ("5m", timedelta(minutes=5)),
    ("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)), ("1440m", timedelta(days=1)),
])
def test_the_opening_delay_is_a_whole_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_opening_in(text) == expected
    assert build_parser().parse_args(["serve", "--demo", "--demo-opening-in", text]) \
        .demo_opening_in == expected


def test_the_opening_delay_defaults_to_five_minutes() -> None:
    assert build_parser().parse_args(["serve", "--demo"]).demo_opening_in == timedelta(minutes=5)


@pytest.mark.parametrize("text", ["5", "m", "5 m", " 5m", "5m ", "5M", "1h30m", "-5m", "+5m",
                                  "0s", "05m", "1.5m", "59s", "25h", "2d", "5min", "９０s", ""])
def test_a_bad_opening_delay_is_a_one_line_usage_error(text: str) -> None:
    run = subprocess.run([sys.executable, "-m", "tradesys.cli", "serve", "--demo",
                          f"--demo-opening-in={text}"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 2
    assert run.stdout == ""
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("tradesys serve: error: argument --demo-opening-in: ")
    assert ("is not a duration" in last) or ("out of range" in last)
    assert run.stderr.count("error:") == 1


def test_the_demo_seed_writes_every_participants_keys_as_browser_backups(
        empty_database: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=empty_database)
    upgrade(settings.database_url)
    started = datetime.now(UTC)
    accounts_file = ensure_demo_tender(settings, opening_in=timedelta(minutes=3))
    assert accounts_file == (tmp_path / "var" / "demo-accounts.json").resolve()
    assert stat.S_IMODE(accounts_file.stat().st_mode) == 0o600
    accounts = json.loads(accounts_file.read_text(encoding="utf-8"))
    folder = tmp_path / "var" / "demo-keys"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    wanted = {"agency": ["holder"], "procurer": ["holder"], "supervisor": ["holder"],
              "bidder": ["bidder", "signing"]}
    written: set[Path] = set()
    with InProcessServer(create_app(settings, run_scheduler=False)) as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        for name, account in accounts.items():
            if account["role"] == "admin":
                assert "key_backups" not in account
                continue
            login = client.post("/api/v1/auth/tokens", json={
                "username": account["username"], "password": account["password"]})
            assert login.status_code == 201, login.text
            auth = {"Authorization": f"Bearer {login.json()['token']}"}
            registered = {(k["purpose"], k["key_id"])
                          for k in client.get("/api/v1/keys", headers=auth).json()["items"]}
            assert [k["purpose"] for k in account["key_backups"]] == wanted[account["role"]]
            for entry in account["key_backups"]:
                path = Path(entry["file"])
                written.add(path)
                assert path.parent == folder.resolve() and path.name.startswith(name)
                assert stat.S_IMODE(path.stat().st_mode) == 0o600
                backup = json.loads(path.read_text(encoding="utf-8"))
                assert backup["format"] == "tradesys-key-backup"
                # The browser's format and nothing more: the key is only in the ciphertext.
                assert set(backup) - {"purpose"} == {
                    "format", "version", "curve", "kdf", "iterations", "salt", "nonce",
                    "public_key", "ciphertext"}
                assert backup["iterations"] >= 600_000
                assert backup.get("purpose") == ("signing" if entry["purpose"] == "signing"
                                                 else None)
                # Only the account's password opens it, and it is the registered key.
                key = load_backup(backup, account["password"].encode())
                assert key_id(key) == entry["key_id"]
                assert (entry["purpose"], entry["key_id"]) in registered
                with pytest.raises(EnvelopeError):
                    load_backup(backup, b"not the password")
                # No private scalar in the clear.
                scalar = key.private_numbers().private_value.to_bytes(32, "big")
                text = path.read_bytes()
                assert b64u(scalar).encode() not in text and scalar.hex().encode() not in text

        # Two tenders: one to bid on (21 days), one to watch, its three bids already sealed in.
        notices = client.get("/api/v1/notices").json()["items"]
        assert len(notices) == 2
        watch = next(n for n in notices if n["project_name"] == WATCH_NAME)
        other = next(n for n in notices if n["project_name"] != WATCH_NAME)
        deadline = datetime.fromisoformat(watch["bid_deadline"])
        assert started + timedelta(minutes=3) <= deadline \
            <= datetime.now(UTC) + timedelta(minutes=3)
        assert datetime.fromisoformat(other["bid_deadline"]) > started + timedelta(days=20)
        # The watched tender's history satisfies the open-tender rules: announced 3 weeks ago.
        assert datetime.fromisoformat(watch["published_at"]) < deadline - timedelta(days=20)
        notice = client.get(f"/api/v1/notices/{watch['id']}").json()
        (section,) = notice["sections"]
        for account in accounts.values():
            if account["role"] != "bidder":
                continue
            token = client.post("/api/v1/auth/tokens", json={
                "username": account["username"], "password": account["password"]}).json()
            bids = client.get(f"/api/v1/sections/{section['id']}/bids",
                              headers={"Authorization": f"Bearer {token['token']}"}).json()
            assert len(bids["items"]) == 1
    assert written == set(folder.resolve().iterdir())

    # A second start changes nothing.
    before = {path: path.read_bytes() for path in (accounts_file, *written)}
    assert ensure_demo_tender(settings, opening_in=timedelta(minutes=3)) == accounts_file
    assert {path: path.read_bytes() for path in before} == before
