"""Signed tree heads of the event log, and the log's Merkle tree read from the database.

A **tree head** says "the first ``tree_size`` events of the log have Merkle tree hash
``root_hash``" (archive/merkle.py: leaf *i* is the raw bytes of event ``i + 1``'s hash), as of
``timestamp``. The platform signs it with its archive key (Ed25519,
``data_dir/keys/archive-signing.pem``, mode 0600, made on first start like the other platform
keys, tradesys/signatures.py). Anyone holding two heads checks with a consistency proof that
the later log extends the earlier one unchanged, and with an inclusion proof that an event
(e.g. the one a bid receipt names by ``event_hash``) is in it, without trusting our database.

**Canonical form** (what is signed: ``canonical_json`` of this object, tradesys/events/
canonical.py: keys sorted, no spaces, UTF-8)::

    {"type": "tradesys.tree-head", "version": 1, "platform_code": "TS0000000001",
     "tree_size": 42, "root_hash": "<64 lowercase hex>",
     "timestamp": "2026-03-02T01:00:00.000000Z"}

The signature is standard base64 of the 64-byte Ed25519 signature; ``key_id`` is the SHA-256
(hex) of the raw 32-byte public key. Published as ``{"tree_head": {...}, "signature": "...",
"key_id": "..."}``.

Reading the tree never loads events' payloads: only ``(seq, hash)`` in sequence order, in
batches, folded into a :class:`~archive.merkle.TreeHasher` (O(log n) state).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from archive import merkle
from tradesys.clock import isoformat_utc, parse_instant
from tradesys.events.log import CHAIN_HEAD_ID
from tradesys.events.models import ChainHead, Event
from tradesys.signatures import key_fingerprint, sign_canonical, verify_canonical

TREE_HEAD_TYPE = "tradesys.tree-head"
TREE_HEAD_VERSION = 1
#: Event hashes read per query while folding the tree.
BATCH = 5000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = frozenset({"type", "version", "platform_code", "tree_size", "root_hash", "timestamp"})


class BrokenLog(Exception):
    """The log has a gap or a malformed hash where the tree needs a leaf (``tradesys verify
    log`` says which event); a tree over it would prove nothing."""


@dataclass(frozen=True)
class TreeHead:
    platform_code: str
    tree_size: int
    root_hash: bytes
    timestamp: datetime

    def document(self) -> dict[str, Any]:
        """The canonical object that is signed."""
        return {
            "type": TREE_HEAD_TYPE,
            "version": TREE_HEAD_VERSION,
            "platform_code": self.platform_code,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": isoformat_utc(self.timestamp),
        }


@dataclass(frozen=True)
class SignedTreeHead:
    head: TreeHead
    signature: str
    key_id: str

    def as_json(self) -> dict[str, Any]:
        return {"tree_head": self.head.document(), "signature": self.signature,
                "key_id": self.key_id}


def sign_tree_head(key: Ed25519PrivateKey, head: TreeHead) -> SignedTreeHead:
    return SignedTreeHead(head, sign_canonical(key, head.document()),
                          key_fingerprint(key.public_key()))


def verify_tree_head(key: Ed25519PublicKey, published: Any) -> TreeHead | None:
    """The head in ``published`` (the JSON object as served) if its signature is genuine and
    every field is exactly as this module writes it; None otherwise."""
    if not isinstance(published, dict) or set(published) != {"tree_head", "signature",
                                                             "key_id"}:
        return None
    document, signature = published["tree_head"], published["signature"]
    if (not isinstance(document, dict) or set(document) != _FIELDS
            or not isinstance(signature, str) or published["key_id"] != key_fingerprint(key)):
        return None
    size, root, when, code = (document["tree_size"], document["root_hash"],
                              document["timestamp"], document["platform_code"])
    if (document["type"] != TREE_HEAD_TYPE or document["version"] != TREE_HEAD_VERSION
            or isinstance(size, bool) or not isinstance(size, int) or size < 0
            or not isinstance(root, str) or not _HEX64.match(root)
            or not isinstance(when, str) or not isinstance(code, str)):
        return None
    try:
        instant = parse_instant(when)
    except ValueError:
        return None
    head = TreeHead(code, size, bytes.fromhex(root), instant)
    if head.document() != document:  # e.g. another spelling of the same instant
        return None
    if not verify_canonical(key, document, signature):
        return None
    return head


# -- the tree over the database -------------------------------------------------------------


async def log_size(session: AsyncSession) -> int:
    """Events in the log now (the chain head's sequence number)."""
    head = (await session.execute(
        select(ChainHead.seq).where(ChainHead.id == CHAIN_HEAD_ID))).scalar_one_or_none()
    return head or 0


async def size_before(session: AsyncSession, instant: datetime) -> int:
    """The longest prefix of the log whose events all occurred before ``instant``: one less
    than the first event at or after it (the whole log if there is none yet)."""
    first_after = (await session.execute(
        select(func.min(Event.seq)).where(Event.occurred_at >= instant))).scalar_one()
    if first_after is not None:
        return int(first_after) - 1
    return await log_size(session)


async def leaf_hashes(session: AsyncSession, start: int, end: int,
                      *, batch: int = BATCH) -> AsyncIterator[bytes]:
    """The leaf hashes of leaves ``[start, end)`` (events ``start + 1 .. end``), in order, a
    batch of ``(seq, hash)`` at a time."""
    expected = start + 1
    while expected <= end:
        rows = (await session.execute(
            select(Event.seq, Event.hash).where(Event.seq >= expected, Event.seq <= end)
            .order_by(Event.seq).limit(batch))).all()
        if not rows:
            raise BrokenLog(f"event {expected} is missing from the log")
        for seq, hashed in rows:
            if seq != expected:
                raise BrokenLog(f"event {expected} is missing from the log")
            if not isinstance(hashed, str) or not _HEX64.match(hashed):
                raise BrokenLog(f"event {seq} has no well-formed hash")
            yield merkle.leaf_hash(bytes.fromhex(hashed))
            expected += 1


class SubtreeCache:
    """Hashes of large perfect subtrees (aligned blocks of at least 2^:attr:`min_height`
    leaves), most recently used kept: the log is append-only, so a block's hash never changes,
    and a proof that reuses blocks reads only the leaves at its edges. Bounded: at most
    ``entries`` hashes (about 150 bytes each)."""

    def __init__(self, *, min_height: int = 10, entries: int = 16384) -> None:
        self.min_height = min_height
        self.entries = entries
        self._blocks: OrderedDict[tuple[int, int], bytes] = OrderedDict()

    def get(self, start: int, height: int) -> bytes | None:
        value = self._blocks.get((start, height))
        if value is not None:
            self._blocks.move_to_end((start, height))
        return value

    def put(self, start: int, height: int, value: bytes) -> None:
        if height < self.min_height:
            return
        self._blocks[(start, height)] = value
        while len(self._blocks) > self.entries:
            self._blocks.popitem(last=False)


async def _streamed(session: AsyncSession, start: int, end: int) -> bytes:
    hasher = merkle.TreeHasher()
    async for hashed in leaf_hashes(session, start, end):
        hasher.add_leaf_hash(hashed)
    return hasher.root()


async def subtree_hash(session: AsyncSession, start: int, end: int,
                       cache: SubtreeCache | None = None) -> bytes:
    """MTH of leaves ``[start, end)``, streamed with O(log n) state.

    The range splits into perfect blocks by the binary digits of its length, largest first
    (the RFC's shape), folded right to left; with a ``cache``, an aligned block large enough
    is looked up (or stored) instead of re-read."""
    if start >= end:
        return merkle.EMPTY_ROOT
    blocks: list[bytes] = []
    at = start
    for height in range((end - start).bit_length() - 1, -1, -1):
        size = 1 << height
        if not (end - start) & size:
            continue
        aligned = cache is not None and height >= cache.min_height and at % size == 0
        value = cache.get(at, height) if aligned and cache is not None else None
        if value is None:
            value = await _streamed(session, at, at + size)
            if aligned and cache is not None:
                cache.put(at, height, value)
        blocks.append(value)
        at += size
    root = blocks[-1]
    for left in reversed(blocks[:-1]):
        root = merkle.node_hash(left, root)
    return root


async def tree_root(session: AsyncSession, size: int) -> bytes:
    return await subtree_hash(session, 0, size)


async def _hashes(session: AsyncSession, ranges: list[tuple[int, int]],
                  cache: SubtreeCache | None) -> list[bytes]:
    return [await subtree_hash(session, start, end, cache) for start, end in ranges]


async def inclusion_proof(session: AsyncSession, index: int, size: int,
                          cache: SubtreeCache | None = None) -> list[bytes]:
    """The audit path of leaf ``index`` (event ``index + 1``) in the tree of ``size``."""
    return await _hashes(session, merkle.inclusion_ranges(index, size), cache)


async def consistency_proof(session: AsyncSession, first: int, second: int,
                            cache: SubtreeCache | None = None) -> list[bytes]:
    """The RFC 9162 consistency proof from size ``first`` to ``second`` (0 < first ≤ second)."""
    return await _hashes(session, merkle.consistency_ranges(first, second), cache)


async def tree_head_at(session: AsyncSession, platform_code: str, size: int,
                       timestamp: datetime) -> TreeHead:
    return TreeHead(platform_code, size, await tree_root(session, size), timestamp)
