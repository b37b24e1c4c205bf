"""Files and keys at rest (docs/envelope.md §7, §10 "After the opening", docs/operations.md):
data folders 0700 and files 0600 whatever the umask, created through the real code paths, and
no released opening-key share left once every bid has its outcome."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from tests.bids.test_opening import closed, release_bidder, release_holder  # noqa: F401
from tests.support import Seed
from tradesys.bids.encoding import unb64u
from tradesys.bids.envelope import ROLE_OPENING
from tradesys.bids.models import Bid, OpeningKey, OpeningKeyShare
from tradesys.bids.open import open_file, read_header, unwrap_share
from tradesys.bids.shamir import recover_opening_key, unwrap_holder_share
from tradesys.db.database import Database
from tradesys.events.models import Event
from tradesys.services import Services
from tradesys.storage import FileStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual 022: without care, every folder would be 0755 and every file 0644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_db_upgrade_on_a_fresh_data_dir_makes_it_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "var"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("TRADESYS_")} | {"TRADESYS_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-m", "tradesys.cli", "db", "upgrade"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120, check=False,
                          preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr
    database = data_dir / "tradesys.db"
    assert mode(data_dir) == 0o700
    assert mode(data_dir.parent) == 0o700  # every folder the command created
    assert mode(database) == 0o600
    # A connection in WAL mode (as the server opens it) makes -wal and -shm: SQLite gives them
    # the database file's mode.
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE probe (x)")
        connection.commit()
        side_files = [Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert all(path.exists() for path in side_files)
        assert [mode(path) for path in side_files] == [0o600, 0o600]
    finally:
        connection.close()


async def test_the_server_opening_a_new_sqlite_file_creates_it_private(
        tmp_path: Path, open_umask: None) -> None:
    database = tmp_path / "served" / "tradesys.db"
    db = Database(f"sqlite+aiosqlite:///{database}")
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE probe (x INTEGER)"))
            wal = Path(f"{database}-wal")
            assert mode(wal) == 0o600  # WAL mode: SQLite copies the database file's mode
    finally:
        await db.dispose()
    assert (mode(database.parent), mode(database)) == (0o700, 0o600)


async def _holders_release_and_all_bids_open(client: httpx.AsyncClient, seed: Seed,
                                             section_id: int) -> dict[int, Any]:
    for holder in (seed.agency, seed.supervisor):
        assert (await release_holder(client, section_id, holder)).status_code == 200
    for bidder in (seed.bidder1, seed.bidder2, seed.bidder3):
        assert (await release_bidder(client, section_id, bidder)).status_code == 200
    opened = await client.post(f"/api/v1/sections/{section_id}/opening/decrypt",
                               headers=seed.agency.auth, json={"finalize": False})
    assert opened.status_code == 200, opened.text
    items = {item["bid_id"]: item for item in opened.json()["items"]}
    assert [item["outcome"] for item in items.values()] == ["decrypted"] * 3
    return items


async def test_sealed_and_opened_bids_are_private_files_in_private_folders(
        client: httpx.AsyncClient, seed: Seed, services: Services,
        closed: dict[str, Any], open_umask: None) -> None:  # noqa: F811
    section_id = closed["section"]["id"]
    items = await _holders_release_and_all_bids_open(client, seed, section_id)
    data_dir = services.settings.data_dir
    opened_dir = data_dir / "opened"
    assert mode(opened_dir) == 0o700
    assert len(items) == 3
    # Named by the bid's internal id: the public (opaque) id is for URLs, not the file system.
    async with services.db.reading() as session:
        internal = (await session.execute(
            select(Bid.id).where(Bid.section_id == section_id))).scalars().all()
    assert sorted(path.name for path in opened_dir.iterdir()) == sorted(
        f"{bid_id}.bin" for bid_id in internal)
    assert {mode(path) for path in opened_dir.iterdir()} == {0o600}
    stored = [services.uploads.store.path_of(sha) for sha in
              (await _envelope_hashes(services, section_id))]
    folders = {path.parent for path in stored} | {services.uploads.store.root,
                                                  data_dir / "uploads"}
    assert {mode(folder) for folder in folders} == {0o700}
    assert {mode(path) for path in stored} == {0o600}


async def _envelope_hashes(services: Services, section_id: int) -> list[str]:
    async with services.db.reading() as session:
        return list((await session.execute(
            select(Bid.envelope_sha256).where(Bid.section_id == section_id))).scalars())


async def test_released_opening_shares_are_erased_once_every_bid_has_its_outcome(
        client: httpx.AsyncClient, seed: Seed, services: Services,
        closed: dict[str, Any]) -> None:  # noqa: F811
    section_id = closed["section"]["id"]
    items = await _holders_release_and_all_bids_open(client, seed, section_id)
    async with services.db.reading() as session:
        opening = (await session.execute(select(OpeningKey).where(
            OpeningKey.section_id == section_id))).scalar_one()
        rows = (await session.execute(select(OpeningKeyShare).where(
            OpeningKeyShare.opening_key_id == opening.id)
            .order_by(OpeningKeyShare.share_index))).scalars().all()
        bids = (await session.execute(select(Bid).where(
            Bid.section_id == section_id).order_by(Bid.id))).scalars().all()
        erased = (await session.execute(select(Event).where(
            Event.type == "opening_shares.erased"))).scalars().all()
    # Nothing at rest rebuilds the opening key any more; who released when is still known.
    assert [row.released for row in rows] == [None, None, None]
    released_rows = [row for row in rows if row.released_at is not None]
    assert len(released_rows) == 2
    [event] = erased
    payload = json.loads(event.payload)
    assert payload["share_indices"] == [row.share_index for row in released_rows]
    assert "value" not in payload
    # Each bidder's share stays: alone it opens nothing (the opening share is wrapped to the
    # erased key) ...
    assert all(bid.bidder_share is not None and bid.outcome == "decrypted" for bid in bids)
    # ... and with k holders re-opening their wrapped shares (only they can) the decryption is
    # re-checked later, for an audit or the archive, byte for byte.
    shares = []
    for holder in (seed.procurer, seed.supervisor):
        assert holder.private_key is not None
        wrapped = (await client.get(f"/api/v1/sections/{section_id}/opening/my-share",
                                    headers=holder.auth)).json()
        shares.append(unwrap_holder_share(wrapped, holder.private_key))
    key = recover_opening_key(shares, opening.public_key)
    for bid in bids:
        envelope = services.uploads.store.path_of(bid.envelope_sha256)
        with envelope.open("rb") as source:
            opening_share = unwrap_share(read_header(source), ROLE_OPENING, key)
        again = services.settings.data_dir / f"recheck-{bid.id}.bin"
        assert bid.bidder_share is not None
        summary, _ = open_file(envelope, again, unb64u(bid.bidder_share), opening_share)
        assert summary == items[bid.public_id]["summary"]
        assert again.read_bytes() == (services.settings.data_dir / "opened"
                                      / f"{bid.id}.bin").read_bytes()


async def test_modes_do_not_depend_on_the_umask_and_existing_folders_are_left_alone(
        tmp_path: Path) -> None:
    existing = tmp_path / "operator"
    existing.mkdir()
    os.chmod(existing, 0o750)  # noqa: S103  (the operator's choice, to be left alone)
    previous = os.umask(0)  # the most permissive umask: mkdir/open alone would give 0777/0666
    try:
        store = FileStore(existing / "bids" / "deep")

        async def chunks() -> AsyncIterator[bytes]:
            yield b"sealed"

        stored = await store.put_stream(chunks(), max_bytes=100)
    finally:
        os.umask(previous)
    path = store.path_of(stored.sha256)
    assert mode(path) == 0o600
    assert [mode(folder) for folder in (path.parent, store.root, store.root.parent)] == [0o700] * 3
    assert mode(existing) == 0o750
