"""Read-only access to the trading database, by construction rather than by care.

Supervision must have no trading function ("行政监管系统……不得具备任何交易功能"): so it is not
enough that its code never writes. On PostgreSQL it connects as ``tradesys_supervision``
(migration 0019: SELECT on the trading tables but their secrets, nothing else), and before it
serves anything :func:`check_read_only` proves that this login can insert, update, delete or
truncate nothing and is no superuser; otherwise it refuses to start. On SQLite, which has no
roles, the file is opened with ``mode=ro`` (the SQLite library itself refuses every write).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

ROLE = "tradesys_supervision"
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


class NotReadOnly(RuntimeError):
    """The supervision app's database login could change trading data: it must not start."""


def reader_url(trading_url: str, role: str = ROLE) -> str:
    """The URL supervision reads the trading database through: on SQLite the same file,
    read-only (``mode=ro``, an SQLite URI); on PostgreSQL the same server and database as the
    supervision role (its password, if the server wants one, in ``TRADESYS_SUPERVISION_…``
    once the app exists)."""
    url = make_url(trading_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("supervision reads a trading database file")
        return f"sqlite+aiosqlite:///file:{url.database}?mode=ro&uri=true"
    if url.get_backend_name() == "postgresql":
        return URL.create(url.drivername, username=role, host=url.host, port=url.port,
                          database=url.database, query=url.query).render_as_string(
                              hide_password=False)
    raise ValueError(f"unsupported database: {url.get_backend_name()}")


async def check_read_only(engine: AsyncEngine) -> None:
    """Raise :class:`NotReadOnly` naming what this login could write (every table of the
    public schema, every write privilege), or if it is a superuser, bypasses row security or
    may create roles or databases; on SQLite, unless the file is opened read-only."""
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            readonly = (await connection.exec_driver_sql("PRAGMA query_only")).scalar()
            uri = str(engine.url)
            if not readonly and "mode=ro" not in uri:
                raise NotReadOnly("the SQLite trading database is not opened read-only "
                                  "(mode=ro)")
            return
        role = (await connection.execute(text(
            "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = current_user"))).one()
        if role.rolsuper or role.rolbypassrls or role.rolcreaterole or role.rolcreatedb:
            raise NotReadOnly(f"the login {role.rolname} is a superuser or may create roles or "
                              "databases: supervision must use a role that can only read")
        # The tables first (materialized), then the privileges: the planner must not ask
        # has_table_privilege about catalog rows the schema filter has not removed yet.
        writable = (await connection.execute(text(
            "WITH tables AS MATERIALIZED (SELECT tablename FROM pg_tables "
            "WHERE schemaname = 'public') "
            "SELECT t.tablename, p.privilege FROM tables t, "
            "unnest(CAST(:writes AS text[])) AS p(privilege) "
            "WHERE has_table_privilege(current_user, 'public.' || quote_ident(t.tablename), "
            "p.privilege) ORDER BY 1, 2"), {"writes": list(WRITES)})).all()
        if writable:
            named = ", ".join(f"{table} ({privilege})" for table, privilege in writable[:10])
            raise NotReadOnly(f"the login {role.rolname} can write trading tables: {named}"
                              + ("…" if len(writable) > 10 else ""))
