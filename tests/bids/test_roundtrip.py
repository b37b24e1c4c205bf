"""Seal then open: every size at and around the chunk boundaries, and the summary on its own."""

from __future__ import annotations

import io
import os

import pytest

from tests.bids.conftest import CHUNK, SUMMARY, Parties, keys_for, make_envelope, open_envelope
from tradesys.bids.envelope import TAG_LEN, parse_header
from tradesys.bids.open import open_file, open_summary
from tradesys.bids.seal import seal_file


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17, 6 * CHUNK])
def test_round_trip_at_chunk_boundaries(parties: Parties, size: int) -> None:
    data = os.urandom(size)
    envelope = make_envelope(parties, data)
    header = parse_header(envelope)
    assert header.chunk_count == max(1, -(-size // CHUNK))
    assert len(envelope) == header.envelope_size == header.header_len + size + TAG_LEN * \
        header.chunk_count
    summary, plain = open_envelope(parties, envelope)
    assert plain == data
    assert summary == SUMMARY


def test_summary_opens_from_the_header_alone(parties: Parties) -> None:
    envelope = make_envelope(parties, os.urandom(3 * CHUNK))
    header = parse_header(envelope)
    only_header = envelope[: header.header_len]
    header_again = parse_header(only_header)
    assert open_summary(header_again, keys_for(parties, header_again)) == SUMMARY


def test_plaintext_marker_is_not_in_the_envelope(parties: Parties) -> None:
    marker = b"PLAINTEXT-MARKER-7f3a"
    summary = {**SUMMARY, "project_manager": "MARKER-IN-SUMMARY-91c2"}
    envelope = make_envelope(parties, marker * 500, summary=summary)
    assert marker not in envelope
    assert b"MARKER-IN-SUMMARY" not in envelope


def test_two_seals_of_the_same_bid_differ(parties: Parties) -> None:
    data = b"same bid"
    assert make_envelope(parties, data) != make_envelope(parties, data)


def test_seal_file_and_open_file(parties: Parties, tmp_path) -> None:
    from tradesys.bids.envelope import ROLE_BIDDER, ROLE_OPENING
    from tradesys.bids.keys import public_key_bytes
    from tradesys.bids.open import read_header, unwrap_share

    bid = tmp_path / "bid.pdf"
    bid.write_bytes(os.urandom(100_000))
    sealed = tmp_path / "bid.env"
    result = seal_file(bid, sealed, section_code="S1", bidder_code="B1",
                       bidder_public_key=public_key_bytes(parties.bidder),
                       opening_public_key=public_key_bytes(parties.opening), summary=SUMMARY,
                       chunk_size=CHUNK)
    assert sealed.stat().st_size == result.envelope_size
    with sealed.open("rb") as source:
        header = read_header(source)
    summary, decrypted = open_file(sealed, tmp_path / "out.pdf",
                                   unwrap_share(header, ROLE_BIDDER, parties.bidder),
                                   unwrap_share(header, ROLE_OPENING, parties.opening))
    assert summary == SUMMARY
    assert (tmp_path / "out.pdf").read_bytes() == bid.read_bytes()
    assert decrypted.plaintext_size == 100_000


def test_seal_refuses_a_source_of_another_size(parties: Parties) -> None:
    from tradesys.bids.errors import EnvelopeError
    from tradesys.bids.keys import public_key_bytes
    from tradesys.bids.seal import seal

    for declared, actual in ((10, 9), (10, 11)):
        with pytest.raises(EnvelopeError) as caught:
            seal(io.BytesIO(b"x" * actual), declared, io.BytesIO(), section_code="S",
                 bidder_code="B", bidder_public_key=public_key_bytes(parties.bidder),
                 opening_public_key=public_key_bytes(parties.opening), summary=SUMMARY,
                 chunk_size=CHUNK)
        assert caught.value.code == "size_mismatch"


def test_seal_file_leaves_nothing_on_failure(parties: Parties, tmp_path) -> None:
    from tradesys.bids.errors import EnvelopeError
    from tradesys.bids.keys import public_key_bytes

    bid = tmp_path / "bid"
    bid.write_bytes(b"x")
    with pytest.raises(EnvelopeError):
        seal_file(bid, tmp_path / "out", section_code="S", bidder_code="B",
                  bidder_public_key=public_key_bytes(parties.bidder),
                  opening_public_key=public_key_bytes(parties.opening), summary={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bid"]
