"""The draw itself: a pure, deterministic function of (seed, pool snapshot, seats).

Anyone can re-run it from the log (docs/evaluation.md §4 specifies it byte for byte):

* ``commitment = SHA-256(seed)`` in lower-case hex; the seed is 32 bytes from the OS CSPRNG.
* A stream of uniform integers: block ``c`` (c = 0, 1, 2, …) is
  ``HMAC-SHA256(key=seed, msg=b"tradesys-draw-v1" || c as 8-byte big-endian)``; its first 8
  bytes, big-endian, are a 64-bit number ``x``. To draw uniformly from ``0 … m-1`` take the next
  block; reject ``x ≥ 2^64 - (2^64 mod m)`` (no modulo bias) and take the next; else ``x mod m``.
* A partial Fisher–Yates shuffle of the pool sorted ascending: for ``i = 0 … seats-1``,
  ``j = i + uniform(n - i)``, swap ``a[i]`` and ``a[j]``; the members are ``a[0 … seats-1]`` in
  that order.

条例 Art. 46: experts are drawn at random; nobody may name a member. The seed is random, fixed
(committed) before the result exists, and the function leaves no choice to anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator, Sequence

DOMAIN = b"tradesys-draw-v1"
SEED_BYTES = 32
_SPAN = 1 << 64


def new_seed() -> bytes:
    """32 bytes from the operating system's CSPRNG (``secrets``)."""
    return secrets.token_bytes(SEED_BYTES)


def commitment(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def _blocks(seed: bytes) -> Iterator[int]:
    counter = 0
    while True:
        mac = hmac.new(seed, DOMAIN + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        yield int.from_bytes(mac[:8], "big")
        counter += 1


def _uniform(blocks: Iterator[int], m: int) -> int:
    limit = _SPAN - (_SPAN % m)
    while True:
        x = next(blocks)
        if x < limit:
            return x % m


def draw(seed: bytes, pool: Sequence[int], seats: int) -> list[int]:
    """The ``seats`` members drawn from ``pool`` (user ids; sorted and de-duplicated here so the
    result never depends on the order the pool was read in)."""
    if len(seed) != SEED_BYTES:
        raise ValueError(f"the seed is {SEED_BYTES} bytes")
    items = sorted(set(pool))
    if not 0 <= seats <= len(items):
        raise ValueError(f"cannot draw {seats} from a pool of {len(items)}")
    blocks = _blocks(seed)
    for i in range(seats):
        j = i + _uniform(blocks, len(items) - i)
        items[i], items[j] = items[j], items[i]
    return items[:seats]
