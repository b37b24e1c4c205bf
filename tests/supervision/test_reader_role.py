"""Supervision reads the trading data read-only by construction (issue 15, migration 0019):
on PostgreSQL its role can SELECT the trading tables but their secrets and can INSERT, UPDATE,
DELETE or TRUNCATE none of them; on SQLite the file is opened ``mode=ro``. ``check_read_only``
passes for those logins and refuses the trading login. Every attempt leaves the rows as they
were."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from supervision.reader import NotReadOnly, check_read_only, reader_url
from tests.support import table_counts
from tradesys.services import Services

MIGRATION = (Path(__file__).resolve().parents[2] / "tradesys" / "migrations" / "versions"
             / "0019_supervision_reader.py")


def _migration():  # the secret lists exactly as the migration applied them
    spec = importlib.util.spec_from_file_location("m0019", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _refused(engine: AsyncEngine, statement: str) -> str:
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as refused:
            await connection.exec_driver_sql(statement)
        await connection.rollback()
    return str(refused.value.orig)


async def _tables(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = await connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        else:
            rows = await connection.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "'public' AND table_type = 'BASE TABLE' ORDER BY table_name")
        return list(rows.scalars().all())


async def test_the_reader_can_read_and_cannot_write(services: Services, db_url: str) -> None:
    before = await table_counts(services)
    reader = create_async_engine(reader_url(db_url))
    trading = create_async_engine(db_url)
    migration = _migration()
    try:
        await check_read_only(reader)
        with pytest.raises(NotReadOnly):
            await check_read_only(trading)
        tables = await _tables(trading)
        assert "projects" in tables and "events" in tables
        async with reader.connect() as connection:
            events = (await connection.exec_driver_sql("SELECT count(*) FROM events")).scalar()
            names = (await connection.exec_driver_sql(
                "SELECT id, username, role FROM users")).all()
        assert events and events > 0 and names
        readable = [t for t in tables if t not in migration.SECRET_TABLES]
        if services.db.dialect == "sqlite":
            for table in ("events", "users", "projects"):
                assert "readonly" in await _refused(reader, f"DELETE FROM {table}")
            assert "readonly" in await _refused(
                reader, "UPDATE users SET display_name = 'x'")
        else:
            for table in readable:
                for statement in (f'INSERT INTO "{table}" DEFAULT VALUES',
                                  f'UPDATE "{table}" SET {await _first_column(trading, table)}'
                                  f" = {await _first_column(trading, table)} WHERE false",
                                  f'DELETE FROM "{table}" WHERE false',
                                  f'TRUNCATE "{table}"'):
                    assert "permission denied" in await _refused(reader, statement), statement
                async with reader.connect() as connection:  # and every one of them reads
                    if table not in migration.SECRET_COLUMNS:
                        await connection.exec_driver_sql(f'SELECT * FROM "{table}" LIMIT 1')
            for table in migration.SECRET_TABLES:
                if table in tables:
                    assert "permission denied" in await _refused(
                        reader, f'SELECT * FROM "{table}" LIMIT 1')
            for table, columns in migration.SECRET_COLUMNS.items():
                for column in columns:
                    assert "permission denied" in await _refused(
                        reader, f'SELECT "{column}" FROM "{table}" LIMIT 1')
            assert "permission denied" in await _refused(reader, "SELECT * FROM users")
    finally:
        await reader.dispose()
        await trading.dispose()
    assert await table_counts(services) == before


async def _first_column(engine: AsyncEngine, table: str) -> str:
    async with engine.connect() as connection:
        return '"' + str((await connection.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            f"AND table_name = '{table}' ORDER BY ordinal_position LIMIT 1")).scalar()) + '"'


async def test_every_trading_table_is_decided_for_the_reader(services: Services,
                                                             db_url: str) -> None:
    """A table a later migration adds is unreadable to supervision until it is granted (or
    named a secret): this fails for a table nobody decided on."""
    if services.db.dialect == "sqlite":
        pytest.skip("SQLite has no roles: mode=ro reads every table")
    migration = _migration()
    trading = create_async_engine(db_url)
    try:
        async with trading.connect() as connection:
            undecided = (await connection.exec_driver_sql(
                "WITH tables AS MATERIALIZED (SELECT tablename FROM pg_tables "
                "WHERE schemaname = 'public') SELECT tablename FROM tables WHERE NOT "
                "has_table_privilege('tradesys_supervision', 'public.' || quote_ident(tablename),"
                " 'SELECT') ORDER BY 1")).scalars().all()
    finally:
        await trading.dispose()
    assert set(undecided) <= set(migration.SECRET_TABLES) | set(migration.SECRET_COLUMNS), (
        "tables supervision can neither read nor is told are secret: "
        f"{sorted(set(undecided) - set(migration.SECRET_TABLES) - set(migration.SECRET_COLUMNS))}")


def test_a_reader_url_is_read_only_or_refused() -> None:
    assert reader_url("sqlite+aiosqlite:////var/t.db") == (
        "sqlite+aiosqlite:///file:/var/t.db?mode=ro&uri=true")
    assert reader_url("postgresql+asyncpg://app:secret@db:5432/trading") == (
        "postgresql+asyncpg://tradesys_supervision@db:5432/trading")
    with pytest.raises(ValueError):
        reader_url("sqlite+aiosqlite:///:memory:")
    with pytest.raises(ValueError):
        reader_url("mysql://x@y/z")
