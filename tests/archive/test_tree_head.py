"""Signed tree heads (pure) and the tree streamed from the database in small batches."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from archive import merkle
from archive.publication import on_schedule
from archive.tree_head import (
    SubtreeCache,
    TreeHead,
    consistency_proof,
    inclusion_proof,
    leaf_hashes,
    sign_tree_head,
    size_before,
    subtree_hash,
    tree_root,
    verify_tree_head,
)
from tests.support import T0
from tradesys.events.canonical import canonical_json
from tradesys.events.models import Event
from tradesys.services import Services

KEY = Ed25519PrivateKey.generate()
HEAD = TreeHead("TS0000000001", 7, merkle.root_of([b"a"] * 7),
                datetime(2026, 3, 2, 1, 0, tzinfo=UTC))


def test_a_signed_head_verifies_and_its_canonical_form_is_as_documented() -> None:
    signed = sign_tree_head(KEY, HEAD).as_json()
    assert verify_tree_head(KEY.public_key(), signed) == HEAD
    assert canonical_json(signed["tree_head"]) == (
        b'{"platform_code":"TS0000000001","root_hash":"' + HEAD.root_hash.hex().encode()
        + b'","timestamp":"2026-03-02T01:00:00.000000Z","tree_size":7,'
        b'"type":"tradesys.tree-head","version":1}')


def test_any_change_to_a_signed_head_fails_verification() -> None:
    signed = sign_tree_head(KEY, HEAD).as_json()
    other = Ed25519PrivateKey.generate()
    assert verify_tree_head(other.public_key(), signed) is None
    changes: list[tuple[str, Any]] = [
        ("tree_size", 8), ("tree_size", 6), ("tree_size", "7"), ("tree_size", True),
        ("tree_size", -1), ("root_hash", HEAD.root_hash.hex().upper()),
        ("root_hash", "00" * 32), ("root_hash", HEAD.root_hash.hex()[:-2]),
        ("timestamp", "2026-03-02T01:00:00Z"), ("timestamp", "2026-03-02T01:00:01.000000Z"),
        ("timestamp", "yesterday"), ("type", "tradesys.receipt"), ("version", 2),
        ("platform_code", "TS0000000002"),
    ]
    for name, value in changes:
        forged = copy.deepcopy(signed)
        forged["tree_head"][name] = value
        assert verify_tree_head(KEY.public_key(), forged) is None, (name, value)
    extra = copy.deepcopy(signed)
    extra["tree_head"]["note"] = "x"
    missing = copy.deepcopy(signed)
    del missing["tree_head"]["timestamp"]
    wrapped = {**signed, "more": 1}
    respelt = {**signed, "signature": signed["signature"].rstrip("=")}
    flipped = {**signed, "signature": ("B" if signed["signature"][0] == "A" else "A")
               + signed["signature"][1:]}
    wrong_id = {**signed, "key_id": "00" * 32}
    for forged in (extra, missing, wrapped, respelt, flipped, wrong_id, None, [], "x"):
        assert verify_tree_head(KEY.public_key(), forged) is None


def test_the_schedule() -> None:
    assert on_schedule(T0, 3600) == T0
    assert on_schedule(T0 - timedelta(microseconds=1), 3600) == T0 - timedelta(hours=1)
    assert on_schedule(T0 + timedelta(minutes=59), 3600) == T0
    assert on_schedule(T0 + timedelta(minutes=59), 900) == T0 + timedelta(minutes=45)
    assert on_schedule(T0 + timedelta(hours=5), 86400) == datetime(2026, 3, 2, tzinfo=UTC)


async def test_the_tree_streamed_in_small_batches_is_the_tree_of_the_rows(
        services: Services) -> None:
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event.hash).order_by(Event.seq))).scalars().all()
        leaves = [bytes.fromhex(h) for h in rows]
        n = len(leaves)
        assert n > 10
        streamed = [h async for h in leaf_hashes(session, 0, n, batch=3)]
        assert streamed == [merkle.leaf_hash(leaf) for leaf in leaves]
        assert [h async for h in leaf_hashes(session, 4, 9, batch=2)] == streamed[4:9]
        for size in (0, 1, 2, 5, n):
            assert await tree_root(session, size) == merkle.root_of(leaves[:size])
        assert await subtree_hash(session, 3, 7) == merkle.root_of(leaves[3:7])
        # The seed's events all occurred at T0: none before it, all before a second later.
        assert await size_before(session, T0) == 0
        assert await size_before(session, T0 + timedelta(seconds=1)) == n


async def test_proofs_read_through_the_subtree_cache_are_the_pure_proofs(
        services: Services) -> None:
    """A tiny cache (blocks of 2+ leaves, 5 entries: constant eviction) changes no hash."""
    cache = SubtreeCache(min_height=1, entries=5)
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event.hash).order_by(Event.seq))).scalars().all()
        leaves = [bytes.fromhex(h) for h in rows]
        n = len(leaves)
        pure = merkle.list_subtree(leaves)
        for start in range(0, n, 3):
            for end in range(start + 1, n + 1, 4):
                assert await subtree_hash(session, start, end, cache) == pure(start, end)
        for _ in range(2):  # the second round is served largely from the cache
            for index in range(n):
                assert (await inclusion_proof(session, index, n, cache)
                        == merkle.inclusion_proof(index, n, pure))
            for first in range(1, n + 1):
                assert (await consistency_proof(session, first, n, cache)
                        == merkle.consistency_proof(first, n, pure))
        assert len(cache._blocks) == 5
