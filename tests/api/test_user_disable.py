"""An admin disables a user: its sessions and tokens stop at once, it cannot log in; enabling
restores it. Only an admin may, never on itself; unknown ids are 404; a refusal changes nothing.
"""

from __future__ import annotations

import httpx

from tests.support import Seed, assert_error, table_counts
from tradesys.services import Services

ME = "/api/v1/me"


async def test_disable_then_enable(client: httpx.AsyncClient, seed: Seed,
                                   services: Services) -> None:
    login = await client.post("/api/v1/auth/login", json={"username": "bidder4",
                                                          "password": seed.bidder4.password})
    assert login.status_code == 200
    assert (await client.get(ME)).status_code == 200
    before = await table_counts(services)
    response = await client.post(f"/api/v1/users/{seed.bidder4.user_id}/disable",
                                 headers=seed.admin.auth)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert (await table_counts(services))["events"] == before["events"] + 1
    assert_error(await client.get(ME), 401, "session_expired")
    assert_error(await client.get(ME, headers=seed.bidder4.auth), 401, "token_expired")
    client.cookies.clear()
    again = await client.post("/api/v1/auth/login", json={"username": "bidder4",
                                                          "password": seed.bidder4.password})
    assert_error(again, 401, "bad_credentials")
    # Disabling twice changes nothing more.
    events = (await table_counts(services))["events"]
    assert (await client.post(f"/api/v1/users/{seed.bidder4.user_id}/disable",
                              headers=seed.admin.auth)).status_code == 200
    assert (await table_counts(services))["events"] == events

    enabled = await client.post(f"/api/v1/users/{seed.bidder4.user_id}/enable",
                                headers=seed.admin.auth)
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["active"] is True
    assert (await client.get(ME, headers=seed.bidder4.auth)).status_code == 200


async def test_only_an_admin_disables_and_never_itself(client: httpx.AsyncClient, seed: Seed,
                                                       services: Services) -> None:
    before = await table_counts(services)
    path = f"/api/v1/users/{seed.bidder1.user_id}/disable"
    assert_error(await client.post(path, headers=seed.agency.auth), 403, "role_forbidden")
    assert_error(await client.post(path, headers=seed.bidder1.auth), 403, "role_forbidden")
    assert_error(await client.post(path), 401, "login_required")
    assert_error(await client.post(f"/api/v1/users/{seed.admin.user_id}/disable",
                                   headers=seed.admin.auth), 409, "cannot_disable_self")
    for missing in ("999999", "0", str(2**31), "-1"):
        response = await client.post(f"/api/v1/users/{missing}/disable", headers=seed.admin.auth)
        assert response.status_code == 404, response.text
    assert await table_counts(services) == before
    assert (await client.get(ME, headers=seed.bidder1.auth)).status_code == 200
