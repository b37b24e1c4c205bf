"""Hooks for the schemathesis run of tests/api/test_schemathesis.py (SCHEMATHESIS_HOOKS).

The run authenticates as one user with a bearer token it issues itself, and issues a new one
whenever a request answers 401: the fuzzer calls ``POST /auth/logout`` and may revoke tokens
it lists, which end the token it was using (as they must), and every operation after that
would otherwise be tested as a stranger only.
"""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

import httpx
import schemathesis

from tradesys.api.idempotency import KEY_PATTERN


@schemathesis.auth()
class IssuedToken:
    """Cached by schemathesis (five minutes) and fetched again after any 401."""

    def get(self, case: Any, context: Any) -> str:
        response = httpx.post(
            os.environ["TRADESYS_ST_URL"] + "/api/v1/auth/tokens",
            json={"username": os.environ["TRADESYS_ST_USERNAME"],
                  "password": os.environ["TRADESYS_ST_PASSWORD"], "ttl_days": 1,
                  "name": "schemathesis"},
            # Not the fuzzer's address: its failed logins must not throttle this one.
            headers={"X-Forwarded-For": "192.0.2.10"},
            timeout=30,
        )
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


_KEY = re.compile(KEY_PATTERN)
_issued = itertools.count(1)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """A well-formed ``Idempotency-Key`` is made unique to its request, as a client makes it.

    The generator draws keys from a small space ("0", "00", …) and would send the same key with
    different bodies, which the server rightly refuses (422 ``idempotency_key_reused``): no
    schema can say "a key not used before". That rule is tested in tests/api/test_idempotency.py;
    here a key that is malformed is still sent as drawn, so the format check is exercised.
    """
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) \
                and _KEY.fullmatch(headers[name]):
            headers[name] = f"st-{next(_issued)}"


# The contract CA's protocol bodies (RFC 6960, RFC 3161) and a signed contract upload are raw
# bytes like application/octet-stream: sent as generated, so the server's refusal of bytes
# that are not the protocol's DER (400) is exercised too.
schemathesis.serializer.alias(
    ["application/ocsp-request", "application/timestamp-query", "application/pdf"],
    "application/octet-stream")
