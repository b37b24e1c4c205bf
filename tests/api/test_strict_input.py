"""No input is a 500 (issue 10): nesting, numbers JSON cannot hold, digits that are not ASCII,
control characters in text, and a command the HTTP edge does not run. Each is a clear 4xx in
the one error shape, and changes nothing, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.bids.test_submission import sealing
from tests.support import Flow, Seed, assert_error, project_body, table_counts
from tradesys.demo.scenario import random_credit_code
from tradesys.services import Services

PROJECTS = "/api/v1/projects"
JSON = {"Content-Type": "application/json"}
#: Superscript two passes str.isdigit() and fails int(); the others are digits in other scripts
#: (Arabic-Indic, fullwidth, Devanagari) or the forms int() itself forgives (sign, space, _).
NOT_ASCII_DIGITS = ["²", "¹0", "٣", "１", "५", "+1", "-1", " 1", "1 ", "1_0", "1\n", ""]


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("raw", [
    "[" * 50_000,
    "{\"a\":" * 50_000,
    "[" * 33 + "]" * 33,
])
async def test_deeply_nested_json_is_a_400(
    client: httpx.AsyncClient, seed: Seed, services: Services, raw: str
) -> None:
    before = await table_counts(services)
    response = await client.post(PROJECTS, content=raw.encode(),
                                 headers={**seed.agency.auth, **JSON})
    assert_error(response, 400, "json_too_deep")
    assert await table_counts(services) == before


async def test_nesting_inside_strings_is_not_depth(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    # Brackets in a string are text: the body is judged by its fields, and is taken.
    body = project_body(seed.procurer, content="[" * 5000 + "{" * 5000)
    response = await client.post(PROJECTS, headers=seed.agency.auth, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["content"] == "[" * 5000 + "{" * 5000


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
async def test_numbers_json_cannot_hold_are_a_400(
    client: httpx.AsyncClient, seed: Seed, services: Services, number: str
) -> None:
    before = await table_counts(services)
    raw = json.dumps(project_body(seed.procurer))[:-1] + f', "extra": {number}}}'
    response = await client.post(PROJECTS, content=raw.encode(),
                                 headers={**seed.agency.auth, **JSON})
    assert_error(response, 400, "number_out_of_range")
    assert await table_counts(services) == before


async def test_a_lone_surrogate_is_not_text(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    raw = json.dumps(project_body(seed.procurer, name="x")).replace('"x"', '"x\\ud800"')
    response = await client.post(PROJECTS, content=raw.encode(),
                                 headers={**seed.agency.auth, **JSON})
    assert response.status_code in (400, 422), response.text
    assert_error(response, response.status_code)
    assert await table_counts(services) == before


async def test_a_command_the_http_edge_does_not_run_is_a_422(
    client: httpx.AsyncClient, seed: Seed, services: Services, flow: Flow
) -> None:
    project = await flow.announced()
    section_id = project["notice"]["sections"][0]["id"]
    before = await table_counts(services)
    for body in ({"type": "ping"}, {"type": "ping", "t": 1}, {"type": "shout"}, {"type": None},
                 {}):
        response = await client.post(f"/api/v1/sections/{section_id}/opening/commands",
                                     headers=seed.agency.auth, json=body)
        assert_error(response, 422, "validation_failed")
    assert await table_counts(services) == before


@pytest.mark.parametrize("text", NOT_ASCII_DIGITS)
async def test_integers_in_queries_are_ascii_digits_only(
    client: httpx.AsyncClient, seed: Seed, text: str
) -> None:
    for path, name, code in (("/api/v1/platform/releases", "cursor", "invalid_cursor"),
                             ("/api/v1/platform/releases", "limit", "invalid_limit"),
                             ("/api/v1/notices", "limit", "invalid_limit"),
                             (PROJECTS, "limit", "invalid_limit")):
        if text == "" and name == "cursor":
            continue  # an empty cursor is the first page
        response = await client.get(path, params={name: text}, headers=seed.agency.auth)
        assert_error(response, 400, code)


@pytest.mark.parametrize("cursor", [
    ["2026-03-02T01:00:00+00:00", 1e300 * 1e300],  # serialised as Infinity
    ["2026-03-02T01:00:00+00:00", True],
    ["2026-03-02T01:00:00+00:00", 2**70],
    ["2026-03-02T01:00:00+00:00", "²"],
    [17, 1],
])
async def test_notice_cursors_are_checked_field_by_field(
    client: httpx.AsyncClient, cursor: list[Any]
) -> None:
    response = await client.get("/api/v1/notices", params={"cursor": _cursor(cursor)})
    assert_error(response, 400, "invalid_cursor")


@pytest.mark.parametrize("cursor", [[True], [2**70], [1.5], ["²"], [[[[1]]]]])
async def test_project_cursors_are_checked(
    client: httpx.AsyncClient, seed: Seed, cursor: list[Any]
) -> None:
    response = await client.get(PROJECTS, params={"cursor": _cursor(cursor)},
                                headers=seed.agency.auth)
    assert_error(response, 400, "invalid_cursor")


async def test_content_length_is_ascii_digits_only(
    client: httpx.AsyncClient, seed: Seed, services: Services
) -> None:
    before = await table_counts(services)
    body = json.dumps(project_body(seed.procurer)).encode()
    # Through the ASGI transport the header reaches the app as sent (a server would stop it).
    response = await client.post(PROJECTS, content=body, headers={
        **seed.agency.auth, **JSON, "Content-Length": "²".encode("latin-1")})
    assert_error(response, 400, "bad_content_length")
    assert await table_counts(services) == before


async def test_upload_offset_is_ascii_digits_only(
    client: httpx.AsyncClient, seed: Seed, services: Services, flow: Flow
) -> None:
    project = await flow.announced()
    section_id = project["notice"]["sections"][0]["id"]
    await sealing(client, section_id, seed.bidder1)
    started = await client.post(f"/api/v1/sections/{section_id}/uploads",
                                headers=seed.bidder1.auth, json={"size": 10_000})
    assert started.status_code == 201, started.text
    url = f"/api/v1/uploads/{started.json()['id']}"
    before = await table_counts(services)
    for offset in ("²", "¹", "-0", "+0", "0x0", " 0", "2" * 40):
        response = await client.patch(url, content=b"x" * 100, headers={
            **seed.bidder1.auth, "Upload-Offset": offset.encode("latin-1"),
            "Content-Type": "application/offset+octet-stream"})
        assert_error(response, 400, "bad_offset")
    assert await table_counts(services) == before
    assert (await client.get(url, headers=seed.bidder1.auth)).json()["offset"] == 0


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u2028", "\n",
                                 "\t", "\r"])
async def test_control_characters_in_a_name_are_a_422(
    client: httpx.AsyncClient, seed: Seed, services: Services, bad: str
) -> None:
    before = await table_counts(services)
    for field in ("name", "owner_name"):
        body = project_body(seed.procurer, **{field: f"教学{bad}楼"})
        response = await client.post(PROJECTS, headers=seed.agency.auth, json=body)
        error = assert_error(response, 422, "validation_failed")
        assert [item["loc"] for item in error["details"]] == [[field]]
    section = project_body(seed.procurer)
    section["sections"][0]["name"] = f"施{bad}工"
    response = await client.post(PROJECTS, headers=seed.agency.auth, json=section)
    assert_error(response, 422, "validation_failed")
    assert await table_counts(services) == before


async def test_control_characters_in_multiline_text_are_a_422(
    client: httpx.AsyncClient, seed: Seed, services: Services, flow: Flow
) -> None:
    project = await flow.announced()
    before = await table_counts(services)
    for bad in ("\x00", "\x08", "\x1b", "\x7f", "\x9f"):
        response = await client.post(PROJECTS, headers=seed.agency.auth,
                                     json=project_body(seed.procurer, content=f"新建{bad}教学楼"))
        assert_error(response, 422, "validation_failed")
        question = await client.post(f"{PROJECTS}/{project['id']}/questions",
                                     headers=seed.bidder1.auth, json={"text": f"请问{bad}工期"})
        assert_error(question, 422, "validation_failed")
        # Identity's models get the same floor from the shared base (tradesys/strict.py).
        org = await client.post("/api/v1/organisations", headers=seed.admin.auth,
                                json={"name": f"坏{bad}公司", "credit_code": "9" * 18})
        assert_error(org, 422, "validation_failed")
    assert await table_counts(services) == before


async def test_line_breaks_and_tabs_stay_in_multiline_text(
    client: httpx.AsyncClient, seed: Seed
) -> None:
    content = "第一行\n第二行\r\n\t缩进"
    response = await client.post(PROJECTS, headers=seed.agency.auth,
                                 json=project_body(seed.procurer, content=content))
    assert response.status_code == 201, response.text
    assert response.json()["content"] == content


async def test_a_control_character_in_a_file_name_is_refused(
    client: httpx.AsyncClient, seed: Seed, services: Services, flow: Flow
) -> None:
    project = await flow.register()
    before = await table_counts(services)
    for name in ("a\nb.pdf", "a\x00.pdf", "a\rContent-Type: x.pdf"):
        response = await client.post(
            f"{PROJECTS}/{project['id']}/documents", params={"filename": name},
            headers={**seed.agency.auth, "Content-Type": "application/pdf"}, content=b"x")
        assert_error(response, 422, "invalid_filename")
    assert (await table_counts(services))["tender_documents"] == before["tender_documents"]


@pytest.mark.parametrize("bad", ["\n", "\r", "\t", "\u2028"])
async def test_organisation_and_user_names_are_one_line(
    client: httpx.AsyncClient, seed: Seed, services: Services, bad: str
) -> None:
    """Names are shown on one line in lists, records and PDFs: a line break in one could forge
    a second line there."""
    before = await table_counts(services)
    org = await client.post("/api/v1/organisations", headers=seed.admin.auth,
                            json={"name": f"某某{bad}公司", "credit_code": random_credit_code()})
    error = assert_error(org, 422, "validation_failed")
    assert [item["loc"] for item in error["details"]] == [["name"]]
    user = await client.post("/api/v1/users", headers=seed.admin.auth, json={
        "org_id": seed.agency.org_id, "username": "newuser", "display_name": f"张{bad}三",
        "password": "a-good-password-1", "role": "agency"})
    error = assert_error(user, 422, "validation_failed")
    assert [item["loc"] for item in error["details"]] == [["display_name"]]
    assert await table_counts(services) == before
