"""Contracts (合同网签): generation from the award's facts, drafts, the built-in CA, PAdES
signing with the key on the signer's side, verification (docs/contracts.md)."""
