"""ASGI middleware: request ids, access logs and request metrics, in one pass."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradesys.ops.headers import HEADERS as SECURITY_HEADERS
from tradesys.ops.logging import REQUEST_ID_SCOPE_KEY, request_id_var
from tradesys.ops.metrics import Metrics

log = logging.getLogger("tradesys.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_INTERNAL_ERROR = json.dumps(
    {"error": {"code": "internal_error", "message": "服务器内部错误 (internal server error)"}},
    ensure_ascii=False,
).encode()


class RequestContext:
    def __init__(self, app: ASGIApp, metrics: Metrics,
                 confidential: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.app = app
        self.metrics = metrics
        #: (method, route template) pairs whose traffic is not counted (tradesys/ops/metrics.py).
        self.confidential = confidential

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The server-error middleware outside this one would answer without the request id
            # (the one thing that ties the answer to the logged traceback) and without the
            # security headers: answer here, then re-raise so it logs and servers and test
            # clients still see the failure (it sends nothing once a response has started).
            if not response_started:
                await send_with_id({
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(_INTERNAL_ERROR)).encode()),
                        (b"cache-control", b"no-store"),
                        *SECURITY_HEADERS,
                    ],
                })
                await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR})
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = "GET" if scope["method"] == "HEAD" else scope["method"]
            if (method, template) in self.confidential:
                self.metrics.observe_confidential(status, elapsed)
            else:
                self.metrics.observe_request(scope["method"], template, status, elapsed)
            log.info("request", extra={"method": scope["method"], "route": template,
                                       "status": status, "ms": round(elapsed * 1000, 2)})
            request_id_var.reset(token)
