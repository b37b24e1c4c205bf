"""The section's opening key, split k-of-n (Shamir) among its key holders.

Field: integers modulo the P-256 group order ``n`` (a 256-bit prime), because the secret *is* a
P-256 private scalar ``d`` in [1, n-1]: a share is ``(i, f(i) mod n)`` for the polynomial
``f(x) = d + a1·x + … + a_{k-1}·x^{k-1}`` with uniformly random coefficients from ``secrets``.
Indices are 1..count (count ≤ 255); defaults are 2 of 3.

The whole private key exists only inside :func:`split_opening_key` (generated, split, dropped)
and inside :func:`recover_opening_key`'s caller for as long as it unwraps envelopes'
opening shares (:func:`open_opening_shares` keeps that to one call). Python cannot wipe an
``int``; the code keeps no reference and never serialises the key.

A combination is **checked**: the recovered scalar must give the section's registered opening
public key, or ``ShareError("wrong_share")`` is raised — fewer than k shares, a share of another
section or a corrupted value never yields a garbage key. With more than k shares and a mismatch,
the error's details name the indices no consistent k-subset contains, when that can be told.

Wrapped share (what the server stores per holder; canonical JSON, docs/envelope.md §10)::

    {"format": "tradesys-opening-share", "version": 1, "section": CODE,
     "opening_public_key": B64U, "threshold": k, "count": n, "index": i,
     "holder_public_key": B64U, "ephemeral_public_key": B64U, "ciphertext": B64U}

``ciphertext`` = ECIES wrap (keys.wrap) of the 32-byte big-endian value ``f(i)`` with
``info = "tradesys/opening-share/v1" ‖ SHA-256(canonical JSON of the object without
ephemeral_public_key and ciphertext)``, so a share cannot be moved to another section, index or
holder.
"""

from __future__ import annotations

import hmac
import itertools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tradesys.bids.encoding import b64u, sha256, unb64u
from tradesys.bids.envelope import ROLE_OPENING, EnvelopeHeader, check_code
from tradesys.bids.errors import ShareError
from tradesys.bids.keys import (
    CURVE_ORDER,
    PrivateKey,
    PublicKey,
    generate_private_key,
    load_public_key,
    private_key_from_scalar,
    public_key_bytes,
    unwrap,
    wrap,
)
from tradesys.events.canonical import canonical_json

FORMAT = "tradesys-opening-share"
VERSION = 1
LABEL = b"tradesys/opening-share/v1"
DEFAULT_THRESHOLD = 2
DEFAULT_COUNT = 3
#: Subsets tried to name a bad share; beyond this the error just says "wrong_share".
MAX_SUBSETS = 2000


def split_secret(secret: int, threshold: int, count: int,
                 coefficients: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """Shamir shares ``(i, f(i))`` for i = 1..count over the P-256 order. ``coefficients``
    (a₁ … a_{k−1}) are fresh from ``secrets`` unless the test-vector generator fixes them."""
    if not 2 <= threshold <= count <= 255:
        raise ShareError("bad_threshold", "need 2 ≤ k ≤ n ≤ 255 (门限参数无效)")
    if not 0 < secret < CURVE_ORDER:
        raise ShareError("bad_secret", "secret out of range (秘密越界)")
    if coefficients is None:
        coefficients = [secrets.randbelow(CURVE_ORDER) for _ in range(threshold - 1)]
    if len(coefficients) != threshold - 1 or not all(0 <= a < CURVE_ORDER for a in coefficients):
        raise ShareError("bad_secret", "coefficients out of range (系数无效)")
    coefficients = [secret, *coefficients]
    shares = []
    for x in range(1, count + 1):
        y = 0
        for coefficient in reversed(coefficients):
            y = (y * x + coefficient) % CURVE_ORDER
        shares.append((x, y))
    coefficients.clear()
    return shares


def interpolate_at_zero(points: Sequence[tuple[int, int]]) -> int:
    """Lagrange interpolation of f(0) mod n from distinct points."""
    total = 0
    for i, (xi, yi) in enumerate(points):
        numerator, denominator = 1, 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                numerator = numerator * xj % CURVE_ORDER
                denominator = denominator * (xj - xi) % CURVE_ORDER
        total = (total + yi * numerator * pow(denominator, -1, CURVE_ORDER)) % CURVE_ORDER
    return total


@dataclass(frozen=True, repr=False)
class HolderShare:
    """One key holder's unwrapped share, as released to the server at the opening."""

    section_code: str
    opening_public_key: bytes
    threshold: int
    count: int
    index: int
    value: int

    def __repr__(self) -> str:
        return f"HolderShare(section={self.section_code!r}, index={self.index}, <secret>)"

    def to_json(self) -> dict[str, Any]:
        """The released form (for the server's API); carries the secret value: send it over
        an authenticated channel to the opening only."""
        return {"format": "tradesys-released-share", "version": VERSION,
                "section": self.section_code, "opening_public_key": b64u(self.opening_public_key),
                "threshold": self.threshold, "count": self.count, "index": self.index,
                "value": b64u(self.value.to_bytes(32, "big"))}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HolderShare:
        try:
            if data["format"] != "tradesys-released-share" or data["version"] != VERSION:
                raise ShareError("bad_share", "not a released opening share (不是开标密钥份额)")
            value = unb64u(data["value"], field="value")
            share = cls(section_code=data["section"],
                        opening_public_key=unb64u(data["opening_public_key"],
                                                  field="opening_public_key"),
                        threshold=data["threshold"], count=data["count"], index=data["index"],
                        value=int.from_bytes(value, "big"))
        except (KeyError, TypeError) as error:
            raise ShareError("bad_share", "released share is missing a field (份额缺少字段)") \
                from error
        if len(value) != 32:
            raise ShareError("bad_share", "share value must be 32 bytes (份额长度无效)")
        share.check()
        return share

    def check(self) -> None:
        check_code(self.section_code, "section")
        load_public_key(self.opening_public_key)
        if not all(isinstance(v, int) and not isinstance(v, bool)
                   for v in (self.threshold, self.count, self.index)) \
                or not 2 <= self.threshold <= self.count <= 255 \
                or not 1 <= self.index <= self.count or not 0 <= self.value < CURVE_ORDER:
            raise ShareError("bad_share", "share parameters out of range (份额参数无效)")


def _public_fields(section_code: str, opening_pub: bytes, threshold: int, count: int, index: int,
                   holder_pub: bytes) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "section": section_code,
            "opening_public_key": b64u(opening_pub), "threshold": threshold, "count": count,
            "index": index, "holder_public_key": b64u(holder_pub)}


def _info(fields: dict[str, Any]) -> bytes:
    return LABEL + sha256(canonical_json(fields))


@dataclass(frozen=True, repr=False)
class SplitRandomness:
    """Every random value of one split: only the test-vector generator (tests/bids/vectors.py)
    passes one; in use each comes fresh from the OS CSPRNG."""

    opening_key: PrivateKey
    coefficients: Sequence[int]
    ephemerals: Sequence[PrivateKey]


def split_opening_key(section_code: str, holder_public_keys: Sequence[PublicKey | bytes | str],
                      threshold: int = DEFAULT_THRESHOLD, *,
                      randomness: SplitRandomness | None = None
                      ) -> tuple[bytes, list[dict[str, Any]]]:
    """Makes a section's opening key pair, splits the private key to the holders, drops it.

    Returns the opening public key (raw point; the server registers it and bidders seal to it)
    and one wrapped share per holder, in the holders' order (index = position + 1).
    """
    check_code(section_code, "section")
    holders = [public_key_bytes(load_public_key(key)) for key in holder_public_keys]
    if len(set(holders)) != len(holders):
        raise ShareError("bad_holders", "each key holder needs its own key (密钥持有人公钥重复)")
    count = len(holders)
    if not 2 <= threshold <= count <= 255:
        raise ShareError("bad_threshold", "need 2 ≤ k ≤ n ≤ 255 (门限参数无效)")
    key = generate_private_key() if randomness is None else randomness.opening_key
    ephemerals = [None] * count if randomness is None else list(randomness.ephemerals)
    opening_pub = public_key_bytes(key)
    points = split_secret(key.private_numbers().private_value, threshold, count,
                          None if randomness is None else randomness.coefficients)
    del key
    wrapped = []
    for (index, value), holder, ephemeral in zip(points, holders, ephemerals, strict=True):
        fields = _public_fields(section_code, opening_pub, threshold, count, index, holder)
        eph, ciphertext = wrap(load_public_key(holder), value.to_bytes(32, "big"), _info(fields),
                               ephemeral)
        wrapped.append({**fields, "ephemeral_public_key": b64u(eph),
                        "ciphertext": b64u(ciphertext)})
    points.clear()
    return opening_pub, wrapped


def unwrap_holder_share(wrapped: dict[str, Any], holder_key: PrivateKey) -> HolderShare:
    """A key holder opens its own wrapped share (on its side) before releasing it."""
    try:
        if wrapped["format"] != FORMAT or wrapped["version"] != VERSION:
            raise ShareError("bad_share", "not a wrapped opening share (不是开标密钥份额)")
        fields = _public_fields(wrapped["section"], unb64u(wrapped["opening_public_key"]),
                                wrapped["threshold"], wrapped["count"], wrapped["index"],
                                unb64u(wrapped["holder_public_key"]))
        eph = unb64u(wrapped["ephemeral_public_key"])
        ciphertext = unb64u(wrapped["ciphertext"])
    except (KeyError, TypeError) as error:
        raise ShareError("bad_share", "wrapped share is missing a field (份额缺少字段)") from error
    if not hmac.compare_digest(public_key_bytes(holder_key), unb64u(fields["holder_public_key"])):
        raise ShareError("wrong_key", "this key does not hold that share (持有人私钥不符)")
    value = unwrap(holder_key, eph, ciphertext, _info(fields))
    share = HolderShare(section_code=fields["section"],
                        opening_public_key=unb64u(fields["opening_public_key"]),
                        threshold=fields["threshold"], count=fields["count"],
                        index=fields["index"], value=int.from_bytes(value, "big"))
    share.check()
    return share


def _matches(scalar: int, expected: bytes) -> bool:
    if not 0 < scalar < CURVE_ORDER:
        return False
    return hmac.compare_digest(public_key_bytes(private_key_from_scalar(scalar)), expected)


def recover_opening_key(shares: Iterable[HolderShare], opening_public_key: PublicKey | bytes | str,
                        section_code: str | None = None) -> PrivateKey:
    """Combines released shares into the opening private key, checked against the public key.

    Errors (``ShareError``): ``too_few_shares`` (fewer than k distinct), ``duplicate_share``,
    ``inconsistent_shares`` (another section, key or k), ``wrong_share`` (the result is not the
    registered key; ``details["suspect_indices"]`` when they can be named).
    """
    expected = public_key_bytes(load_public_key(opening_public_key))
    shares = list(shares)
    if not shares:
        raise ShareError("too_few_shares", "no opening shares (没有开标密钥份额)")
    for share in shares:
        share.check()
        if not hmac.compare_digest(share.opening_public_key, expected) \
                or (section_code is not None and share.section_code != section_code):
            raise ShareError("inconsistent_shares", f"share {share.index} belongs to another "
                             "section or opening key (份额不属于本标段)", {"index": share.index})
    threshold = shares[0].threshold
    if any(s.threshold != threshold or s.count != shares[0].count for s in shares):
        raise ShareError("inconsistent_shares", "shares disagree on k or n (份额门限参数不一致)")
    indices = [s.index for s in shares]
    if len(set(indices)) != len(indices):
        raise ShareError("duplicate_share", "the same share was given twice (份额重复)")
    if len(shares) < threshold:
        raise ShareError("too_few_shares", f"{len(shares)} of the {threshold} opening shares "
                         f"needed (开标密钥份额不足：需要 {threshold} 份)",
                         {"have": len(shares), "need": threshold})
    points = [(s.index, s.value) for s in shares]
    scalar = interpolate_at_zero(points)
    if _matches(scalar, expected):
        return private_key_from_scalar(scalar)
    details: dict[str, Any] = {}
    subsets = list(itertools.islice(itertools.combinations(points, threshold), MAX_SUBSETS))
    if len(points) > threshold:
        good = [subset for subset in subsets if _matches(interpolate_at_zero(subset), expected)]
        if good:
            trusted = {x for subset in good for x, _ in subset}
            details["suspect_indices"] = sorted(set(indices) - trusted)
    raise ShareError("wrong_share", "开标密钥份额错误：组合结果与标段开标公钥不符 (a wrong opening "
                     "share: the combination is not the section's opening key)", details)


def open_opening_shares(headers: Sequence[EnvelopeHeader], shares: Iterable[HolderShare],
                        opening_public_key: PublicKey | bytes | str) -> list[bytes]:
    """Recovers the opening key, unwraps every envelope's opening data-key share, drops the key.

    The one call the opening needs, so the whole private key lives for one loop. A header not
    sealed to this opening key raises ``wrong_key``.
    """
    from tradesys.bids.open import unwrap_share

    key = recover_opening_key(shares, opening_public_key)
    try:
        return [unwrap_share(header, ROLE_OPENING, key) for header in headers]
    finally:
        del key
