"""Signed report bodies, in the style of Standard Webhooks with an asymmetric key.

Headers: ``webhook-id`` (the report key), ``webhook-timestamp`` (server time, Unix seconds) and
``webhook-signature: v1a,<base64 Ed25519 signature>`` over ``id.timestamp.body``. The platform
checks it with our public key, published at ``/api/v1/platform/key``; no shared secret exists.
"""

from __future__ import annotations

import base64
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tradesys.strict import parse_int

__all__ = ["SCHEME", "sign_headers", "signed_content", "verify_headers"]

SCHEME = "v1a"


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign_headers(key: Ed25519PrivateKey, msg_id: str, at: datetime,
                 body: bytes) -> dict[str, str]:
    timestamp = int(at.timestamp())
    signature = key.sign(signed_content(msg_id, timestamp, body))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"{SCHEME},{base64.b64encode(signature).decode()}",
    }


#: :func:`verify_headers`'s reason for a genuine-looking message signed too far from the
#: receiver's time: the receiver answers it with its own code (``stale_signature``) because a
#: retry is signed afresh and may go through (clock skew), unlike a bad signature.
STALE = "signature timestamp outside the tolerance"


def verify_headers(public: Ed25519PublicKey, headers: dict[str, str], body: bytes,
                   now: datetime, tolerance_seconds: int = 300) -> str | None:
    """None if the signature is genuine and fresh, else the reason it is not."""
    msg_id = headers.get("webhook-id")
    raw_timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    timestamp = parse_int(raw_timestamp, maximum=2**63 - 1)
    if not msg_id or timestamp is None or not signatures:
        return "missing signature headers"
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        return STALE
    content = signed_content(msg_id, timestamp, body)
    for item in signatures.split():
        scheme, _, value = item.partition(",")
        if scheme != SCHEME:
            continue
        try:
            public.verify(base64.b64decode(value, validate=True), content)
            return None
        except (InvalidSignature, ValueError):
            continue
    return "bad signature"
