"""The append-only, hash-chained event log (DESIGN.md invariant 3)."""
