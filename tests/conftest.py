"""Fixtures: every database test runs on SQLite and on PostgreSQL.

Each back end gets a template database once per session (migrated with Alembic and seeded with
the standard parties through the API); each test gets a fresh copy of it: a file copy for
SQLite, ``CREATE DATABASE … TEMPLATE`` for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil

# Cheap argon2id for the suite, which hashes thousands of passwords (docs/operations.md): set
# before tradesys is imported, and inherited by every CLI the tests start. The production
# default is tested in tests/identity/test_passwords.py.
os.environ.setdefault("TRADESYS_ARGON2_TIME_COST", "1")
os.environ.setdefault("TRADESYS_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("TRADESYS_ARGON2_PARALLELISM", "1")
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from tests.support import T0, Flow, Party, Seed
from tradesys.app import create_app
from tradesys.bids.keys import generate_private_key, public_key_text
from tradesys.clock import AdjustableClock
from tradesys.db.migrate import upgrade
from tradesys.demo.scenario import random_credit_code
from tradesys.identity.service import bootstrap_admin
from tradesys.services import Services
from tradesys.settings import Settings

PG_URL = os.environ.get("TRADESYS_TEST_PG_URL",
                        "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]

PARTIES = [
    ("procurer", "procurer"), ("procurer2", "procurer"),
    ("agency", "agency"), ("agency2", "agency"),
    ("bidder1", "bidder"), ("bidder2", "bidder"), ("bidder3", "bidder"), ("bidder4", "bidder"),
    ("supervisor", "supervisor"), ("expert", "expert"),
]


def _pg_dsn(database: str) -> str:
    base = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    return base.rsplit("/", 1)[0] + "/" + database


def _pg_url(database: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + database


async def _pg_admin(*statements: str) -> None:
    connection = await asyncpg.connect(_pg_dsn("postgres"))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _seed(url: str, data_dir: Path) -> Seed:
    """Create the standard parties through the real API, on a clock frozen at T0."""
    clock = AdjustableClock(T0, frozen=True)
    # The seeded tokens outlive every test's clock moves (a year): above the default maximum.
    app = create_app(Settings(data_dir=data_dir, database_url=url, token_max_ttl_days=365),
                     clock=clock, run_scheduler=False)
    services: Services = app.state.services
    seed = Seed()
    admin = Party("admin", "admin", "admin", "admin-password-1")
    async with services.db.transaction() as session:
        user = await bootstrap_admin(session, org_name="平台运营方",
                                     credit_code=random_credit_code(), username=admin.username,
                                     password=admin.password, at=T0)
        admin.user_id, admin.org_id = user.id, user.org_id
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/api/v1/auth/tokens", json={
            "username": admin.username, "password": admin.password, "ttl_days": 365})
        admin.token = response.json()["token"]
        seed.parties["admin"] = admin
        for key, role in PARTIES:
            party = Party(key, role, key, f"{key}-password-1", credit_code=random_credit_code())
            org = await client.post("/api/v1/organisations", headers=admin.auth, json={
                "name": f"{key} 有限公司", "credit_code": party.credit_code})
            assert org.status_code == 201, org.text
            party.org_id = org.json()["id"]
            user = await client.post("/api/v1/users", headers=admin.auth, json={
                "org_id": party.org_id, "username": party.username, "display_name": key,
                "password": party.password, "role": role})
            assert user.status_code == 201, user.text
            party.user_id = user.json()["id"]
            token = await client.post("/api/v1/auth/tokens", json={
                "username": party.username, "password": party.password, "ttl_days": 365})
            party.token = token.json()["token"]
            if role in ("agency", "procurer", "supervisor", "bidder"):
                party.private_key = generate_private_key()
                registered = await client.post("/api/v1/keys", headers=party.auth, json={
                    "purpose": "bidder" if role == "bidder" else "holder",
                    "public_key": public_key_text(party.private_key)})
                assert registered.status_code == 201, registered.text
            seed.parties[key] = party
        # Standing entrustments between the procurers and the agencies, both ways, so a test
        # registers a project in one step; tests/procurement/test_entrustment.py makes its
        # own parties to test consent itself.
        pairs = [(p, a) for p in ("procurer", "procurer2") for a in ("agency", "agency2")]
        for one, other in pairs:
            for consenting, counterpart in ((one, other), (other, one)):
                standing = await client.post(
                    "/api/v1/entrustments", headers=seed.parties[consenting].auth,
                    json={"counterpart_credit_code": seed.parties[counterpart].credit_code})
                assert standing.status_code == 201, standing.text
    await services.db.dispose()
    return seed


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, Seed]]]:
    root = tmp_path_factory.mktemp("templates")
    sqlite_file = root / "template.db"
    sqlite_url = f"sqlite+aiosqlite:///{sqlite_file}"
    upgrade(sqlite_url)
    sqlite_seed = asyncio.run(_seed(sqlite_url, root / "sqlite-data"))
    pg_name = f"tradesys_tmpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{pg_name}"'))
    try:
        upgrade(_pg_url(pg_name))
        pg_seed = asyncio.run(_seed(_pg_url(pg_name), root / "pg-data"))
        yield {"sqlite": (str(sqlite_file), sqlite_seed), "postgresql": (pg_name, pg_seed)}
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def database(backend: str, templates: dict[str, tuple[str, Seed]],
             tmp_path: Path) -> Iterator[tuple[str, Seed]]:
    source, seed = templates[backend]
    if backend == "sqlite":
        target = tmp_path / "tradesys.db"
        shutil.copyfile(source, target)
        yield f"sqlite+aiosqlite:///{target}", seed
        return
    name = f"tradesys_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    try:
        yield _pg_url(name), seed
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, on each back end (for migration and CLI tests)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"tradesys_demo_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_url(database: tuple[str, Seed]) -> str:
    return database[0]


@pytest.fixture
def seed(database: tuple[str, Seed]) -> Seed:
    return database[1]


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock(T0, frozen=True)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, scheduler_interval=3600)


@pytest.fixture
async def app(settings: Settings, clock: AdjustableClock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock=clock, run_scheduler=False)
    async with LifespanManager(application):
        yield application


@pytest.fixture
def services(app: Starlette) -> Services:
    value: Services = app.state.services
    return value


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def flow(client: httpx.AsyncClient, seed: Seed, clock: AdjustableClock) -> Flow:
    return Flow(client, seed, clock.now())
