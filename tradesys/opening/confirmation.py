"""A bidder's signed confirmation of an opening record (开标记录确认).

The bidder signs, with its own ECDSA P-256 key (made and kept in its browser or by its tool,
registered with purpose ``signing``), the canonical JSON of what it confirms: the record's
SHA-256, the section and its own credit code. The signature is IEEE P1363 ``r || s`` (what
WebCrypto produces), base64url. The record carries the public key and the signature, so anyone
can check a confirmation without the platform (DESIGN.md invariant 6).
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from tradesys.bids.encoding import b64u, unb64u
from tradesys.bids.keys import load_public_key
from tradesys.events.canonical import canonical_json

MESSAGE_TYPE = "tradesys.opening-record-confirmation"
COORDINATE = 32


def message(section_code: str, record_sha256: str, bidder_credit_code: str) -> bytes:
    return canonical_json({"type": MESSAGE_TYPE, "section_code": section_code,
                           "record_sha256": record_sha256,
                           "bidder_credit_code": bidder_credit_code})


def sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    """What a bidder's tool does (the browser does the same with WebCrypto)."""
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return b64u(r.to_bytes(COORDINATE, "big") + s.to_bytes(COORDINATE, "big"))


def verify(public_key: str, data: bytes, signature: str) -> bool:
    try:
        raw = unb64u(signature, field="signature")
        key: Any = load_public_key(public_key)
    except Exception:
        return False
    if len(raw) != 2 * COORDINATE:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:COORDINATE], "big"),
                               int.from_bytes(raw[COORDINATE:], "big"))
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
