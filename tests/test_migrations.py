"""Alembic is the only way the schema is made: it must match the models on both back ends."""

from __future__ import annotations

import asyncio
import re

import httpx
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from tests.support import Flow, Seed
from tradesys.db.migrate import alembic_config, upgrade
from tradesys.schema import metadata
from tradesys.services import Services


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_models(services: Services) -> None:
    async with services.db.engine.connect() as connection:
        differences = await connection.run_sync(_diff)
    assert differences == []


async def test_0006_backfills_opaque_ids_for_existing_bids_and_questions(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
        db_url: str) -> None:
    """Rows from before 0006 get random, distinct public ids; the receipts stay as issued."""
    from tests.bids.test_submission import seal_bid, sealing, submit

    project = await flow.announced()
    section = project["notice"]["sections"][0]
    opening = (await sealing(client, section["id"], seed.bidder1))["opening_public_key"]
    for bidder in (seed.bidder1, seed.bidder2):
        assert (await submit(client, section["id"], bidder,
                             seal_bid(section, bidder, opening))).status_code == 201
    documents = (await client.get(f"/api/v1/projects/{project['id']}/documents",
                                  headers=seed.bidder1.auth)).json()["items"]
    await client.get(f"/api/v1/projects/{project['id']}/documents/{documents[0]['id']}/content",
                     headers=seed.bidder1.auth)
    for question in ("问一", "问二"):
        assert (await client.post(f"/api/v1/projects/{project['id']}/questions",
                                  headers=seed.bidder1.auth, json={"text": question})
                ).status_code == 201
    async with services.db.reading() as session:
        receipts = sorted((await session.execute(text("SELECT receipt FROM bids"))).scalars())
    await services.db.dispose()
    config = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, config, "0005")
    async with services.db.reading() as session:
        columns = (await session.execute(text("SELECT * FROM bids"))).keys()
        assert "public_id" not in columns
    await services.db.dispose()
    await asyncio.to_thread(upgrade, db_url)
    async with services.db.reading() as session:
        for table in ("bids", "questions"):
            ids = list((await session.execute(text(f"SELECT public_id FROM {table}"))).scalars())
            assert len(ids) == 2 and len(set(ids)) == 2
            assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", value) for value in ids), ids
        assert sorted((await session.execute(text("SELECT receipt FROM bids"))).scalars()
                      ) == receipts
    own = (await client.get(f"/api/v1/sections/{section['id']}/bids",
                            headers=seed.bidder1.auth)).json()["items"]
    assert len(own) == 1 and re.fullmatch(r"[A-Za-z0-9_-]{22}", own[0]["id"])


async def test_0010_numbers_existing_public_releases_in_the_feeds_order(
        flow: Flow, seed: Seed, services: Services, db_url: str) -> None:
    """Existing outbox rows get the public numbers the feed would have given them: announced
    projects' releases 1, 2, 3, … (a planning release just before its notice's), an
    unannounced project's none."""
    await flow.announced()
    hidden = await flow.register(name="未公告")
    await flow.announced()
    async with services.db.reading() as session:
        given = (await session.execute(text(
            "SELECT id, public_seq, project_id FROM outbox ORDER BY id"))).all()
    assert [row[1] for row in given if row[2] == hidden["id"]] == [None]
    assert sorted(row[1] for row in given if row[1] is not None) == [1, 2, 3, 4]
    await services.db.dispose()
    config = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, config, "0009")
    async with services.db.reading() as session:
        assert "public_seq" not in (await session.execute(text("SELECT * FROM outbox"))).keys()
    await services.db.dispose()
    await asyncio.to_thread(upgrade, db_url)
    async with services.db.reading() as session:
        again = (await session.execute(text(
            "SELECT id, public_seq, project_id FROM outbox ORDER BY id"))).all()
    assert again == given
