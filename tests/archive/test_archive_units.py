"""The pure parts of the archive: the retention rule, the seal's exact form, the bag writer's
seal hook (an unlisted tag file, written before ``bagit.txt``), and the verifier's check of
the bidders' opening-record confirmations."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import bagit
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archive.bag import BagWriter
from archive.report import Report
from archive.seal import SIGNATURE_FILE, seal_document, sign_seal, verify_seal
from archive.verify import _opening_confirmations
from tradesys.bids.keys import public_key_text
from tradesys.events.canonical import canonical_json
from tradesys.opening import confirmation
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


def _confirmed_record(tmp_path: Path) -> tuple[Path, list[dict[str, Any]], list[dict[str, Any]]]:
    """A final opening record with one bidder's confirmation of its draft, the index entries
    and the log's event that took it."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = public_key_text(key)
    draft = canonical_json({"format": "draft", "section": {"code": "E1-001"}})
    draft_sha = hashlib.sha256(draft).hexdigest()
    message = confirmation.message("E1-001", draft_sha, CREDIT)
    item = {"name": "甲公司", "credit_code": CREDIT, "record_sha256": draft_sha,
            "key_id": "k1", "public_key": public, "signature": confirmation.sign(key, message),
            "signed": json.loads(message)}
    final = {"section": {"code": "E1-001"}, "draft_sha256": draft_sha, "confirmations": [item]}
    (tmp_path / "draft.json").write_bytes(draft)
    (tmp_path / "final.json").write_bytes(canonical_json(final))
    entries = [{"path": "draft.json", "kind": "opening_record_draft", "sha256": draft_sha},
               {"path": "final.json", "kind": "opening_record"}]
    events = [{"seq": 9, "type": "opening.record_confirmed", "payload": json.dumps({
        "record_sha256": draft_sha, "public_key": public, "signature": item["signature"]})}]
    return tmp_path, entries, events


CREDIT = "91350100M000100Y43"


def _confirmation_failures(root: Path, entries: list[dict[str, Any]],
                           events: list[dict[str, Any]]) -> list[str]:
    report = Report()
    _opening_confirmations(root, entries, events, report)
    assert report.failures or report.checked == {"opening record confirmations": 1}
    return report.failures


def test_an_opening_record_confirmation_is_checked_against_the_draft_and_the_log(
        tmp_path: Path) -> None:
    root, entries, events = _confirmed_record(tmp_path)
    assert _confirmation_failures(root, entries, events) == []
    final = json.loads((root / "final.json").read_bytes())

    def failures_with(change: Any, *, drafts: bool = True, log: bool = True) -> list[str]:
        edited = json.loads(json.dumps(final))
        change(edited["confirmations"][0])
        (root / "final.json").write_bytes(canonical_json(edited))
        return _confirmation_failures(root, entries if drafts else entries[1:],
                                      events if log else [])

    other = ec.generate_private_key(ec.SECP256R1())
    cases: list[tuple[Any, dict[str, bool], str]] = [
        (lambda c: c.update(credit_code="91110000600037341L"), {},
         "is not the confirmation of this record by this bidder"),
        (lambda c: c["signed"].update(record_sha256="00" * 32), {},
         "is not the confirmation of this record by this bidder"),
        (lambda c: c.update(signature=confirmation.sign(other, b"x")), {},
         "the bidder's signature does not hold"),
        (lambda c: c.update(public_key=public_key_text(other)), {},
         "the bidder's signature does not hold"),
        (lambda c: None, {"drafts": False}, "a record the archive does not hold"),
        (lambda c: None, {"log": False}, "the log holds no such confirmation"),
    ]
    for change, options, expected in cases:
        found = failures_with(change, **options)
        assert len(found) == 1 and expected in found[0], (expected, found)
        assert found[0].startswith("final.json: confirmation 1: ")
    (root / "final.json").write_bytes(b"not json")
    assert _confirmation_failures(root, entries, events) == ["final.json: not an opening record"]
