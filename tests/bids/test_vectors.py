"""The committed test vectors are what the code builds, and they open."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.bids.vectors import PATH, plaintext, render
from tradesys.bids.encoding import b64u, unb64u
from tradesys.bids.envelope import parse_header
from tradesys.bids.errors import EnvelopeError, ShareError
from tradesys.bids.keys import (
    generate_private_key,
    load_backup,
    private_key_from_scalar,
    public_key_text,
)
from tradesys.bids.open import combine, decrypt, open_summary
from tradesys.bids.shamir import (
    HolderShare,
    recover_opening_key,
    split_opening_key,
    split_secret,
    unwrap_holder_share,
)
from tradesys.events.canonical import NotCanonical, canonical_json

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


# --- §10: the section's threshold opening key --------------------------------------------------

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 order, from §10


def _u256(text: str) -> int:
    raw = unb64u(text)
    assert len(raw) == 32  # §10: u256 is exactly 32 bytes, big-endian
    return int.from_bytes(raw, "big")


def test_threshold_vectors_follow_the_document() -> None:
    """Recomputes every §10 value from the document's formulas, not from shamir.py."""
    for case in VECTORS["threshold"]:
        k, n = case["threshold"], case["count"]
        d = _u256(case["opening_key"]["d"])
        assert public_key_text(private_key_from_scalar(d)) == case["opening_public_key"]
        coefficients = [d] + [_u256(a) for a in case["coefficients"]]
        assert len(coefficients) == k
        for i, share in enumerate(case["shares"], start=1):
            assert share["index"] == i
            assert _u256(share["value"]) == sum(a * i**j for j, a in enumerate(coefficients)) % N
            wrapped = share["wrapped"]
            public = {key: value for key, value in wrapped.items()
                      if key not in ("ephemeral_public_key", "ciphertext")}
            assert canonical_json(public).decode() == share["public_fields_canonical"]
            info = b"tradesys/opening-share/v1" + hashlib.sha256(canonical_json(public)).digest()
            assert info.hex() == share["info"]
            holder = private_key_from_scalar(_u256(case["holder_keys"][i - 1]["d"]))
            ephemeral = unb64u(wrapped["ephemeral_public_key"])
            shared = holder.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), ephemeral))
            assert shared.hex() == share["shared_secret"]
            wrap_key = HKDF(algorithm=hashes.SHA256(), length=32,
                            salt=ephemeral + unb64u(wrapped["holder_public_key"]),
                            info=info).derive(shared)
            assert wrap_key.hex() == share["wrap_key"]
            assert AESGCM(wrap_key).decrypt(bytes(12), unb64u(wrapped["ciphertext"]), None) == \
                unb64u(share["value"])
            assert canonical_json(wrapped).decode() == share["canonical_wrapped"]
            assert share["released"] == unwrap_holder_share(wrapped, holder).to_json()
            assert share["released"]["value"] == share["value"]
        for recovery in case["recoveries"]:
            assert len(recovery["indices"]) == k and _u256(recovery["d"]) == d
            released = [HolderShare.from_json(case["shares"][i - 1]["released"])
                        for i in recovery["indices"]]
            key = recover_opening_key(released, case["opening_public_key"], VECTORS["section_code"])
            assert key.private_numbers().private_value == d
        assert n == len(case["shares"])


def _shares(case: dict, indices: list[int]) -> list[HolderShare]:
    return [HolderShare.from_json(case["shares"][i - 1]["released"]) for i in indices]


@pytest.mark.parametrize("field, value", [
    ("section", "E3501000001001002"), ("index", 2), ("threshold", 3), ("count", 4),
    ("opening_public_key", "BAD"), ("ciphertext", "flip"), ("ephemeral_public_key", "swap"),
])
def test_a_tampered_wrapped_share_is_refused(field: str, value: object) -> None:
    case = VECTORS["threshold"][0]
    share = case["shares"][0]
    wrapped = dict(share["wrapped"])
    if field == "opening_public_key":
        value = case["shares"][1]["wrapped"]["holder_public_key"]  # a valid point, not the key
    elif field == "ciphertext":
        raw = bytearray(unb64u(wrapped["ciphertext"]))
        raw[0] ^= 1
        value = b64u(bytes(raw))
    elif field == "ephemeral_public_key":
        value = case["shares"][1]["wrapped"]["ephemeral_public_key"]
    wrapped[field] = value
    holder = private_key_from_scalar(_u256(case["holder_keys"][0]["d"]))
    with pytest.raises(EnvelopeError) as caught:
        unwrap_holder_share(wrapped, holder)
    assert caught.value.code in ("unwrap_failed", "bad_share")


def test_threshold_recovery_refusals() -> None:
    case = VECTORS["threshold"][1]  # 3 of 5
    pub = case["opening_public_key"]
    with pytest.raises(ShareError) as caught:
        recover_opening_key(_shares(case, [1, 2]), pub)
    assert caught.value.code == "too_few_shares"
    with pytest.raises(ShareError) as caught:
        recover_opening_key(_shares(case, [1, 2, 2]), pub)
    assert caught.value.code == "duplicate_share"
    bad = dict(case["shares"][3]["released"])
    bad["value"] = case["shares"][4]["value"]
    wrong = [*_shares(case, [1, 2, 3]), HolderShare.from_json(bad)]
    with pytest.raises(ShareError) as caught:
        recover_opening_key(wrong, pub)
    assert caught.value.code == "wrong_share"
    assert caught.value.details["suspect_indices"] == [4]
    other = VECTORS["threshold"][0]
    with pytest.raises(ShareError) as caught:
        recover_opening_key([*_shares(case, [1, 2]), *_shares(other, [3])], pub)
    assert caught.value.code == "inconsistent_shares"


@pytest.mark.parametrize("threshold, count", [(1, 3), (4, 3), (2, 256), (0, 2)])
def test_split_bounds_are_2_le_k_le_n_le_255(threshold: int, count: int) -> None:
    holders = [generate_private_key().public_key() for _ in range(min(count, 256))]
    with pytest.raises(ShareError) as caught:
        split_opening_key(VECTORS["section_code"], holders, threshold)
    assert caught.value.code == "bad_threshold"


def test_split_refuses_a_holder_twice_and_a_secret_out_of_range() -> None:
    holder = generate_private_key().public_key()
    with pytest.raises(ShareError) as caught:
        split_opening_key(VECTORS["section_code"], [holder, holder], 2)
    assert caught.value.code == "bad_holders"
    for secret in (0, N):
        with pytest.raises(ShareError) as caught:
            split_secret(secret, 2, 3)
        assert caught.value.code == "bad_secret"


def test_canonical_json_integer_vectors() -> None:
    vector = VECTORS["canonical_json"]
    safe = vector["largest_safe_integers"]
    assert canonical_json(json.loads(safe["text"])).decode() == safe["canonical"]
    for text in vector["refused"]:
        with pytest.raises(NotCanonical) as caught:
            canonical_json(json.loads(text))
        assert caught.value.code == "bad_json"
