"""Edge validation: every bad request gets a clear 4xx in the one error shape, and changes
nothing (DESIGN.md invariant 7)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support import T0, Flow, Seed, announce_body, assert_error, project_body, table_counts
from tradesys.services import Services

PROJECTS = "/api/v1/projects"
MIB = 1024 * 1024


def locs(error: dict[str, Any]) -> list[list[str]]:
    return [item["loc"] for item in error["details"]]


@pytest.mark.parametrize(
    "raw",
    [b'{"name": ', b"", b"{'name': 'single quotes'}", b"\xff\xfe{}", b"{} trailing",
     b'{"name": "x",}'],
)
async def test_malformed_json_is_a_400(
    client: httpx.AsyncClient, seed: Seed, services: Services, raw: bytes
) -> None:
    before = await table_counts(services)
    response = await client.post(PROJECTS, content=raw, headers={
        **seed.agency.auth, "Content-Type": "application/json"})
    assert_error(response, 400, "malformed_json")
    assert await table_counts(services) == before


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "application/jsonp", "application/xml", None],
)
async def test_wrong_content_type_is_a_415(
    client: httpx.AsyncClient, seed: Seed, services: Services, content_type: str | None
) -> None:
    headers = dict(seed.agency.auth)
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = await table_counts(services)
    response = await client.post(PROJECTS, content=json.dumps(project_body(seed.procurer)),
                                 headers=headers)
    assert_error(response, 415, "unsupported_media_type")
    assert await table_counts(services) == before


async def test_json_with_charset_parameter_is_accepted(
    client: httpx.AsyncClient, seed: Seed
) -> None:
    response = await client.post(
        PROJECTS, content=json.dumps(project_body(seed.procurer)).encode(),
        headers={**seed.agency.auth, "Content-Type": "Application/JSON; charset=utf-8"})
    assert response.status_code == 201, response.text


def oversized_body(seed: Seed) -> bytes:
    body = project_body(seed.procurer, content="x" * (MIB + 10))
    raw = json.dumps(body).encode()
    assert len(raw) > MIB
    return raw


async def test_body_over_one_mib_is_a_413(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    response = await client.post(PROJECTS, content=oversized_body(seed), headers={
        **seed.agency.auth, "Content-Type": "application/json"})
    assert_error(response, 413, "body_too_large")
    assert await table_counts(services) == before


async def test_streamed_body_over_one_mib_is_a_413(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    raw = oversized_body(seed)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    before = await table_counts(services)
    # No Content-Length (chunked): the limit is enforced while reading.
    response = await client.post(PROJECTS, content=chunks(), headers={
        **seed.agency.auth, "Content-Type": "application/json"})
    assert_error(response, 413, "body_too_large")
    assert await table_counts(services) == before


async def test_unknown_fields_are_named(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    response = await client.post(PROJECTS, headers=seed.agency.auth,
                                 json=project_body(seed.procurer, nickname="x"))
    error = assert_error(response, 422, "validation_failed")
    assert ["nickname"] in locs(error)
    assert error["details"][0]["type"] == "extra_forbidden"
    body = project_body(seed.procurer)
    body["sections"][1]["discount"] = "5%"
    nested = await client.post(PROJECTS, headers=seed.agency.auth, json=body)
    assert ["sections", "1", "discount"] in locs(assert_error(nested, 422, "validation_failed"))
    assert await table_counts(services) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", 123), ("name", None), ("name", ["a"]), ("region_code", 350100),
     ("sections", {"name": "x"}), ("sections", []), ("procedure", "lottery"),
     ("name", ""), ("name", "x" * 201)],
)
async def test_wrong_types_and_values_are_refused_without_coercion(
    client: httpx.AsyncClient, seed: Seed, services: Services, field: str, value: Any
) -> None:
    before = await table_counts(services)
    response = await client.post(PROJECTS, headers=seed.agency.auth,
                                 json=project_body(seed.procurer, **{field: value}))
    error = assert_error(response, 422, "validation_failed")
    assert any(loc[:1] == [field] for loc in locs(error)), error
    assert await table_counts(services) == before


@pytest.mark.parametrize("value", ["true", 1, "yes", None])
async def test_a_string_is_not_a_bool(
    client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, value: Any
) -> None:
    project = await flow.register()
    await flow.upload(project["id"])
    before = await table_counts(services)
    response = await client.post(f"{PROJECTS}/{project['id']}/announce", headers=seed.agency.auth,
                                 json=announce_body(flow.now, seed, consortium_allowed=value))
    error = assert_error(response, 422, "validation_failed")
    assert ["consortium_allowed"] in locs(error)
    assert await table_counts(services) == before


@pytest.mark.parametrize("raw", [b"[]", b"null", b"42", b'"a string"'])
async def test_a_body_that_is_not_an_object(
    client: httpx.AsyncClient, seed: Seed, services: Services, raw: bytes
) -> None:
    before = await table_counts(services)
    response = await client.post(PROJECTS, content=raw, headers={
        **seed.agency.auth, "Content-Type": "application/json"})
    assert_error(response, 422, "validation_failed")
    assert await table_counts(services) == before


@pytest.mark.parametrize("project_id", ["99999999999", "2147483648", "2147483647", "0",
                                        "1" + "0" * 40, "-1", "abc", "1.5"])
async def test_path_ids_out_of_range_are_404_not_500(
    client: httpx.AsyncClient, seed: Seed, services: Services, project_id: str
) -> None:
    get = await client.get(f"{PROJECTS}/{project_id}", headers=seed.agency.auth)
    assert_error(get, 404)
    before = await table_counts(services)
    post = await client.post(f"{PROJECTS}/{project_id}/announce", headers=seed.agency.auth,
                             json=announce_body(T0, seed))
    assert_error(post, 404)
    cancel = await client.post(f"{PROJECTS}/{project_id}/cancel", headers=seed.agency.auth,
                               json={"reason": "测试"})
    assert_error(cancel, 404)
    upload = await client.post(f"{PROJECTS}/{project_id}/documents",
                               params={"filename": "a.pdf"}, content=b"%PDF",
                               headers={**seed.agency.auth, "Content-Type": "application/pdf"})
    assert_error(upload, 404)
    assert await table_counts(services) == before


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_unknown_api_route_is_404_in_the_error_shape(
    client: httpx.AsyncClient, seed: Seed, services: Services, method: str
) -> None:
    before = await table_counts(services)
    for path in ("/api/v1/nope", "/api/v1/projects/1/nope", "/api/v1/", "/api/v1"):
        response = await client.request(method, path, headers=seed.agency.auth, json={})
        assert_error(response, 404, "not_found")
        assert response.headers["content-type"] == "application/json"
    assert await table_counts(services) == before


async def test_known_route_with_the_wrong_method_is_405(
    client: httpx.AsyncClient, seed: Seed
) -> None:
    for method, path, allow in [
        ("DELETE", PROJECTS, "GET, HEAD, POST"),
        ("PUT", "/api/v1/me", "GET, HEAD"),
        ("GET", "/api/v1/auth/login", "POST"),  # not the static files' 404
        ("PATCH", f"{PROJECTS}/1", "GET, HEAD"),
    ]:
        response = await client.request(method, path, headers=seed.agency.auth)
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == allow


async def test_validation_errors_never_echo_a_password(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    secret = "Sup3r-Secret-" + "q" * 287
    assert len(secret) == 300
    before = await table_counts(services)
    for body in (
        {"org_id": seed.bidder1.org_id, "username": "newbie", "display_name": "新人",
         "password": secret, "role": "bidder"},
        {"org_id": seed.bidder1.org_id, "username": "x", "display_name": "",
         "password": secret, "role": "emperor", "extra": secret},
    ):
        response = await client.post("/api/v1/users", headers=seed.admin.auth, json=body)
        error = assert_error(response, 422, "validation_failed")
        assert ["password"] in locs(error)
        assert "Sup3r-Secret" not in response.text
        assert "qqqqqqqqqq" not in response.text
    login = await client.post("/api/v1/auth/login", json={"username": "agency",
                                                          "password": secret})
    assert_error(login, 422, "validation_failed")
    assert "Sup3r-Secret" not in login.text
    tokens = await client.post("/api/v1/auth/tokens", json={"username": secret,
                                                            "password": secret})
    assert_error(tokens, 422, "validation_failed")
    assert "Sup3r-Secret" not in tokens.text
    assert await table_counts(services) == before


@pytest.mark.parametrize(
    "query", ["limit=abc", "limit=0", "limit=201", "limit=-1", "cursor=!!!", "cursor=e30",
              "cursor=bnVsbA"],
)
async def test_bad_query_parameters_are_400(
    client: httpx.AsyncClient, seed: Seed, query: str
) -> None:
    response = await client.get(f"{PROJECTS}?{query}", headers=seed.agency.auth)
    error = assert_error(response, 400)
    assert error["code"] in {"invalid_limit", "invalid_cursor"}
