"""/openapi.json: a valid OpenAPI 3.1 document that describes exactly the routes the app serves."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from asgi_lifespan import LifespanManager
from openapi_spec_validator import OpenAPIV31SpecValidator
from starlette.applications import Starlette
from starlette.routing import Route

from tradesys.api import idempotency
from tradesys.api.pagination import MAX_CURSOR_LENGTH, MAX_LIMIT, encode_cursor
from tradesys.api.routes.bidding import MAX_UPLOAD_SIZE
from tradesys.api.v1 import api_router
from tradesys.app import create_app
from tradesys.bids.keys import generate_private_key, public_key_text
from tradesys.errors import Invalid
from tradesys.procurement import documents
from tradesys.settings import Settings
from tradesys.strict import LINES, ONE_LINE, text_problem

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
#: The router's own fallback routes answer 404/405 for paths no endpoint serves.
FALLBACKS = {"/api/v1", "/api/v1/{rest:path}"}
PUBLIC = {(re.sub(r"\{(\w+):\w+\}", r"{\1}", e.path), e.method)
          for e in api_router().endpoints if e.public}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    # The document does not touch the database: an app over an unused SQLite file will do.
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    application = create_app(settings, run_scheduler=False)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def document(app: Starlette) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def app_operations(app: Starlette) -> set[tuple[str, str]]:
    operations = set()
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/api/v1"):
            continue
        if route.path in FALLBACKS:
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods or ():
            if method != "HEAD":  # implied by GET
                operations.add((path, method.lower()))
    return operations


def doc_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items()
            for method in item if method in HTTP_METHODS}


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/components/schemas/"), ref
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def object_schemas(document: dict[str, Any], schema: Any, seen: set[int]) -> Iterator[
        dict[str, Any]]:
    """Every object schema reachable from ``schema``, following $ref."""
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen.add(id(schema))
    if "$ref" in schema:
        yield from object_schemas(document, resolve(document, schema), seen)
        return
    if schema.get("type") == "object" or "properties" in schema:
        yield schema
    for key in ("properties", "$defs"):
        for child in schema.get(key, {}).values():
            yield from object_schemas(document, child, seen)
    for key in ("items", "additionalProperties", "not"):
        yield from object_schemas(document, schema.get(key), seen)
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        for child in schema.get(key, []):
            yield from object_schemas(document, child, seen)


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"]
    assert document["info"]["version"]
    OpenAPIV31SpecValidator(document).validate()


def test_every_api_route_is_documented_with_its_methods(
    app: Starlette, document: dict[str, Any]
) -> None:
    served = app_operations(app)
    documented = doc_operations(document)
    assert served, "the app serves no /api/v1 routes?"
    assert served == documented
    # The core identity endpoints, by name, so an empty router cannot pass.
    assert {("/api/v1/auth/login", "post"), ("/api/v1/auth/logout", "post"),
            ("/api/v1/auth/tokens", "post"), ("/api/v1/me", "get"),
            ("/api/v1/organisations", "post"), ("/api/v1/users", "post"),
            ("/api/v1/projects", "post"), ("/api/v1/projects/{project_id}", "get")} <= served


def test_operations_are_fully_described(document: dict[str, Any]) -> None:
    operation_ids = []
    for path, item in document["paths"].items():
        names = re.findall(r"\{(\w+)\}", path)
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            assert operation["summary"], (path, method)
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(names), (path, method)
            error = operation["responses"]["4XX"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}
            public = (path, method.upper()) in PUBLIC
            assert bool(operation.get("security")) is not public, (path, method)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    # Logging in is public; who-am-I and the admin's writes need credentials.
    secured = {("/api/v1/me", "get"), ("/api/v1/organisations", "post"),
               ("/api/v1/users", "post"), ("/api/v1/auth/logout", "post")}
    for path, method in secured:
        assert document["paths"][path][method]["security"]
    for path in ("/api/v1/auth/login", "/api/v1/auth/tokens"):
        assert "security" not in document["paths"][path]["post"]


def test_request_bodies_forbid_unknown_fields(document: dict[str, Any]) -> None:
    bodies = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:  # none, or raw bytes (documents, bids)
                continue
            bodies += 1
            schema = content["application/json"]["schema"]
            objects = list(object_schemas(document, schema, set()))
            assert objects, (path, method)
            for obj in objects:
                assert obj.get("additionalProperties") is False, (path, method, obj.get("title"))
    assert bodies >= 6
    # Nested models too: a project's sections.
    register = document["paths"]["/api/v1/projects"]["post"]["requestBody"]
    nested = [o.get("title") for o in object_schemas(
        document, register["content"]["application/json"]["schema"], set())]
    assert "SectionIn" in nested


def test_the_documented_error_schema_matches_real_errors(
    document: dict[str, Any]
) -> None:
    schema = document["components"]["schemas"]["Error"]
    jsonschema.validate({"error": {"code": "not_found", "message": "no"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"error": {"code": "not_found"}}, schema)


async def test_real_responses_match_the_documented_error_schema(
    app: Starlette, document: dict[str, Any]
) -> None:
    schema = document["components"]["schemas"]["Error"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for response in (await client.get("/api/v1/nope"),
                         await client.post("/api/v1/auth/login", content=b"{",
                                           headers={"Content-Type": "application/json"}),
                         await client.post("/api/v1/auth/login", json={"username": 1})):
            assert 400 <= response.status_code < 500
            jsonschema.validate(response.json(), schema)


def ecma(pattern: str) -> re.Pattern[str]:
    """A document pattern as JSON Schema reads it (ECMA-262): there ``$`` is the end of the
    string, where Python's also matches before a final newline."""
    assert pattern.endswith("$") and not pattern.endswith("\\$")
    return re.compile(pattern[:-1] + r"\Z")


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"]["/api/v1" + path][method]
    return operation


def _param(operation: dict[str, Any], name: str) -> dict[str, Any]:
    found = [p for p in operation.get("parameters", []) if p["name"] == name]
    assert len(found) == 1, (operation["operationId"], name)
    return found[0]


def test_paged_lists_state_their_limit_and_cursor(document: dict[str, Any]) -> None:
    for path in ("/notices", "/projects", "/platform/releases"):
        operation = _operation(document, "get", path)
        limit = _param(operation, "limit")
        assert limit["in"] == "query" and not limit["required"]
        assert limit["schema"]["type"] == "integer"
        assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, MAX_LIMIT)
        assert _param(operation, "cursor")["in"] == "query"
    for path in ("/notices", "/projects"):
        cursor = _param(_operation(document, "get", path), "cursor")["schema"]
        assert cursor["maxLength"] == MAX_CURSOR_LENGTH
        assert re.fullmatch(cursor["pattern"][1:-1], encode_cursor(["2026-01-01", 7]))
    # The releases' cursor is a commit position: a whole number.
    assert _param(_operation(document, "get", "/platform/releases"),
                  "cursor")["schema"]["type"] == "integer"


def test_every_authenticated_write_states_the_idempotency_key_format(
    document: dict[str, Any]
) -> None:
    writes = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("post", "put", "patch", "delete") or not operation.get("security"):
                continue
            writes += 1
            schema = _param(operation, "Idempotency-Key")["schema"]
            assert schema["pattern"] == idempotency.KEY_PATTERN, (path, method)
    assert writes >= 25
    pattern = ecma(idempotency.KEY_PATTERN)
    # The documented pattern is the server's check, key for key.
    for key in ["k", "k" * 200, "k" * 201, "", "has space", "tab\tin", "é", "a-b_c.d~!", "\x7f",
                "k\n"]:
        documented = pattern.search(key) is not None
        try:
            idempotency.check_key(key)
            accepted = True
        except Invalid:
            accepted = False
        assert documented == accepted, key


def test_uploads_state_their_raw_bodies_and_headers(document: dict[str, Any]) -> None:
    append = _operation(document, "patch", "/uploads/{upload_id}")
    offset = _param(append, "Upload-Offset")
    assert offset["in"] == "header" and offset["required"] is True
    assert offset["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_UPLOAD_SIZE}
    assert set(append["requestBody"]["content"]) == {"application/octet-stream"}
    document_upload = _operation(document, "post", "/projects/{project_id}/documents")
    assert "application/json" not in document_upload["requestBody"]["content"]
    assert document_upload["requestBody"]["content"]["application/pdf"]["schema"] == {
        "type": "string", "format": "binary"}
    filename = _param(document_upload, "filename")
    assert filename["required"] is True and filename["schema"]["maxLength"] == 255
    assert filename["schema"]["pattern"] == documents.FILENAME_PATTERN


def test_non_json_answers_are_documented_as_what_they_are(document: dict[str, Any]) -> None:
    expected = {
        ("/receipts/key", "200"): {"text/plain"},
        ("/platform/key", "200"): {"text/plain"},
        ("/sections/{section_id}/opening/record.pdf", "200"): {"application/pdf"},
        ("/projects/{project_id}/documents/{document_id}/content", "200"): {"*/*"},
    }
    for (path, status), media in expected.items():
        assert set(_operation(document, "get", path)["responses"][status]["content"]) == media
    assert set(_operation(document, "get", "/sections/{section_id}/opening/record.json")[
        "responses"]["200"]["content"]) == {"application/json"}


def test_key_registration_states_the_public_key_form(document: dict[str, Any]) -> None:
    schema = resolve(document, _operation(document, "post", "/keys")["requestBody"]["content"][
        "application/json"]["schema"])
    public_key = schema["properties"]["public_key"]
    assert (public_key["minLength"], public_key["maxLength"]) == (87, 87)
    key = public_key_text(generate_private_key())
    assert re.search(public_key["pattern"], key)
    assert not re.search(public_key["pattern"], key + "=")


def test_amounts_are_documented_as_decimal_strings(document: dict[str, Any]) -> None:
    amount = document["components"]["schemas"]["SecurityIn"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert re.search(amount["pattern"], "950000.00") and not re.search(amount["pattern"], "1.234")


@pytest.mark.parametrize("kind", [ONE_LINE, LINES])
def test_text_patterns_are_the_servers_own_check(kind: Any) -> None:
    multiline = kind is LINES
    pattern = ecma(kind.pattern)
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # no Unicode string holds a lone surrogate (the JSON parser refuses one)
        char = chr(code)
        assert (pattern.search(char) is not None) == (
            text_problem(char, multiline=multiline) is None), hex(code)


def test_every_request_string_states_the_characters_it_refuses(document: dict[str, Any]) -> None:
    strings = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            for obj in object_schemas(document, content["application/json"]["schema"], set()):
                for name, prop in obj.get("properties", {}).items():
                    for node in [prop, *prop.get("anyOf", []), prop.get("items", {})]:
                        if node.get("type") == "string" and not {"enum", "const",
                                                                  "format"} & set(node):
                            strings += 1
                            assert "pattern" in node, (path, method, name)
    assert strings >= 30
