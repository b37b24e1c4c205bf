"""Sealed electronic archives (BagIt) and their offline verifier.

Built so far (docs/archive.md): the RFC 9162 Merkle tree over the event log (merkle), signed
tree heads (tree_head) and when they are public (publication), and a streaming BagIt
writer (bag). The archive builder and the offline verifier come next.
"""
