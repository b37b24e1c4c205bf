"""Keys and a sealing helper for the envelope tests (pure crypto: no database, no server)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest

from tradesys.bids.envelope import EnvelopeHeader, parse_header
from tradesys.bids.keys import PrivateKey, generate_private_key, public_key_bytes
from tradesys.bids.open import EnvelopeKey, combine, decrypt, open_summary, read_header
from tradesys.bids.seal import seal

CHUNK = 4096
SECTION = "E3501000001001001"
BIDDER = "91350100MA2XYZ0012"
SUMMARY: dict[str, Any] = {"price": "9876543.21", "currency": "CNY", "duration_days": 180,
                           "quality": "合格", "project_manager": "李四", "warranty_years": 2}


@dataclass
class Parties:
    bidder: PrivateKey
    opening: PrivateKey


@pytest.fixture(scope="session")
def parties() -> Parties:
    return Parties(bidder=generate_private_key(), opening=generate_private_key())


def make_envelope(parties: Parties, data: bytes, *, section: str = SECTION,
                  bidder: str = BIDDER, chunk_size: int = CHUNK,
                  summary: dict[str, Any] | None = None) -> bytes:
    out = io.BytesIO()
    seal(io.BytesIO(data), len(data), out, section_code=section, bidder_code=bidder,
         bidder_public_key=public_key_bytes(parties.bidder),
         opening_public_key=public_key_bytes(parties.opening),
         summary=SUMMARY if summary is None else summary, chunk_size=chunk_size)
    return out.getvalue()


def keys_for(parties: Parties, header: EnvelopeHeader) -> EnvelopeKey:
    from tradesys.bids.envelope import ROLE_BIDDER, ROLE_OPENING
    from tradesys.bids.open import unwrap_share

    return combine(header, unwrap_share(header, ROLE_BIDDER, parties.bidder),
                   unwrap_share(header, ROLE_OPENING, parties.opening))


def open_envelope(parties: Parties, envelope: bytes) -> tuple[dict[str, Any], bytes]:
    """The whole opening as the server will run it; raises EnvelopeError on any problem."""
    source = io.BytesIO(envelope)
    header = read_header(source)
    key = keys_for(parties, header)
    summary = open_summary(header, key)
    out = io.BytesIO()
    decrypt(header, key, source, out)
    return summary, out.getvalue()


def header_of(envelope: bytes) -> EnvelopeHeader:
    return parse_header(envelope)
