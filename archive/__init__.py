"""Sealed electronic archives (BagIt) and their offline verifier.

Built so far (docs/archive.md): the RFC 9162 Merkle tree over the event log (merkle), signed
tree heads (tree_head) and when they are public (publication), a streaming BagIt writer (bag),
and the project archive: when a project has ended (ending), its records (records, index), the
seal (seal), the builder (builder, models) and the offline verifier (verify, cli).
"""
