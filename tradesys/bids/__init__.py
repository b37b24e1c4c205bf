"""Sealed bids, client-side half: the envelope format and its keys (docs/envelope.md).

Pure functions over bytes and streams: no database, no HTTP. Modules, one job each:

* :mod:`~tradesys.bids.envelope` — header byte layout; ``parse_header`` for upload validation.
* :mod:`~tradesys.bids.seal` — streaming sealing (``seal``, ``seal_file``).
* :mod:`~tradesys.bids.open` — ``unwrap_share``, ``check_share``, ``combine``,
  ``open_summary``, streaming ``decrypt``.
* :mod:`~tradesys.bids.shamir` — the section's k-of-n opening key.
* :mod:`~tradesys.bids.keys` — P-256 keys, key files and backups, the ECIES wrap.
* :mod:`~tradesys.bids.summary` — the 开标一览表 rules.
"""
