"""Deterministic test vectors for docs/envelope.md §12 (tests/bids/vectors.json): the envelope
cases, a key backup, and the threshold opening key of §10 (split, wrap, release, recovery).

Regenerate with ``.venv/bin/python -m tests.bids.vectors`` after a deliberate format change; a
test checks the committed file equals what this builds, and the browser test checks that
tradesys/static/js/envelope.js produces the same bytes from the same inputs. Every key and random
value is derived from a fixed label, so the file is reproducible anywhere.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tradesys.bids.encoding import b64u, sha256
from tradesys.bids.envelope import LABEL_PAYLOAD, LABEL_SUMMARY, derive_key
from tradesys.bids.keys import (
    CURVE_ORDER,
    _wrap_key,
    make_backup,
    private_key_from_scalar,
    public_key_bytes,
)
from tradesys.bids.seal import SealRandomness, seal, xor
from tradesys.bids.shamir import (
    LABEL as SHARE_LABEL,
)
from tradesys.bids.shamir import (
    SplitRandomness,
    interpolate_at_zero,
    split_opening_key,
    split_secret,
    unwrap_holder_share,
)
from tradesys.bids.summary import encode_summary
from tradesys.events.canonical import canonical_json

PATH = Path(__file__).with_name("vectors.json")
CHUNK = 4096
SIZES = (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 1808)
SECTION = "E3501000001001001"
BIDDER = "91350100MA2XYZ0012"
SUMMARY = {"price": "12345678.90", "currency": "CNY", "duration_days": 365, "quality": "合格",
           "project_manager": "张工（一级建造师）", "warranty_years": 2,
           "notes": "含税；\"报价\"\\包干\n",
           "items": [{"name": "土建", "amount": "1.5"}, True, None]}
BACKUP_PASSWORD = "correct horse 电池 staple"


def fixed(label: str, n: int) -> bytes:
    return sha256(b"tradesys test vector " + label.encode())[:n]


def scalar(label: str) -> int:
    return int.from_bytes(fixed(label, 32), "big") % (CURVE_ORDER - 1) + 1


def plaintext(size: int) -> bytes:
    return bytes((i * 7 + 3) % 251 for i in range(size))


def key_json(label: str) -> dict[str, Any]:
    d = scalar(label)
    key = private_key_from_scalar(d)
    pub = public_key_bytes(key)
    return {"d": b64u(d.to_bytes(32, "big")), "public_key": b64u(pub),
            "x": b64u(pub[1:33]), "y": b64u(pub[33:])}


def case(size: int) -> dict[str, Any]:
    bidder, opening = scalar("bidder key"), scalar("opening key")
    rnd = SealRandomness(
        data_key=fixed(f"data key {size}", 32), bidder_share=fixed(f"bidder share {size}", 32),
        nonce_prefix=fixed(f"nonce prefix {size}", 7),
        bidder_ephemeral=private_key_from_scalar(scalar(f"bidder ephemeral {size}")),
        opening_ephemeral=private_key_from_scalar(scalar(f"opening ephemeral {size}")))
    out = io.BytesIO()
    result = seal(io.BytesIO(plaintext(size)), size, out, section_code=SECTION, bidder_code=BIDDER,
                  bidder_public_key=public_key_bytes(private_key_from_scalar(bidder)),
                  opening_public_key=public_key_bytes(private_key_from_scalar(opening)),
                  summary=SUMMARY, chunk_size=CHUNK, randomness=rnd)
    header = result.header
    return {
        "plaintext_size": size,
        "plaintext_sha256": sha256(plaintext(size)).hex(),
        "randomness": {
            "data_key": b64u(rnd.data_key), "bidder_share": b64u(rnd.bidder_share),
            "nonce_prefix": b64u(rnd.nonce_prefix),
            "bidder_ephemeral": key_json(f"bidder ephemeral {size}"),
            "opening_ephemeral": key_json(f"opening ephemeral {size}"),
        },
        "opening_share": b64u(xor(rnd.data_key, rnd.bidder_share)),
        "header_len": header.header_len,
        "context_hash": header.context_hash.hex(),
        "summary_aad": header.summary_aad.hex(),
        "header_hash": header.header_hash.hex(),
        "summary_key": derive_key(rnd.data_key, header.context_hash, LABEL_SUMMARY).hex(),
        "payload_key": derive_key(rnd.data_key, header.context_hash, LABEL_PAYLOAD).hex(),
        "envelope_size": result.envelope_size,
        "envelope_sha256": result.envelope_sha256,
        "envelope": b64u(out.getvalue()),
    }


#: (k, n, the k-subsets' indices each vector recovers from) for the §10 threshold vectors.
THRESHOLD_CASES = ((2, 3, ((1, 2), (1, 3), (2, 3))), (3, 5, ((1, 2, 3), (2, 4, 5))))


def u256(value: int) -> str:
    """A field element as §10 writes it: 32 bytes big-endian, base64url."""
    return b64u(value.to_bytes(32, "big"))


def threshold_case(threshold: int, count: int, subsets: tuple[tuple[int, ...], ...]
                   ) -> dict[str, Any]:
    """One split of a fixed opening key to fixed holder keys (docs/envelope.md §10)."""
    tag = f"{threshold} of {count}"
    opening = private_key_from_scalar(scalar(f"threshold opening key {tag}"))
    holders = [private_key_from_scalar(scalar(f"holder key {tag} {i}"))
               for i in range(1, count + 1)]
    coefficients = [scalar(f"coefficient {tag} {j}") for j in range(1, threshold)]
    ephemerals = [private_key_from_scalar(scalar(f"holder ephemeral {tag} {i}"))
                  for i in range(1, count + 1)]
    opening_pub, wrapped = split_opening_key(
        SECTION, [key.public_key() for key in holders], threshold,
        randomness=SplitRandomness(opening, coefficients, ephemerals))
    d = opening.private_numbers().private_value
    points = split_secret(d, threshold, count, coefficients)
    shares = []
    for (index, value), holder, share in zip(points, holders, wrapped, strict=True):
        public = {k: v for k, v in share.items() if k not in ("ephemeral_public_key",
                                                              "ciphertext")}
        released = unwrap_holder_share(share, holder).to_json()
        assert released["value"] == u256(value)
        ephemeral = ephemerals[index - 1]
        info = SHARE_LABEL + sha256(canonical_json(public))
        shared = ephemeral.exchange(ec.ECDH(), holder.public_key())
        shares.append({
            "index": index,
            "value": u256(value),
            "public_fields_canonical": canonical_json(public).decode("utf-8"),
            "info": info.hex(),
            "shared_secret": shared.hex(),
            "wrap_key": _wrap_key(shared, public_key_bytes(ephemeral), public_key_bytes(holder),
                                  info).hex(),
            "wrapped": share,
            "canonical_wrapped": canonical_json(share).decode("utf-8"),
            "released": released,
        })
    recoveries = [{"indices": list(subset),
                   "d": u256(interpolate_at_zero([points[i - 1] for i in subset]))}
                  for subset in subsets]
    assert all(r["d"] == u256(d) for r in recoveries)
    return {
        "threshold": threshold,
        "count": count,
        "opening_key": key_json(f"threshold opening key {tag}"),
        "coefficients": [u256(a) for a in coefficients],
        "holder_keys": [key_json(f"holder key {tag} {i}") for i in range(1, count + 1)],
        "ephemeral_keys": [key_json(f"holder ephemeral {tag} {i}")
                           for i in range(1, count + 1)],
        "shares": shares,
        "recoveries": recoveries,
        "opening_public_key": b64u(opening_pub),
    }


def build_vectors() -> dict[str, Any]:
    backup_key = private_key_from_scalar(scalar("backup key"))
    return {
        "description": "tradesys sealed-bid envelope v1 test vectors (docs/envelope.md §12). "
                       "Binary values are base64url without padding unless named *_hash/*_key "
                       "(hex). plaintext[i] = (7*i + 3) mod 251.",
        "section_code": SECTION,
        "bidder_code": BIDDER,
        "chunk_size": CHUNK,
        "bidder_key": key_json("bidder key"),
        "opening_key": key_json("opening key"),
        "summary": SUMMARY,
        "summary_canonical": encode_summary(SUMMARY).decode("utf-8"),
        "cases": [case(size) for size in SIZES],
        "key_backup": {
            "password": BACKUP_PASSWORD,
            "key": key_json("backup key"),
            "backup": make_backup(backup_key, BACKUP_PASSWORD.encode(),
                                  salt=fixed("backup salt", 16), nonce=fixed("backup nonce", 12)),
        },
        "threshold": [threshold_case(k, n, subsets) for k, n, subsets in THRESHOLD_CASES],
        "canonical_json": {
            "largest_safe_integers": {"text": "[9007199254740991,-9007199254740991]",
                                      "canonical": "[9007199254740991,-9007199254740991]"},
            "refused": ["9007199254740992", "-9007199254740992", "[9007199254740993]",
                        '{"n":18446744073709551616}', "1.5"],
        },
    }


def render() -> str:
    return json.dumps(build_vectors(), ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {PATH}")
