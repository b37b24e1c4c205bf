"""The platform's Ed25519 keys and its detached signatures over canonical JSON.

Why this is here, in the core: receipts (``bids``), opening-record countersignatures
(``opening``), report bodies (``reporting``) and platform documents (``documents``: award and
result notices) are all signed by the platform with an Ed25519 key kept in a PEM file. The key
handling and the one signing rule (a detached signature over the canonical JSON of a value,
``events/canonical.py``) therefore live below all of them; before, ``bids`` imported them from
``reporting``, an arrow running up the layers.

Signatures travel as standard base64 (RFC 4648 §4, with padding) and public keys as PEM
(SubjectPublicKeyInfo). Both admit other spellings of the same bytes, so a verifier that must
see a file exactly as issued compares the spelling too (:func:`b64_exact`, :func:`pem_exact`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tradesys.events.canonical import canonical_json
from tradesys.storage import private_dir

__all__ = [
    "b64_exact",
    "key_fingerprint",
    "load_or_create_key",
    "load_public_pem",
    "pem_exact",
    "public_key_pem",
    "public_pem",
    "same_key",
    "sign_canonical",
    "verify_canonical",
]


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """A platform signing key, created on first use (mode 0600, its directory 0700)."""
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


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_pem(key: Ed25519PrivateKey) -> str:
    """The PEM of a private key's public half (what the platform publishes)."""
    return public_key_pem(key.public_key())


def load_public_pem(pem: str | bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: what a printed document names its key by."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def same_key(a: Ed25519PublicKey, b: Ed25519PublicKey) -> bool:
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    return hmac.compare_digest(a.public_bytes(*raw), b.public_bytes(*raw))


def sign_canonical(key: Ed25519PrivateKey, value: Any) -> str:
    """The base64 Ed25519 signature over ``canonical_json(value)``."""
    return base64.b64encode(key.sign(canonical_json(value))).decode()


def verify_canonical(key: Ed25519PublicKey, value: Any, signature: str) -> bool:
    """True only if ``signature`` is the issued base64 spelling of a genuine signature."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    if not b64_exact(raw, signature):
        return False
    try:
        key.verify(raw, canonical_json(value))
    except InvalidSignature:
        return False
    return True


def b64_exact(raw: bytes, text: str) -> bool:
    """``text`` is the one standard base64 spelling of ``raw``."""
    return base64.b64encode(raw).decode() == text


def pem_exact(key: Ed25519PublicKey, text: str) -> bool:
    """``text`` is the one PEM spelling this module writes for ``key``."""
    return public_key_pem(key) == text
