"""The RFC 9162 (Certificate Transparency 2.0) Merkle tree over the event log, pure.

Why RFC 9162 rather than a home-made tree: its tree shape, proofs and verification algorithms
are specified to the bit and implemented elsewhere (Go's ``transparency-dev/merkle``,
Trillian, the CT logs), so anyone can check our proofs without our code.

**The leaves.** Leaf *i* (0-based) of the log's tree is the event with sequence number
``i + 1``; the leaf's bytes (``d(i)`` in the RFC) are the 32 raw bytes of that event's
``hash`` (the hex SHA-256 of its canonical JSON, ``tradesys/events/log.py``, decoded). That
hash already commits to every field of the event, its payload included, and to the event
before it (``prev_hash``); so a leaf is as binding as the whole event while a proof never
carries (or leaks) an event's content. A reader who has an event recomputes its hash from the
fields and then its leaf hash ``SHA-256(0x00 ‖ hash bytes)``.

Hashes (§2.1.1): leaf hash = SHA-256(0x00 ‖ leaf), interior node = SHA-256(0x01 ‖ left ‖
right), the empty tree's hash = SHA-256(""); for n > 1 leaves the left subtree holds the
largest power of two smaller than n.

The proof builders do not need the leaves in memory: they take a ``subtree(start, end)``
function giving the hash of leaves ``[start, end)`` (:class:`TreeHasher` computes one from a
stream of leaf hashes in O(log n) memory), and ask it for O(log n) disjoint ranges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "TreeHasher",
    "consistency_proof",
    "consistency_ranges",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "list_subtree",
    "node_hash",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string (§2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: ``subtree(start, end)``: the Merkle tree hash of leaves ``[start, end)``.
Subtree = Callable[[int, int], bytes]


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 ‖ leaf): the hash of one leaf (domain-separated from interior nodes)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right): an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2): the left subtree's size."""
    return 1 << ((n - 1).bit_length() - 1)


class TreeHasher:
    """Folds leaf hashes, in order, into the tree hash with O(log n) state.

    It keeps the roots of the perfect subtrees so far (at most one per height, the binary
    digits of the count); :meth:`root` folds them right to left, which is exactly the RFC's
    shape (every left subtree a perfect power of two).
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (height, hash), heights strictly falling
        self.size = 0

    def copy(self) -> TreeHasher:
        """An independent hasher at the same point (to extend a known tree further)."""
        twin = TreeHasher()
        twin._stack = list(self._stack)
        twin.size = self.size
        return twin

    def add_leaf_hash(self, hashed: bytes) -> None:
        if len(hashed) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        height, value = 0, hashed
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            value = node_hash(left, value)
            height += 1
        self._stack.append((height, value))
        self.size += 1

    def add_leaf(self, leaf: bytes) -> None:
        self.add_leaf_hash(leaf_hash(leaf))

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        value = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            value = node_hash(left, value)
        return value


def root_of(leaves: Iterable[bytes]) -> bytes:
    """MTH over ``leaves`` (raw leaf bytes, hashed here)."""
    hasher = TreeHasher()
    for leaf in leaves:
        hasher.add_leaf(leaf)
    return hasher.root()


def list_subtree(leaves: Sequence[bytes]) -> Subtree:
    """A ``subtree`` function over leaves held in memory (tests, small trees)."""
    hashed = [leaf_hash(leaf) for leaf in leaves]

    def subtree(start: int, end: int) -> bytes:
        hasher = TreeHasher()
        for value in hashed[start:end]:
            hasher.add_leaf_hash(value)
        return hasher.root()

    return subtree


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make PATH(m, D[n]) (§2.1.3.1), in the path's order."""
    if not 0 <= index < size:
        raise ValueError("the leaf index must be below the tree size")
    ranges: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    # PATH(m, D[n]) = PATH(m, left) : MTH(right) or PATH(m − k, right) : MTH(left): the
    # sibling nearest the root comes last, so walk down and reverse.
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m = start + k, m - k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make PROOF(m, D[n]) = SUBPROOF(m, D[n], true)
    (§2.1.4.1), for 0 < m ≤ n; for m = n there are none (the heads must simply be equal)."""
    if not 0 < first <= second:
        raise ValueError("a consistency proof needs 0 < first <= second")
    ranges: list[tuple[int, int]] = []
    start, end, m, whole = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``index`` in the tree of ``size``."""
    return [subtree(a, b) for a, b in inclusion_ranges(index, size)]


def consistency_proof(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """PROOF(m, D[n]) for 0 < m ≤ n (empty for m = n)."""
    return [subtree(a, b) for a, b in consistency_ranges(first, second)]


def verify_inclusion(leaf_hashed: bytes, index: int, size: int, path: Sequence[bytes],
                     root: bytes) -> bool:
    """§2.1.3.2: does ``path`` prove leaf hash ``leaf_hashed`` at ``index`` in ``root``?"""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in path):
        return False
    fn, sn, r = index, size - 1, leaf_hashed
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """§2.1.4.2: does ``proof`` show the tree of ``first`` is a prefix of that of ``second``?

    Equal sizes (outside the RFC's algorithm, which starts from m < n) are consistent only
    with an empty proof and equal roots; size 0 is consistent with anything, emptily."""
    if any(len(p) != HASH_SIZE for p in proof) or not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the first tree is a node of the second
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
