"""Errors of the sealed-bid crypto: one type, a stable ``code`` and a bilingual ``message``.

``EnvelopeError`` is a :class:`tradesys.errors.Invalid`, so the route layer maps it to a 4xx
with ``{"error": {"code", "message"}}`` without knowing anything about envelopes. The codes are
listed in docs/envelope.md §9; they never carry secret material (no shares, keys or plaintext).
"""

from __future__ import annotations

from typing import Any

from tradesys.errors import Invalid


class EnvelopeError(Invalid):
    """A malformed, tampered or unopenable envelope, or a bad key or share."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(code, message, details)


class ShareError(EnvelopeError):
    """A threshold (Shamir) opening-key share problem: too few, inconsistent or wrong shares."""
