"""Projects taken over HTTP to their end, for the archive tests: one whose first section ends in
a contract signed by both parties (its second section, without bids, declared 流标), and one
whose first section's tender failed (招标失败, no compliant candidate) and second 流标."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
from starlette.applications import Starlette

from archive.builder import ArchiveConfig
from tests.award.conftest import Reported, drafted_report, sign_all
from tests.contracts.test_http import http_signer, sign
from tests.evaluation.conftest import Pool, opening_command
from tests.support import Flow, Seed
from tradesys.app import build_archive_config
from tradesys.clock import AdjustableClock
from tradesys.services import Services


@dataclass
class Ended:
    project_id: int
    reported: Reported


def config_of(services: Services) -> ArchiveConfig:
    """The configuration the running app's scheduler job uses."""
    assert services.tree_heads is not None
    return build_archive_config(services)


async def fail_other_section(client: httpx.AsyncClient, seed: Seed, reported: Reported) -> None:
    """The second section had no bids: the host declares 流标."""
    await opening_command(client, reported.opened.other_section_id, seed.agency,
                          type="declare_failed", reason="投标人不足三家")


async def awarded(client: httpx.AsyncClient, flow: Flow, seed: Seed, clock: AdjustableClock,
                  app: Starlette, pool: Pool) -> tuple[Reported, int]:
    """A final report, publicity run out, the award made, the contract drafted: (the report,
    the contract's id). Nothing signed yet: the project has not ended."""
    reported = await drafted_report(client, flow, seed, clock, app, pool)
    await sign_all(client, reported)
    section = f"/api/v1/sections/{reported.section_id}"
    published = await client.post(f"{section}/publicity", headers=seed.agency.auth)
    assert published.status_code == 201, published.text
    clock.advance(timedelta(days=3))
    await app.state.scheduler.run_once()
    made = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert made.status_code == 201, made.text
    contract = await client.post(f"{section}/contract", headers=seed.procurer.auth)
    assert contract.status_code == 201, contract.text
    return reported, contract.json()["id"]


async def conclude(client: httpx.AsyncClient, seed: Seed, clock: AdjustableClock,
                   reported: Reported, contract_id: int) -> None:
    winner = reported.report["candidates"][0]["credit_code"]
    supplier = next(p for p in seed.parties.values() if p.credit_code == winner)
    clock.advance(timedelta(minutes=5))
    await sign(client, contract_id, await http_signer(client, seed.procurer), raw=True)
    clock.advance(timedelta(minutes=5))
    done = await sign(client, contract_id, await http_signer(client, supplier), raw=False)
    assert done["state"] == "signed"


async def concluded_project(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                            clock: AdjustableClock, app: Starlette, pool: Pool) -> Ended:
    reported, contract_id = await awarded(client, flow, seed, clock, app, pool)
    await fail_other_section(client, seed, reported)
    await conclude(client, seed, clock, reported, contract_id)
    return Ended(reported.opened.project_id, reported)


async def failed_project(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                         clock: AdjustableClock, app: Starlette, pool: Pool) -> Ended:
    reported = await drafted_report(client, flow, seed, clock, app, pool,
                                    failing=frozenset({"bidder3"}), scheme=None)
    await sign_all(client, reported)
    recorded = await client.post(f"/api/v1/sections/{reported.section_id}/award/failure",
                                 headers=seed.agency.auth)
    assert recorded.status_code == 201, recorded.text
    await fail_other_section(client, seed, reported)
    return Ended(reported.opened.project_id, reported)
