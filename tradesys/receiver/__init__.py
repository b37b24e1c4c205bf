"""The reference receiver: a stand-in public service platform for the embedded default, the
demo and the tests. A separate ASGI app with its own database; it shares no state with the
trading system and knows it only by its public key."""
