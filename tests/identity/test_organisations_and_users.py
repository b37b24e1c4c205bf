"""The admin registers organisations (统一社会信用代码 checked) and users; no one else may."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support import Party, Seed, assert_error, table_counts
from tradesys.demo.scenario import random_credit_code
from tradesys.identity.credit_code import make_credit_code
from tradesys.identity.models import Organisation, User
from tradesys.services import Services

ORGS = "/api/v1/organisations"
USERS = "/api/v1/users"
NON_ADMIN = ["procurer", "agency", "bidder1", "supervisor", "expert"]


def user_body(org_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "org_id": org_id,
        "username": "newuser",
        "display_name": "新用户",
        "password": "correct-horse-9",
        "role": "bidder",
    }
    body.update(overrides)
    return body


async def test_admin_registers_an_organisation(client: httpx.AsyncClient, seed: Seed) -> None:
    response = await client.post(
        ORGS, headers=seed.admin.auth, json={"name": "福建某建设有限公司",
                                             "credit_code": "91350100M000100Y43"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["credit_code"] == "91350100M000100Y43"
    assert body["name"] == "福建某建设有限公司"
    assert isinstance(body["id"], int)


async def test_lowercase_credit_code_is_upper_cased(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    response = await client.post(
        ORGS, headers=seed.admin.auth, json={"name": "北京某科技有限公司",
                                             "credit_code": "91110108551385082q"})
    assert response.status_code == 201, response.text
    assert response.json()["credit_code"] == "91110108551385082Q"
    async with services.db.reading() as session:
        stored = (await session.execute(
            select(Organisation.credit_code).where(Organisation.id == response.json()["id"])
        )).scalar_one()
    assert stored == "91110108551385082Q"
    # The same code in the other case is the same organisation.
    again = await client.post(ORGS, headers=seed.admin.auth,
                              json={"name": "重复", "credit_code": "91110108551385082Q"})
    assert_error(again, 409, "organisation_exists")


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4O",  # O is not in the alphabet
        "91350100I000100Y43",  # I is not in the alphabet
        "9135010SM000100Y43",  # a letter in the division code
        "ABCDEFGHJKLMNPQRTU",  # 18 characters, nonsense
    ],
)
async def test_invalid_credit_code_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, seed: Seed, services: Services, code: str
) -> None:
    before = await table_counts(services)
    response = await client.post(ORGS, headers=seed.admin.auth,
                                 json={"name": "某公司", "credit_code": code})
    assert_error(response, 422, "invalid_credit_code")
    assert await table_counts(services) == before


@pytest.mark.parametrize("code", ["91350100M000100Y4", "91350100M000100Y433", ""])
async def test_credit_code_of_wrong_length_is_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services, code: str
) -> None:
    before = await table_counts(services)
    response = await client.post(ORGS, headers=seed.admin.auth,
                                 json={"name": "某公司", "credit_code": code})
    error = assert_error(response, 422, "validation_failed")
    assert ["credit_code"] in [item["loc"] for item in error["details"]]
    assert await table_counts(services) == before


async def test_duplicate_credit_code_conflicts(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    body = {"name": "另一家公司", "credit_code": seed.bidder1.credit_code}
    response = await client.post(ORGS, headers=seed.admin.auth, json=body)
    assert_error(response, 409, "organisation_exists")
    assert await table_counts(services) == before


@pytest.mark.parametrize("key", NON_ADMIN)
async def test_only_admin_registers_organisations_and_users(
    client: httpx.AsyncClient, seed: Seed, services: Services, key: str
) -> None:
    party: Party = seed.parties[key]
    before = await table_counts(services)
    org = await client.post(ORGS, headers=party.auth,
                            json={"name": "冒名公司", "credit_code": random_credit_code()})
    assert_error(org, 403, "role_forbidden")
    user = await client.post(USERS, headers=party.auth,
                             json=user_body(party.org_id, role="admin", username="sneaky"))
    assert_error(user, 403, "role_forbidden")
    assert await table_counts(services) == before


async def test_anonymous_cannot_register(
    client: httpx.AsyncClient, services: Services, seed: Seed
) -> None:
    before = await table_counts(services)
    org = await client.post(ORGS, json={"name": "匿名", "credit_code": random_credit_code()})
    assert_error(org, 401, "login_required")
    user = await client.post(USERS, json=user_body(seed.bidder1.org_id))
    assert_error(user, 401, "login_required")
    assert await table_counts(services) == before


async def test_admin_creates_a_user_who_can_log_in(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    response = await client.post(USERS, headers=seed.admin.auth,
                                 json=user_body(seed.bidder1.org_id, password="exactly-10"))
    assert response.status_code == 201, response.text
    assert response.json() == {"id": response.json()["id"], "org_id": seed.bidder1.org_id,
                               "username": "newuser", "display_name": "新用户",
                               "role": "bidder", "active": True}
    login = await client.post("/api/v1/auth/login",
                              json={"username": "newuser", "password": "exactly-10"})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["role"] == "bidder"


async def test_weak_password_is_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    response = await client.post(USERS, headers=seed.admin.auth,
                                 json=user_body(seed.bidder1.org_id, password="nine-char"))
    error = assert_error(response, 422, "weak_password")
    assert "nine-char" not in response.text
    assert "10" in error["message"]
    assert await table_counts(services) == before


async def test_password_whitespace_is_kept_verbatim(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    # A password is a secret, not text to tidy: surrounding spaces are part of it, exactly as
    # for an admin created with `tradesys admin create` (which never strips).
    password = "  secret pass  "
    created = await client.post(USERS, headers=seed.admin.auth,
                                json=user_body(seed.bidder1.org_id, password=password))
    assert created.status_code == 201, created.text
    login = await client.post("/api/v1/auth/login",
                              json={"username": "newuser", "password": password})
    assert login.status_code == 200, login.text
    client.cookies.clear()
    before = await table_counts(services)
    stripped = await client.post("/api/v1/auth/login",
                                 json={"username": "newuser", "password": password.strip()})
    assert_error(stripped, 401, "bad_credentials")
    after = await table_counts(services)
    assert after.pop("login_attempts") == before.pop("login_attempts") + 1
    assert after == before


async def test_duplicate_username_conflicts(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    response = await client.post(USERS, headers=seed.admin.auth,
                                 json=user_body(seed.bidder2.org_id, username="bidder1"))
    assert_error(response, 409, "username_taken")
    assert await table_counts(services) == before


async def test_unknown_role_is_a_validation_error(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    response = await client.post(USERS, headers=seed.admin.auth,
                                 json=user_body(seed.bidder1.org_id, role="superuser"))
    error = assert_error(response, 422, "validation_failed")
    assert ["role"] in [item["loc"] for item in error["details"]]
    assert await table_counts(services) == before


@pytest.mark.parametrize("org_id", [99999, 2**31 - 1])
async def test_unknown_organisation_is_not_found(
    client: httpx.AsyncClient, seed: Seed, services: Services, org_id: int
) -> None:
    before = await table_counts(services)
    response = await client.post(USERS, headers=seed.admin.auth, json=user_body(org_id))
    assert_error(response, 404, "organisation_not_found")
    assert await table_counts(services) == before


@pytest.mark.parametrize("org_id", [2**31, 2**63, 10**30, 0, -1])
async def test_org_id_out_of_range_is_a_validation_error_not_a_crash(
    client: httpx.AsyncClient, seed: Seed, services: Services, org_id: int
) -> None:
    # Before the bound, 2**31 crashed asyncpg (int32) and 2**63 crashed SQLite: a 500.
    before = await table_counts(services)
    response = await client.post(USERS, headers=seed.admin.auth, json=user_body(org_id))
    error = assert_error(response, 422, "validation_failed")
    assert ["org_id"] in [item["loc"] for item in error["details"]]
    assert await table_counts(services) == before


@pytest.mark.parametrize("username", ["ab", "has space", "名字", "a" * 65, "semi;colon"])
async def test_bad_usernames_are_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services, username: str
) -> None:
    before = await table_counts(services)
    response = await client.post(USERS, headers=seed.admin.auth,
                                 json=user_body(seed.bidder1.org_id, username=username))
    error = assert_error(response, 422, "validation_failed")
    assert ["username"] in [item["loc"] for item in error["details"]]
    assert await table_counts(services) == before


async def test_passwords_are_stored_as_argon2id_hashes(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    response = await client.post(USERS, headers=seed.admin.auth,
                                 json=user_body(seed.bidder1.org_id))
    assert response.status_code == 201, response.text
    async with services.db.reading() as session:
        hashes = dict((await session.execute(select(User.username, User.password_hash))).all())
    assert set(hashes) >= {"admin", "bidder1", "newuser"}
    for username, value in hashes.items():
        assert value.startswith("$argon2id$"), username
    assert "correct-horse-9" not in hashes["newuser"]


def test_make_credit_code_is_what_the_demo_uses() -> None:
    # The seeded parties' codes come from the same algorithm the API checks.
    assert make_credit_code("91350100M000100Y4") == "91350100M000100Y43"
