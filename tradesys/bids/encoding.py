"""Small byte helpers shared by the envelope modules: base64url without padding, SHA-256."""

from __future__ import annotations

import base64
import hashlib
from typing import BinaryIO

from tradesys.bids.errors import EnvelopeError


def b64u(data: bytes) -> str:
    """base64url without ``=`` padding: the text form of every binary value in the format."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str, *, field: str = "value") -> bytes:
    """Strict inverse of :func:`b64u`: rejects padding, whitespace and the standard alphabet,
    so each value has exactly one text form (a signature over it cannot be malleated)."""
    if not isinstance(text, str) or any(c in text for c in "=+/ \n\r\t"):
        raise EnvelopeError("bad_base64", f"{field} 不是 base64url 编码 (not base64url)")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise EnvelopeError("bad_base64", f"{field} 不是 base64url 编码 (not base64url)") from error
    if b64u(data) != text:
        raise EnvelopeError("bad_base64", f"{field} 不是规范的 base64url (non-canonical)")
    return data


def sha256(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def read_exactly(source: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``source`` (short only at the end of the stream); bytes read."""
    filled = 0
    while filled < len(view):
        got = source.readinto(view[filled:])  # type: ignore[attr-defined]
        if not got:
            break
        filled += got
    return filled
