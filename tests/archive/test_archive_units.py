"""The pure parts of the archive: the retention rule, the seal's exact form, and the bag
writer's seal hook (an unlisted tag file, written before ``bagit.txt``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import bagit
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archive.bag import BagWriter
from archive.seal import SIGNATURE_FILE, seal_document, sign_seal, verify_seal
from tradesys.procurement.rules import (
    RETENTION_10_YEARS,
    RETENTION_30_YEARS,
    RETENTION_PERMANENT,
    RETENTION_YEARS,
    retention_for,
)


@pytest.mark.parametrize(("trade_type", "concluded", "category"), [
    ("works", True, RETENTION_30_YEARS), ("works", False, RETENTION_10_YEARS),
    ("epc", False, RETENTION_10_YEARS), ("gov_procurement", True, RETENTION_30_YEARS),
    ("gov_procurement", False, RETENTION_30_YEARS),  # 政府采购法 Art. 42: at least 15 years
    ("land_mineral", False, RETENTION_PERMANENT), ("state_property", True, RETENTION_PERMANENT),
])
def test_retention(trade_type: str, concluded: bool, category: str) -> None:
    assert retention_for(trade_type, concluded) == category
    assert category in RETENTION_YEARS


def _document() -> dict[str, object]:
    return seal_document(platform_code="TS0000000001", project_code="E1", archive_version=2,
                         previous_sha256="ab" * 32, tagmanifest_sha256=b"x",
                         tagmanifest_sha512=b"y", sealed_at="2026-03-02T01:00:00.000000Z")


def test_the_seal_verifies_only_exactly_as_signed() -> None:
    key = Ed25519PrivateKey.generate()
    document = _document()
    assert document["tagmanifest_sha256"] == hashlib.sha256(b"x").hexdigest()
    published = sign_seal(key, document)
    assert verify_seal(key.public_key(), published) == (document, "")
    other = Ed25519PrivateKey.generate()
    assert verify_seal(other.public_key(), published)[0] is None
    for field, value in [("archive_version", 3), ("previous_sha256", None),
                         ("type", "tradesys.tree-head"), ("tagmanifest_sha256", "00" * 32),
                         ("tagmanifest_sha512", "short")]:
        changed = {**published, "seal": {**document, field: value}}
        assert verify_seal(key.public_key(), changed)[0] is None, field
    assert verify_seal(key.public_key(), {**published, "extra": 1})[0] is None
    without = {k: v for k, v in document.items() if k != "sealed_at"}
    assert verify_seal(key.public_key(), {**published, "seal": without})[0] is None
    assert verify_seal(key.public_key(), "no")[0] is None


def test_the_seal_hook_writes_an_unlisted_tag_file_the_bagit_package_accepts(
        tmp_path: Path) -> None:
    seen: dict[str, bytes] = {}

    def seal(tags: dict[str, bytes]) -> dict[str, bytes]:
        seen.update(tags)
        assert not (tmp_path / "bag" / "bagit.txt").exists()  # before bagit.txt
        return {SIGNATURE_FILE: b"{}\n"}

    with BagWriter(tmp_path / "bag") as bag:
        bag.add_bytes("a.txt", b"a")
        bag.finish(seal=seal)
    assert (tmp_path / "bag" / SIGNATURE_FILE).read_bytes() == b"{}\n"
    assert seen["tagmanifest-sha256.txt"] == (tmp_path / "bag/tagmanifest-sha256.txt").read_bytes()
    assert SIGNATURE_FILE.encode() not in seen["tagmanifest-sha256.txt"]
    # The sha512 tag manifest lists the same four tag files, not the sha256 one.
    assert b"tagmanifest" not in seen["tagmanifest-sha512.txt"]
    bagit.Bag(str(tmp_path / "bag")).validate(fast=False)


@pytest.mark.parametrize("name", ["bagit.txt", "data/x", "tagmanifest-md5.txt",
                                  "manifest-sha256.txt"])
def test_the_seal_hook_cannot_overwrite_or_nest(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError), BagWriter(tmp_path / "bag") as bag:
        bag.add_bytes("a.txt", b"a")
        bag.finish(seal=lambda _tags: {name: b""})
    assert not (tmp_path / "bag").exists()
