"""Alembic is the only way the schema is made: it must match the models on both back ends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from tradesys.schema import metadata
from tradesys.services import Services


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_models(services: Services) -> None:
    async with services.db.engine.connect() as connection:
        differences = await connection.run_sync(_diff)
    assert differences == []
