"""The committed test vectors are what the code builds, and they open."""

from __future__ import annotations

import io
import json

from tests.bids.vectors import PATH, plaintext, render
from tradesys.bids.encoding import unb64u
from tradesys.bids.envelope import parse_header
from tradesys.bids.keys import load_backup, private_key_from_scalar, public_key_text
from tradesys.bids.open import combine, decrypt, open_summary

VECTORS = json.loads(PATH.read_text(encoding="utf-8"))


def test_committed_vectors_are_reproducible() -> None:
    assert PATH.read_text(encoding="utf-8") == render()


def test_every_vector_opens_with_its_shares() -> None:
    for case in VECTORS["cases"]:
        envelope = unb64u(case["envelope"])
        header = parse_header(envelope)
        assert header.header_hash.hex() == case["header_hash"]
        key = combine(header, unb64u(case["randomness"]["bidder_share"]),
                      unb64u(case["opening_share"]))
        assert open_summary(header, key) == VECTORS["summary"]
        out = io.BytesIO()
        decrypt(header, key, io.BytesIO(envelope[header.header_len:]), out)
        assert out.getvalue() == plaintext(case["plaintext_size"])


def test_key_backup_vector() -> None:
    vector = VECTORS["key_backup"]
    key = load_backup(vector["backup"], vector["password"].encode())
    assert public_key_text(key) == vector["key"]["public_key"]
    d = int.from_bytes(unb64u(vector["key"]["d"]), "big")
    assert public_key_text(private_key_from_scalar(d)) == vector["key"]["public_key"]
