"""RFC 9162 Merkle tree: known vectors, every proof up to 20 leaves, and tampering."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.merkle import (
    EMPTY_ROOT,
    TreeHasher,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    list_subtree,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

#: The leaves of the RFC 6962 / RFC 9162 reference test vectors (as used by the CT logs' own
#: test suites, e.g. transparency-dev/merkle) and the roots of their first 1..8 leaves.
RFC_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def leaves(n: int) -> list[bytes]:
    """n distinct 32-byte leaves, as event hashes are."""
    return [hashlib.sha256(f"event {i}".encode()).digest() for i in range(n)]


def test_reference_roots() -> None:
    for n, expected in enumerate(RFC_ROOTS, start=1):
        assert root_of(RFC_LEAVES[:n]).hex() == expected
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_reference_inclusion_path_of_leaf_0_in_8() -> None:
    path = inclusion_proof(0, 8, list_subtree(RFC_LEAVES))
    assert [p.hex() for p in path] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


def test_hand_built_trees_1_to_8() -> None:
    """The tree shapes written out by hand: the left subtree is the largest power of two."""
    d = leaves(8)
    h = [leaf_hash(x) for x in d]
    n = node_hash
    assert leaf_hash(d[0]) == hashlib.sha256(b"\x00" + d[0]).digest()
    assert n(h[0], h[1]) == hashlib.sha256(b"\x01" + h[0] + h[1]).digest()
    p2 = n(h[0], h[1])
    p4 = n(p2, n(h[2], h[3]))
    expected = {
        1: h[0],
        2: p2,
        3: n(p2, h[2]),
        4: p4,
        5: n(p4, h[4]),
        6: n(p4, n(h[4], h[5])),
        7: n(p4, n(n(h[4], h[5]), h[6])),
        8: n(p4, n(n(h[4], h[5]), n(h[6], h[7]))),
    }
    for size, root in expected.items():
        assert root_of(d[:size]) == root
    # Hand-built proofs for 7 leaves: leaf 6 (the lone right leaf) and leaf 2.
    sub = list_subtree(d[:7])
    assert inclusion_proof(6, 7, sub) == [n(h[4], h[5]), p4]
    assert inclusion_proof(2, 7, sub) == [h[3], p2, n(n(h[4], h[5]), h[6])]
    # RFC 9162 §2.1.5's example: consistency of 3 in 7 is [c, d, g, l] in its figure's names.
    assert consistency_proof(3, 7, sub) == [h[2], h[3], p2, n(n(h[4], h[5]), h[6])]
    assert consistency_proof(4, 7, sub) == [n(n(h[4], h[5]), h[6])]
    assert consistency_proof(6, 7, sub) == [n(h[4], h[5]), h[6], p4]


def test_streaming_root_matches_recursive_definition() -> None:
    def mth(d: list[bytes]) -> bytes:
        if len(d) == 1:
            return leaf_hash(d[0])
        k = 1
        while k * 2 < len(d):
            k *= 2
        return node_hash(mth(d[:k]), mth(d[k:]))

    d = leaves(70)
    hasher = TreeHasher()
    for i, leaf in enumerate(d, start=1):
        hasher.add_leaf(leaf)
        assert hasher.size == i
        assert hasher.root() == mth(d[:i])
        assert len(hasher._stack) <= i.bit_length()  # O(log n) state


MAX = 20
DATA = leaves(MAX)
SUB = list_subtree(DATA)
ROOTS = {n: root_of(DATA[:n]) for n in range(MAX + 1)}


def test_every_inclusion_proof_up_to_20_verifies_and_tampering_fails() -> None:
    for size in range(1, MAX + 1):
        for index in range(size):
            path = inclusion_proof(index, size, SUB)
            hashed = leaf_hash(DATA[index])
            assert verify_inclusion(hashed, index, size, path, ROOTS[size])
            # wrong leaf, index, size or root
            assert not verify_inclusion(leaf_hash(b"other"), index, size, path, ROOTS[size])
            for other in range(size + 2):
                if other != index:
                    assert not verify_inclusion(hashed, other, size, path, ROOTS[size])
            for other in range(1, MAX + 1):  # another size, with that size's true root
                if other != size:
                    assert not verify_inclusion(hashed, index, other, path, ROOTS[other])
            assert not verify_inclusion(hashed, index, size, path, ROOTS[size - 1])
            # any flipped byte of the path, a missing or an extra element
            for i, p in enumerate(path):
                for byte in (0, 31):
                    bad = bytearray(p)
                    bad[byte] ^= 0x01
                    assert not verify_inclusion(hashed, index, size,
                                                [*path[:i], bytes(bad), *path[i + 1:]],
                                                ROOTS[size])
            if path:
                assert not verify_inclusion(hashed, index, size, path[:-1], ROOTS[size])
            assert not verify_inclusion(hashed, index, size, [*path, path[0] if path else
                                                               hashed], ROOTS[size])


def test_every_consistency_proof_up_to_20_verifies_and_tampering_fails() -> None:
    for second in range(1, MAX + 1):
        for first in range(1, second + 1):
            proof = consistency_proof(first, second, SUB)
            assert verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)
            if first == second:
                assert proof == []
                continue
            assert not verify_consistency(first, second, ROOTS[first], ROOTS[first], proof)
            assert not verify_consistency(first, second, ROOTS[second], ROOTS[second], proof)
            assert not verify_consistency(first, second, leaf_hash(b"x"), ROOTS[second], proof)
            for other in range(1, MAX + 1):  # another size, with that size's true root
                if other != first and other < second:
                    assert not verify_consistency(other, second, ROOTS[other], ROOTS[second],
                                                  proof)
                if other != second and other > first:
                    assert not verify_consistency(first, other, ROOTS[first], ROOTS[other],
                                                  proof)
            for i, p in enumerate(proof):
                for byte in (0, 17, 31):
                    bad = bytearray(p)
                    bad[byte] ^= 0x80
                    assert not verify_consistency(first, second, ROOTS[first], ROOTS[second],
                                                  [*proof[:i], bytes(bad), *proof[i + 1:]])
            assert not verify_consistency(first, second, ROOTS[first], ROOTS[second],
                                          proof[:-1])
            assert not verify_consistency(first, second, ROOTS[first], ROOTS[second],
                                          [*proof, proof[0]])
            assert not verify_consistency(first, second, ROOTS[first], ROOTS[second], [])


def test_a_log_that_rewrote_history_has_no_consistency_proof() -> None:
    """A log that changed leaf 2 after publishing 5 leaves cannot prove 5 → 9 consistent."""
    forged = [*DATA[:2], b"rewritten", *DATA[3:9]]
    proof = consistency_proof(5, 9, list_subtree(forged))
    assert not verify_consistency(5, 9, ROOTS[5], root_of(forged), proof)


def test_edge_cases_and_bad_arguments() -> None:
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert not verify_consistency(0, 5, ROOTS[1], ROOTS[5], [])
    assert not verify_consistency(5, 4, ROOTS[5], ROOTS[4], [])
    assert not verify_inclusion(leaf_hash(DATA[0]), 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(leaf_hash(DATA[0]), -1, 3, [], ROOTS[3])
    assert not verify_inclusion(leaf_hash(DATA[0]), 0, 2, [b"short"], ROOTS[2])
    assert verify_inclusion(leaf_hash(DATA[0]), 0, 1, [], ROOTS[1])
    with pytest.raises(ValueError):
        inclusion_proof(3, 3, SUB)
    with pytest.raises(ValueError):
        consistency_proof(0, 3, SUB)
    with pytest.raises(ValueError):
        consistency_proof(4, 3, SUB)
    with pytest.raises(ValueError):
        TreeHasher().add_leaf_hash(b"\x00" * 31)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.data())
def test_random_sizes_prove_and_verify(size: int, data: st.DataObject) -> None:
    d = leaves(size)
    sub = list_subtree(d)
    root = root_of(d)
    index = data.draw(st.integers(0, size - 1))
    assert verify_inclusion(leaf_hash(d[index]), index, size,
                            inclusion_proof(index, size, sub), root)
    first = data.draw(st.integers(1, size))
    assert verify_consistency(first, size, root_of(d[:first]), root,
                              consistency_proof(first, size, sub))
