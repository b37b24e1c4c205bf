"""Signed report bodies, in the style of Standard Webhooks with an asymmetric key.

Headers: ``webhook-id`` (the report key), ``webhook-timestamp`` (server time, Unix seconds) and
``webhook-signature: v1a,<base64 Ed25519 signature>`` over ``id.timestamp.body``. The platform
checks it with our public key, published at ``/api/v1/platform/key``; no shared secret exists.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tradesys.storage import private_dir
from tradesys.strict import parse_int

SCHEME = "v1a"


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The trading system's report-signing key, created on first use (mode 0600)."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    private_dir(path.parent)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_pem(pem: str | bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def sign_headers(key: Ed25519PrivateKey, msg_id: str, at: datetime,
                 body: bytes) -> dict[str, str]:
    timestamp = int(at.timestamp())
    signature = key.sign(signed_content(msg_id, timestamp, body))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"{SCHEME},{base64.b64encode(signature).decode()}",
    }


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
        return "signature timestamp outside the tolerance"
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
