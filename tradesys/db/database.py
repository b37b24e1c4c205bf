"""Engines and transactions for both back ends.

Write transactions on SQLite begin with ``BEGIN IMMEDIATE`` so two writers queue for the lock
at the start instead of failing half-way when one upgrades from a read lock; read transactions
stay deferred so readers never wait for writers (WAL mode).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from tradesys.storage import create_private, private_dir

T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def prepare_sqlite_file(url: str) -> None:
    """Creates a SQLite database file that does not exist yet as an empty 0600 file in 0700
    folders, before SQLite would create it 0644 under the usual umask: it holds password and
    token hashes, opened summaries and released shares. SQLite gives its ``-wal``, ``-shm`` and
    ``-journal`` files the database file's mode. An existing file is left as it is."""
    if not is_sqlite(url):
        return
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if path.exists():
        return
    private_dir(path.parent)
    try:
        os.close(create_private(path))
    except FileExistsError:
        pass


class Database:
    """Pools are sized for a few cores (measured in bench/api.py): more connections than the
    machine can run only add contention. PostgreSQL connections are not pinged on checkout
    (a round trip per request); a connection the server dropped is invalidated by SQLAlchemy
    on first use and replaced, and ``pool_recycle`` retires old ones."""

    def __init__(self, url: str, *, pool_size: int = 5, null_pool: bool = False) -> None:
        self.url = url
        prepare_sqlite_file(url)
        kwargs: dict[str, Any] = {}
        if null_pool:
            kwargs["poolclass"] = NullPool
        elif is_sqlite(url):
            kwargs.update(pool_size=5, max_overflow=10)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False,
                          pool_recycle=1800)
        self.engine = create_async_engine(url, **kwargs)
        if is_sqlite(url):
            _configure_sqlite(self.engine.sync_engine)
            write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        else:
            write_engine = self.engine
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(write_engine, expire_on_commit=False)
        # SQLite through aiosqlite costs a thread hand-off per statement, BEGIN and ROLLBACK;
        # hot reads can instead run whole in one worker thread on a plain sqlite3 connection.
        self._sync_reader = None
        if is_sqlite(url) and not null_pool:
            self._sync_reader = create_engine(url.replace("+aiosqlite", ""), pool_size=4,
                                              max_overflow=4)
            _configure_sqlite(self._sync_reader)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed when the block ends, rolled back on any error."""
        async with self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction: begun by the first query, never committed; closing the
        session rolls it back as the connection returns to the pool (one round trip less)."""
        async with self._reader() as session:
            yield session

    async def read_once(self, query: Callable[[Connection], T]) -> T:
        """Run a synchronous read (one short transaction) with a single hand-off: in a worker
        thread on SQLite, through the async connection's greenlet bridge elsewhere. For hot
        read-only endpoints (bench/api.py measures the public notice list)."""
        if self._sync_reader is not None:
            engine = self._sync_reader

            def run() -> T:
                with engine.connect() as connection:
                    return query(connection)

            return await asyncio.to_thread(run)
        async with self.engine.connect() as connection:
            return await connection.run_sync(query)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._sync_reader is not None:
            self._sync_reader.dispose()


def _configure_sqlite(sync_engine: Any) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
