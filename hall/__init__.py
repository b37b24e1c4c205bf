"""The online bid-opening hall (网上开标大厅): the live WebSocket side of the opening.

The ceremony's rules are domain code (``tradesys.opening``); this package carries them live:
the protocol (docs/hall-protocol.md), rooms built from the event log, fan-out to thousands of
connections, and the backplane that tells rooms in every process about new events.
"""
