"""The limits the OpenAPI document states hold at the server, and the bugs schemathesis found
stay fixed (each would fail on the main branch before the document was made exact)."""

from __future__ import annotations

import httpx
import pytest

from tests.support import Seed, assert_error, project_body, table_counts
from tradesys.bids.keys import generate_private_key, public_key_text
from tradesys.services import Services

PROJECTS = "/api/v1/projects"


@pytest.mark.parametrize("cursor", ["%C3%A9%C3%A9%C3%A9%C3%A9", "%F0%94%B8%8D", "A" * 513])
async def test_a_cursor_outside_the_documented_alphabet_or_length_is_400_not_500(
    client: httpx.AsyncClient, seed: Seed, cursor: str
) -> None:
    # A non-ASCII cursor reached base64's decoder, whose bare ValueError was a 500.
    for path in ("/api/v1/notices", PROJECTS):
        response = await client.get(f"{path}?cursor={cursor}", headers=seed.agency.auth)
        assert_error(response, 400, "invalid_cursor")


async def test_a_whole_number_written_with_a_fraction_is_an_integer(
    client: httpx.AsyncClient, seed: Seed
) -> None:
    # JSON Schema counts 3.0 as an integer; the strict models refused it (422).
    issued = await client.post("/api/v1/auth/tokens", json={
        "username": seed.agency.username, "password": seed.agency.password, "ttl_days": 3.0})
    assert issued.status_code == 201, issued.text
    assert issued.json()["token"]


async def test_a_fraction_is_still_no_integer(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    refused = await client.post("/api/v1/auth/tokens", json={
        "username": seed.agency.username, "password": seed.agency.password, "ttl_days": 3.5})
    assert_error(refused, 422, "validation_failed")
    assert await table_counts(services) == before


@pytest.mark.parametrize("key", ["has space", " lead", "tab\tinside"])
async def test_an_idempotency_key_outside_visible_ascii_is_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services, key: str
) -> None:
    before = await table_counts(services)
    response = await client.post("/api/v1/entrustments", headers={
        **seed.procurer.auth, "Idempotency-Key": key},
        json={"counterpart_credit_code": seed.agency2.credit_code})
    error = assert_error(response, 422, "invalid_idempotency_key")
    assert "visible ASCII" in error["message"]
    assert await table_counts(services) == before


@pytest.mark.parametrize("text", [
    lambda key: key + "=",      # padded base64
    lambda key: "A" + key[1:],  # not an uncompressed point (0x04 first)
])
async def test_a_public_key_outside_its_documented_form_is_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services, text: object
) -> None:
    before = await table_counts(services)
    key = public_key_text(generate_private_key())
    assert callable(text)
    response = await client.post("/api/v1/keys", headers=seed.bidder1.auth,
                                 json={"purpose": "bidder", "public_key": text(key)})
    assert_error(response, 422, "validation_failed")
    assert await table_counts(services) == before
    # The documented form itself is accepted.
    accepted = await client.post("/api/v1/keys", headers=seed.bidder1.auth,
                                 json={"purpose": "bidder", "public_key": key})
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("name", ["...", ". .", " .. "])
async def test_a_file_name_of_dots_and_spaces_only_is_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services, name: str
) -> None:
    project = await client.post(PROJECTS, headers=seed.agency.auth,
                                json=project_body(seed.procurer))
    assert project.status_code == 201, project.text
    before = await table_counts(services)
    response = await client.post(
        f"{PROJECTS}/{project.json()['id']}/documents", params={"filename": name},
        headers={**seed.agency.auth, "Content-Type": "application/pdf"}, content=b"%PDF-1.4")
    assert_error(response, 422, "invalid_filename")
    assert await table_counts(services) == before

