"""The archive's seal: a detached Ed25519 signature over its tag manifests.

The bag's integrity chain is hashes all the way up: every payload file is in both payload
manifests, the manifests and ``bag-info.txt`` and ``bagit.txt`` are in both tag manifests, and
the **seal** signs the tag manifests. Anyone holding the archive key's public half checks
every byte of the bag from one signature.

What is signed is the canonical JSON (tradesys/events/canonical.py) of::

    {"type": "tradesys.archive-seal", "version": 1, "platform_code": "TS0000000001",
     "project_code": "...", "archive_version": 1, "previous_sha256": null | "<hex>",
     "tagmanifest_sha256": "<SHA-256 of tagmanifest-sha256.txt>",
     "tagmanifest_sha512": "<SHA-512 of tagmanifest-sha512.txt>",
     "sealed_at": "2026-03-02T01:00:00.000000Z"}

Why a document rather than the raw bytes of the tag manifest: the archive key also signs tree
heads, and the ``type`` keeps one kind of signed object from ever passing for another; the
document also binds both tag manifests (RFC 8493 forbids a tag manifest to list another), the
version and the previous version's hash. The **archive's SHA-256** is ``tagmanifest_sha256``:
the hash of the file that lists the hashes of everything else.

The seal lives in the tag file ``archive-signature.json`` (:data:`SIGNATURE_FILE`), the one
tag file no tag manifest lists (it cannot be listed in what it signs) but for its RFC 3161 time
stamp ``archive-signature.tsr`` (:data:`TIMESTAMP_FILE`); the verifier accepts no other
unlisted file.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tradesys.signatures import key_fingerprint, sign_canonical, verify_canonical

SEAL_TYPE = "tradesys.archive-seal"
SEAL_VERSION = 1
SIGNATURE_FILE = "archive-signature.json"
#: The RFC 3161 token over the bytes of :data:`SIGNATURE_FILE` (when the platform has a TSA):
#: it proves the seal existed at the token's time, whatever later happens to the archive key.
TIMESTAMP_FILE = "archive-signature.tsr"
_FIELDS = frozenset({"type", "version", "platform_code", "project_code", "archive_version",
                     "previous_sha256", "tagmanifest_sha256", "tagmanifest_sha512",
                     "sealed_at"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


def seal_document(*, platform_code: str, project_code: str, archive_version: int,
                  previous_sha256: str | None, tagmanifest_sha256: bytes,
                  tagmanifest_sha512: bytes, sealed_at: str) -> dict[str, Any]:
    return {
        "type": SEAL_TYPE, "version": SEAL_VERSION, "platform_code": platform_code,
        "project_code": project_code, "archive_version": archive_version,
        "previous_sha256": previous_sha256,
        "tagmanifest_sha256": hashlib.sha256(tagmanifest_sha256).hexdigest(),
        "tagmanifest_sha512": hashlib.sha512(tagmanifest_sha512).hexdigest(),
        "sealed_at": sealed_at,
    }


def sign_seal(key: Ed25519PrivateKey, document: dict[str, Any]) -> dict[str, Any]:
    return {"seal": document, "signature": sign_canonical(key, document),
            "key_id": key_fingerprint(key.public_key())}


def verify_seal(key: Ed25519PublicKey, published: Any) -> tuple[dict[str, Any] | None, str]:
    """(the seal document, "") when genuine and well-formed; (None, why) otherwise."""
    if not isinstance(published, dict) or set(published) != {"seal", "signature", "key_id"}:
        return None, "not a seal file (seal, signature, key_id)"
    document = published["seal"]
    if not isinstance(document, dict) or set(document) != _FIELDS:
        return None, "the seal's fields are not exactly those of a tradesys.archive-seal"
    if document["type"] != SEAL_TYPE or document["version"] != SEAL_VERSION:
        return None, "not a tradesys.archive-seal, version 1"
    if (not isinstance(document["tagmanifest_sha256"], str)
            or not _HEX64.match(document["tagmanifest_sha256"])
            or not isinstance(document["tagmanifest_sha512"], str)
            or not _HEX128.match(document["tagmanifest_sha512"])):
        return None, "the seal's tag manifest digests are malformed"
    if published["key_id"] != key_fingerprint(key):
        return None, "the seal names another key than the trusted archive key"
    signature = published["signature"]
    if not isinstance(signature, str) or not verify_canonical(key, document, signature):
        return None, "the seal's signature is not the archive key's over the seal"
    return document, ""
