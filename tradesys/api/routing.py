"""A thin layer over Starlette routes: typed bodies, auth, transactions, idempotency, OpenAPI.

Each endpoint is declared once with its request and response models; the same declaration
builds the Starlette route and the OpenAPI document, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from tradesys.api import idempotency
from tradesys.api.auth import authenticate
from tradesys.api.errors import BadRequest, TooLarge, UnsupportedMediaType
from tradesys.errors import NotFound
from tradesys.identity.principal import Principal
from tradesys.services import Services
from tradesys.strict import BadJson, parse_command, parse_int

MAX_JSON_BYTES = 1024 * 1024
MAX_INT = 2**31 - 1
#: A public id (``secrets.token_urlsafe(16)``: 22 characters), with room to grow.
PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

BodyT = TypeVar("BodyT", bound=BaseModel)
Result = BaseModel | list[Any] | dict[str, Any] | None


def to_json(result: Result) -> bytes:
    if isinstance(result, BaseModel):
        return result.__pydantic_serializer__.to_json(result)
    # Sorted keys: a dict answer is canonical JSON (receipts rely on it byte for byte).
    # allow_nan=False: never Infinity or NaN, which are not JSON (input refuses them).
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                      allow_nan=False).encode()


def json_response(body: bytes, status: int) -> Response:
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@dataclass
class Call:
    """One API request: its services, parsed body, and transaction helpers."""

    request: Request
    services: Services
    body: Any = None
    raw_body: bytes = b""
    #: The authenticated caller; None only on public endpoints.
    principal: Principal | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    def path_int(self, name: str) -> int:
        value = self.request.path_params[name]
        if not isinstance(value, int) or not 0 < value <= MAX_INT:
            raise NotFound("not_found", "资源不存在 (no such resource)")
        return value

    def path_public_id(self, name: str, code: str, message: str) -> str:
        """An opaque public id from the path; anything else names nothing (404 ``code``)."""
        value = self.request.path_params[name]
        if not isinstance(value, str) or not PUBLIC_ID.match(value):
            raise NotFound(code, message)
        return value

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    async def read(
        self, work: Callable[[AsyncSession, Principal | None], Awaitable[Result]]
    ) -> Result:
        async with self.services.db.reading() as session:
            return await work(session, self.principal)

    async def command(
        self,
        work: Callable[[AsyncSession, Principal], Awaitable[Result]],
        *,
        status: int = 200,
    ) -> Response:
        """Run a write in one transaction, honouring ``Idempotency-Key``."""
        key = self.request.headers.get("idempotency-key")
        principal = self.principal
        if principal is None:
            raise RuntimeError("command() on a public endpoint")
        async with self.services.db.transaction() as session:
            fingerprint = ""
            if key is not None:
                idempotency.check_key(key)
                fingerprint = idempotency.request_fingerprint(
                    self.request.method, self.request.url.path, self.raw_body
                )
                stored = await idempotency.lookup(session, str(principal.user_id), key, fingerprint)
                if stored is not None:
                    response = json_response(stored.body.encode(), stored.status_code)
                    response.headers["Idempotent-Replayed"] = "true"
                    return response
            body = to_json(await work(session, principal))
            if key is not None:
                await idempotency.remember(
                    session,
                    str(principal.user_id),
                    key,
                    fingerprint,
                    idempotency.StoredResponse(status, body.decode()),
                    self.services.clock.now(),
                )
        self.services.committed()
        response = json_response(body, status)
        response.headers.update(self.response_headers)
        return response


Handler = Callable[[Call], Awaitable[Response | Result]]


@dataclass(frozen=True)
class Param:
    """A query or header parameter as the server checks it: ``schema`` is the JSON Schema of
    what it accepts (bounds, pattern), so the OpenAPI document states the real limits."""

    name: str
    where: str  # "query" or "header"
    schema: dict[str, Any]
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Content:
    """A body that is not a JSON model: the media types it comes in and its JSON Schema
    (raw bytes are ``{"type": "string", "format": "binary"}``; ``*/*`` when any type goes)."""

    media_types: tuple[str, ...]
    schema: dict[str, Any] = field(default_factory=lambda: dict(BINARY))


#: Raw bytes, in JSON Schema.
BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
#: A PEM public key as the key endpoints serve it.
PEM = Content(("text/plain",), {"type": "string",
                                "pattern": "^-----BEGIN PUBLIC KEY-----\\n"})


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    public: bool
    params: tuple[Param, ...]
    #: A raw (non-JSON) request body the handler reads itself, if any.
    raw_body: Content | None
    #: A non-JSON success response (PEM, PDF, a stored document), if any.
    produces: Content | None
    #: Its traffic would tell who or how many have bid: kept out of the request metrics.
    confidential: bool = False


async def parse_body(request: Request, model: type[BodyT]) -> tuple[BodyT, bytes]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(
            "unsupported_media_type",
            "请求体须为 application/json (the body must be application/json)",
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        length = parse_int(declared, maximum=2**63 - 1)
        if length is None:
            raise BadRequest("bad_content_length", "Content-Length 须为非负整数 (Content-Length "
                             "must be a whole number)")
        if length > MAX_JSON_BYTES:
            raise TooLarge("body_too_large", "请求体过大 (the request body is too large)")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise TooLarge("body_too_large", "请求体过大 (the request body is too large)")
    # The one strict parser first (depth, finite numbers, UTF-8: tradesys/strict.py), then the
    # model, which parses the same bytes in JSON mode (instants and the like as JSON has them).
    try:
        value, converted = parse_command(raw)
    except BadJson as exc:
        raise BadRequest(exc.code, exc.message) from exc
    # 3.0 where an integer is due is the integer 3 (tradesys/strict.py): only then re-encoded.
    if converted:
        whole = json.dumps(value, ensure_ascii=False, allow_nan=False)
        return model.model_validate_json(whole.encode()), raw
    return model.model_validate_json(raw), raw


class Router:
    def __init__(self, prefix: str = "/api/v1") -> None:
        self.prefix = prefix
        self.endpoints: list[Endpoint] = []

    def endpoint(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        public: bool = False,
        params: tuple[Param, ...] = (),
        query: tuple[str, ...] = (),
        raw_body: Content | None = None,
        produces: Content | None = None,
        confidential: bool = False,
    ) -> Callable[[Handler], Handler]:
        # ``query``: bare names, documented as any string. Prefer ``params``, which states
        # what the server accepts (tests/api/test_schemathesis.py holds the server to it).
        params = params + tuple(Param(name, "query", {"type": "string"}) for name in query)

        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method,
                    self.prefix + path,
                    handler,
                    summary,
                    tag,
                    body,
                    response,
                    status,
                    public,
                    params,
                    raw_body,
                    produces,
                    confidential,
                )
            )
            return handler

        return register

    def confidential(self) -> frozenset[tuple[str, str]]:
        """(method, route template) of the endpoints whose traffic counts bids."""
        return frozenset((e.method, e.path) for e in self.endpoints if e.confidential)

    def routes(self) -> list[Route]:
        grouped: dict[str, dict[str, Endpoint]] = {}
        for endpoint in self.endpoints:
            grouped.setdefault(endpoint.path, {})[endpoint.method] = endpoint
        routes = [
            Route(path, _dispatch(methods), methods=list(methods))
            for path, methods in grouped.items()
        ]
        # Without these, a path under the prefix that no endpoint serves falls through to the
        # static files mounted at "/", which answer POST with 405 and a GET to a POST-only
        # endpoint with 404: the API's own 404/405 (with Allow) instead.
        fallback = _fallback(routes)
        return [
            *routes,
            Route(self.prefix, fallback, methods=ALL_METHODS),
            Route(self.prefix + "/{rest:path}", fallback, methods=ALL_METHODS),
        ]


def _fallback(routes: list[Route]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        allowed: set[str] = set()
        for route in routes:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                allowed |= route.methods or set()
        if allowed:
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
        raise HTTPException(404)

    return endpoint


def _dispatch(methods: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        spec = methods[request.method if request.method != "HEAD" else "GET"]
        services: Services = request.app.state.services
        call = Call(request, services)
        if not spec.public:
            # Who is calling is settled before the body is read: a stranger learns nothing
            # about what the endpoint expects, and no transaction waits on a slow upload.
            async with services.db.reading() as session:
                call.principal = await authenticate(request, session, services)
        if spec.body is not None:
            call.body, call.raw_body = await parse_body(request, spec.body)
        result = await spec.handler(call)
        if isinstance(result, Response):
            return result
        return json_response(to_json(result), spec.status)

    return endpoint


def openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {},
                },
            }
        },
    }


def ok_response(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse(data, headers={"Cache-Control": "no-store"})
