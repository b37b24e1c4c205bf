"""Idempotency-Key on writes: a retry replays the answer, the write happens once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import Flow, Party, Seed, assert_error, project_body, table_counts
from tradesys.services import Services

PROJECTS = "/api/v1/projects"


def keyed(party: Party, key: str) -> dict[str, str]:
    return {**party.auth, "Idempotency-Key": key}


async def test_same_key_and_body_replays_the_response_and_writes_once(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    body = project_body(seed.procurer)
    before = await table_counts(services)
    first = await client.post(PROJECTS, headers=keyed(seed.agency, "register-1"), json=body)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    after_first = await table_counts(services)
    assert after_first["projects"] == before["projects"] + 1
    assert after_first["events"] > before["events"]

    for _ in range(2):
        again = await client.post(PROJECTS, headers=keyed(seed.agency, "register-1"), json=body)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert again.content == first.content
    assert await table_counts(services) == after_first
    listed = await client.get(PROJECTS, headers=seed.agency.auth)
    assert [p["id"] for p in listed.json()["items"]].count(first.json()["id"]) == 1


async def test_without_a_key_each_request_writes(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    body = project_body(seed.procurer)
    before = await table_counts(services)
    one = await client.post(PROJECTS, headers=seed.agency.auth, json=body)
    two = await client.post(PROJECTS, headers=seed.agency.auth, json=body)
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]
    assert (await table_counts(services))["projects"] == before["projects"] + 2


async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    first = await client.post(PROJECTS, headers=keyed(seed.agency, "k-1"),
                              json=project_body(seed.procurer))
    assert first.status_code == 201, first.text
    before = await table_counts(services)
    other = await client.post(PROJECTS, headers=keyed(seed.agency, "k-1"),
                              json=project_body(seed.procurer, name="另一个项目"))
    assert_error(other, 422, "idempotency_key_reused")
    # The same key on another endpoint is another request too.
    project_id = first.json()["id"]
    cancel = await client.post(f"{PROJECTS}/{project_id}/cancel",
                               headers=keyed(seed.agency, "k-1"), json={"reason": "测试"})
    assert_error(cancel, 422, "idempotency_key_reused")
    assert await table_counts(services) == before


async def test_keys_are_per_user(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    body = project_body(seed.procurer)
    mine = await client.post(PROJECTS, headers=keyed(seed.agency, "shared-key"), json=body)
    assert mine.status_code == 201, mine.text
    before = await table_counts(services)
    theirs = await client.post(PROJECTS, headers=keyed(seed.agency2, "shared-key"), json=body)
    assert theirs.status_code == 201, theirs.text
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["agency_org_id"] == seed.agency2.org_id
    assert (await table_counts(services))["projects"] == before["projects"] + 1
    # And another user cannot read someone's stored answer by guessing their key: a
    # different body under agency2's key is agency2's own conflict.
    clash = await client.post(PROJECTS, headers=keyed(seed.agency2, "shared-key"),
                              json=project_body(seed.procurer, name="x"))
    assert_error(clash, 422, "idempotency_key_reused")


async def test_a_key_belongs_to_the_user_not_the_credential(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    body = project_body(seed.procurer)
    first = await client.post(PROJECTS, headers=keyed(seed.agency, "via-token"), json=body)
    assert first.status_code == 201
    login = await client.post("/api/v1/auth/login", json={"username": "agency",
                                                          "password": seed.agency.password})
    before = await table_counts(services)
    replay = await client.post(PROJECTS, json=body, headers={
        "Idempotency-Key": "via-token", "X-CSRF-Token": login.json()["csrf_token"]})
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert await table_counts(services) == before


async def test_a_refused_request_does_not_use_up_the_key(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    refused = await client.post(PROJECTS, headers=keyed(seed.agency, "retry-me"),
                                json=project_body(seed.procurer,
                                                  procurer_credit_code="91350100M000100Y43"))
    assert 400 <= refused.status_code < 500
    assert await table_counts(services) == before
    fixed = await client.post(PROJECTS, headers=keyed(seed.agency, "retry-me"),
                              json=project_body(seed.procurer))
    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers


@pytest.mark.parametrize("key", ["k" * 201, "", "tab\tinside", "k" * 1000])
async def test_invalid_keys_are_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services, key: str
) -> None:
    before = await table_counts(services)
    response = await client.post(PROJECTS, headers=keyed(seed.agency, key),
                                 json=project_body(seed.procurer))
    assert_error(response, 422, "invalid_idempotency_key")
    assert await table_counts(services) == before


async def test_the_longest_allowed_key_works(
    client: httpx.AsyncClient, seed: Seed
) -> None:
    key = "k" * 200
    body = project_body(seed.procurer)
    first = await client.post(PROJECTS, headers=keyed(seed.agency, key), json=body)
    assert first.status_code == 201, first.text
    again = await client.post(PROJECTS, headers=keyed(seed.agency, key), json=body)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_document_upload_replays_only_the_same_file(
    client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services
) -> None:
    project = await flow.register()
    url = f"{PROJECTS}/{project['id']}/documents"

    async def upload(data: bytes, filename: str = "招标文件.pdf") -> httpx.Response:
        headers: dict[str, Any] = {**keyed(seed.agency, "doc-1"),
                                   "Content-Type": "application/pdf"}
        return await client.post(url, params={"filename": filename}, content=data,
                                 headers=headers)

    first = await upload(b"%PDF-1.7 version one")
    assert first.status_code == 201, first.text
    before = await table_counts(services)
    again = await upload(b"%PDF-1.7 version one")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert_error(await upload(b"%PDF-1.7 version two"), 422, "idempotency_key_reused")
    assert_error(await upload(b"%PDF-1.7 version one", "other.pdf"), 422,
                 "idempotency_key_reused")
    assert await table_counts(services) == before
