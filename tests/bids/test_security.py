"""投标保证金: declared by bidders before the deadline; checked by the host after it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.support import Flow, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.services import Services

BODY = {"method": "bank_transfer", "amount": "10000.00", "reference": "回单 20260303-001"}


async def test_declare_then_confirm_after_the_deadline(client: httpx.AsyncClient, flow: Flow,
                                                       seed: Seed,
                                                       clock: AdjustableClock) -> None:
    section = (await flow.announced())["notice"]["sections"][0]
    url = f"/api/v1/sections/{section['id']}/security"
    assert (await client.post(url, headers=seed.bidder1.auth, json=BODY)).status_code == 200
    again = await client.post(url, headers=seed.bidder1.auth, json={**BODY, "amount": "12000.00"})
    assert again.json()["amount"] == "12000.00"
    assert_error(await client.get(url, headers=seed.agency.auth), 403, "sealed_until_deadline")
    assert_error(await client.post(f"{url}/{seed.bidder1.org_id}/decision",
                                   headers=seed.agency.auth, json={"status": "confirmed"}),
                 403, "sealed_until_deadline")
    clock.advance(timedelta(days=21))
    decided = await client.post(f"{url}/{seed.bidder1.org_id}/decision",
                                headers=seed.agency.auth, json={"status": "confirmed"})
    assert decided.status_code == 200 and decided.json()["status"] == "confirmed"
    listed = (await client.get(url, headers=seed.agency.auth)).json()["items"]
    assert [(row["org_id"], row["status"]) for row in listed] == [
        (seed.bidder1.org_id, "confirmed")]
    # The host confirming it is told whose security it is.
    assert (listed[0]["bidder_name"], listed[0]["credit_code"]) == ("bidder1 有限公司",
                                                                    seed.bidder1.credit_code)
    own = (await client.get(url, headers=seed.bidder2.auth)).json()["items"]
    assert own == []


@pytest.mark.parametrize("who, body, status, code", [
    ("agency", BODY, 403, "role_forbidden"),
    ("bidder1", {**BODY, "amount": 10000}, 422, "validation_failed"),
    ("bidder1", {**BODY, "method": "cash_in_envelope"}, 422, "validation_failed"),
    ("bidder1", {**BODY, "reference": ""}, 422, "validation_failed"),
])
async def test_bad_declarations_change_nothing(client: httpx.AsyncClient, flow: Flow,
                                               seed: Seed, services: Services, who: str,
                                               body: dict[str, object], status: int,
                                               code: str) -> None:
    section = (await flow.announced())["notice"]["sections"][0]
    before = await table_counts(services)
    response = await client.post(f"/api/v1/sections/{section['id']}/security",
                                 headers=seed.parties[who].auth, json=body)
    assert_error(response, status, code)
    assert await table_counts(services) == before
