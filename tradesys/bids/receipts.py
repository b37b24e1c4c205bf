"""Receipts (回执): what the platform signs when it accepts a bid.

A receipt is canonical JSON (section, bidder, envelope SHA-256, size, received time, event
sequence) signed with the platform's Ed25519 receipt key. The file a bidder keeps is
``{"receipt": {...}, "signature": base64, "public_key": PEM}`` as canonical JSON, so any
altered byte shows; ``tradesys verify receipt``
checks it against a pinned key (``--key``, or this installation's), never only against the key
the file itself carries.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tradesys.events.canonical import canonical_json
from tradesys.signatures import (
    b64_exact,
    load_public_pem,
    pem_exact,
    public_pem,
    same_key,
    sign_canonical,
    verify_canonical,
)

RECEIPT_TYPE = "tradesys.bid-receipt"
#: A bidder's confirmation of an opening record (开标记录确认), countersigned by the platform.
CONFIRMATION_TYPE = "tradesys.opening-confirmation"
RECEIPT_TYPES = frozenset({RECEIPT_TYPE, CONFIRMATION_TYPE})


def sign_receipt(key: Ed25519PrivateKey, receipt: dict[str, Any]) -> str:
    return sign_canonical(key, receipt)


def receipt_file(key: Ed25519PrivateKey, receipt: dict[str, Any], signature: str) -> dict[str, Any]:
    return {"receipt": receipt, "signature": signature, "public_key": public_pem(key)}


def verify_receipt_file(data: bytes, pinned: Ed25519PublicKey | None) -> tuple[bool, str]:
    """(genuine, reason). Any altered byte of the receipt or signature makes it not genuine."""
    try:
        document = json.loads(data)
        receipt = document["receipt"]
        signature = document["signature"]
        raw = base64.b64decode(signature, validate=True)
        embedded = load_public_pem(document["public_key"])
    except (ValueError, KeyError, TypeError, UnsupportedAlgorithm) as error:
        return False, f"not a receipt file: {error}"
    if not isinstance(receipt, dict) or receipt.get("type") not in RECEIPT_TYPES:
        return False, "not a bid receipt or an opening confirmation"
    key = pinned or embedded
    if pinned is not None and not same_key(pinned, embedded):
        return False, "signed with another key than the platform's"
    # Base64 and PEM admit several spellings of the same bytes: only the issued one counts.
    if not b64_exact(raw, signature) or not pem_exact(embedded, document["public_key"]):
        return False, "the file is not exactly as issued"
    if not verify_canonical(key, receipt, signature):
        return False, "the signature does not match the receipt"
    # The file is canonical JSON as issued: any other byte sequence, even one that parses to
    # the same values, is an alteration.
    if canonical_json(document) != data.rstrip(b"\n"):
        return False, "the file is not exactly as issued"
    return True, "genuine"

