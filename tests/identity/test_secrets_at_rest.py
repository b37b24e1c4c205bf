"""Secrets are never stored in the clear: not passwords, session, CSRF or API tokens."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from tests.support import Seed
from tradesys.identity.models import User
from tradesys.schema import metadata
from tradesys.services import Services


def sqlite_files(db_url: str) -> list[Path]:
    path = Path(db_url.split(":///", 1)[1])
    # WAL mode: recent commits live in the -wal file until a checkpoint.
    return [candidate for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
            if candidate.exists()]


async def every_stored_value(services: Services) -> str:
    """Every value of every row of every table, as text (works on both back ends)."""
    parts: list[str] = []
    async with services.db.reading() as session:
        for table in metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                parts.extend(repr(value) for value in row)
    return "\n".join(parts)


async def test_secrets_are_not_stored_in_the_clear(
    client: httpx.AsyncClient, seed: Seed, services: Services, backend: str, db_url: str
) -> None:
    password = "Unique-Pa55word-7q3z"
    created = await client.post("/api/v1/users", headers=seed.admin.auth, json={
        "org_id": seed.bidder1.org_id, "username": "secretkeeper", "display_name": "保密员",
        "password": password, "role": "bidder"})
    assert created.status_code == 201, created.text
    login = await client.post("/api/v1/auth/login",
                              json={"username": "secretkeeper", "password": password})
    assert login.status_code == 200, login.text
    session_token = client.cookies["tradesys_session"]
    csrf_token = login.json()["csrf_token"]
    client.cookies.clear()
    issued = await client.post("/api/v1/auth/tokens",
                               json={"username": "secretkeeper", "password": password})
    assert issued.status_code == 201, issued.text
    api_token = issued.json()["token"]
    # A failed guess is remembered for rate limiting, but not the guessed password.
    guess = "Wrong-Guess-Pa55-x9"
    failed = await client.post("/api/v1/auth/login",
                               json={"username": "secretkeeper", "password": guess})
    assert failed.status_code == 401
    # Each secret works, so the scan below looks for strings that matter.
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"})
            ).status_code == 200

    secrets = {"password": password, "guess": guess, "session": session_token,
               "csrf": csrf_token, "api token": api_token,
               "seed password": seed.bidder1.password, "seed token": seed.bidder1.token}
    stored = await every_stored_value(services)
    assert "secretkeeper" in stored  # the dump does see what was written
    for name, secret in secrets.items():
        assert secret not in stored, name

    if backend == "sqlite":
        files = sqlite_files(db_url)
        raw = b"".join(path.read_bytes() for path in files)
        assert b"secretkeeper" in raw  # the files hold the data just written
        for name, secret in secrets.items():
            assert secret.encode() not in raw, name

    async with services.db.reading() as session:
        password_hash = (await session.execute(
            select(User.password_hash).where(User.username == "secretkeeper"))).scalar_one()
    assert password_hash.startswith("$argon2id$v=19$")
