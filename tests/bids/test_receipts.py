"""回执: a genuine receipt verifies; any altered byte, or another signer, does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tradesys.bids.receipts import RECEIPT_TYPE, receipt_file, sign_receipt, verify_receipt_file
from tradesys.events.canonical import canonical_json
from tradesys.signatures import public_pem

RECEIPT = {"type": RECEIPT_TYPE, "version": 1, "platform_code": "TS0000000001",
           "project_code": "E3501002026000001", "section_id": 1,
           "section_code": "E3501002026000001001", "bid_id": 7, "bidder_org_id": 5,
           "bidder_credit_code": "91350100M000100Y43", "envelope_sha256": "ab" * 32,
           "size": 123456, "received_at": "2026-03-02T01:00:00.000000Z", "event_seq": 42}


def _issued(key: Ed25519PrivateKey) -> bytes:
    return canonical_json(receipt_file(key, RECEIPT, sign_receipt(key, RECEIPT)))


def test_every_single_altered_byte_is_detected() -> None:
    key = Ed25519PrivateKey.generate()
    data = _issued(key)
    assert verify_receipt_file(data, key.public_key()) == (True, "genuine")
    for index in range(len(data)):
        for flip in (0x01, 0x20):
            altered = bytearray(data)
            altered[index] ^= flip
            assert verify_receipt_file(bytes(altered), key.public_key())[0] is False


def test_a_receipt_signed_by_anyone_else_is_refused() -> None:
    platform, forger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forged = _issued(forger)
    assert verify_receipt_file(forged, platform.public_key())[0] is False
    assert verify_receipt_file(forged, None)[0] is True  # unpinned: only self-consistency


def test_verify_receipt_cli(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    good, bad, pem = tmp_path / "r.json", tmp_path / "bad.json", tmp_path / "key.pem"
    good.write_bytes(_issued(key))
    bad.write_bytes(_issued(key).replace(b'"size":123456', b'"size":123457'))
    pem.write_text(public_pem(key))

    def run(path: Path) -> int:
        return subprocess.run([sys.executable, "-m", "tradesys.cli", "verify", "receipt",
                               str(path), "--key", str(pem)], capture_output=True,
                              check=False, timeout=60).returncode

    assert run(good) == 0
    assert run(bad) == 1
