"""The one error shape of the API: ``{"error": {"code", "message", "details"?}}``."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tradesys.errors import DomainError
from tradesys.ops.logging import REQUEST_ID_SCOPE_KEY

log = logging.getLogger("tradesys.api")

STATUS = {
    "invalid": 422,
    "bad_request": 400,
    "not_found": 404,
    "unauthenticated": 401,
    "forbidden": 403,
    "conflict": 409,
    "rate_limited": 429,
    "too_large": 413,
    "unsupported_media_type": 415,
    "unavailable": 503,
}


class BadRequest(DomainError):
    kind = "bad_request"


class TooLarge(DomainError):
    kind = "too_large"


class UnsupportedMediaType(DomainError):
    kind = "unsupported_media_type"


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    headers = {**(headers or {}), "Cache-Control": "no-store"}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def validation_details(error: ValidationError) -> list[dict[str, Any]]:
    # Never echo the input: it may hold a password.
    return [
        {"loc": [str(part) for part in item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]


async def on_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    headers = None
    if exc.kind == "rate_limited" and isinstance(exc.details, dict) and isinstance(
            exc.details.get("retry_after"), int):
        headers = {"Retry-After": str(exc.details["retry_after"])}  # RFC 9110 §10.2.3
    return error_response(STATUS.get(exc.kind, 400), exc.code, exc.message, exc.details,
                          headers)


async def on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return error_response(
        422,
        "validation_failed",
        "请求内容不符合要求 (the request is not valid)",
        validation_details(exc),
    )


async def on_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    # Keep the exception's headers (Allow on a 405).
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        str(exc.detail),
        headers=dict(exc.headers or {}),
    )


async def on_integrity_error(_request: Request, exc: Exception) -> Response:
    # Two requests raced for the same unique thing (a name, an idempotency key); the loser's
    # transaction was rolled back whole.
    return error_response(
        409,
        "concurrent_conflict",
        "与同时进行的另一操作冲突，请重试 (conflicts with a concurrent change: retry)",
    )


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # Runs outside the request-context middleware: take the request id from the scope.
    extra = {"path": request.url.path, "request_id": request.scope.get(REQUEST_ID_SCOPE_KEY)}
    log.error("unhandled error", exc_info=exc, extra=extra)
    return error_response(500, "internal_error", "服务器内部错误 (internal server error)")


HANDLERS = {
    DomainError: on_domain_error,
    ValidationError: on_validation_error,
    HTTPException: on_http_error,
    IntegrityError: on_integrity_error,
    Exception: on_unexpected,
}
