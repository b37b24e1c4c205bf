"""Every client-side bad input of issue 3 gives an EnvelopeError with a code, never plaintext:
truncated, spliced, reordered, dropped or tampered chunks, tampered header bytes, an envelope
moved to another section or bidder, no summary, wrong keys and wrong shares."""

from __future__ import annotations

import io
import os
import struct

import pytest

from tests.bids.conftest import (
    BIDDER,
    CHUNK,
    SECTION,
    SUMMARY,
    Parties,
    keys_for,
    make_envelope,
    open_envelope,
)
from tradesys.bids.envelope import (
    PREFIX_LEN,
    ROLE_BIDDER,
    ROLE_OPENING,
    STANZA_LEN,
    TAG_LEN,
    parse_header,
)
from tradesys.bids.errors import EnvelopeError, ShareError
from tradesys.bids.keys import generate_private_key
from tradesys.bids.open import check_share, combine, decrypt, open_summary, unwrap_share

DATA = bytes(range(256)) * 64  # 4 chunks of 4096


def envelope_and_chunks(parties: Parties, data: bytes = DATA) -> tuple[bytes, bytes, list[bytes]]:
    envelope = make_envelope(parties, data)
    header = parse_header(envelope)
    body = envelope[header.header_len:]
    step = CHUNK + TAG_LEN
    return envelope, envelope[: header.header_len], [body[i: i + step]
                                                     for i in range(0, len(body), step)]


def fails_with(parties: Parties, envelope: bytes, *codes: str) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as caught:
        open_envelope(parties, envelope)
    assert caught.value.code in codes, caught.value.code
    return caught.value


def test_truncated_envelope_at_a_chunk_boundary(parties: Parties) -> None:
    _, header, chunks = envelope_and_chunks(parties)
    error = fails_with(parties, header + b"".join(chunks[:-1]), "truncated")
    assert error.details == {"chunk": 3}


def test_truncated_envelope_inside_a_chunk(parties: Parties) -> None:
    envelope, _, _ = envelope_and_chunks(parties)
    fails_with(parties, envelope[:-1], "truncated")


def test_truncated_inside_the_header(parties: Parties) -> None:
    envelope, header, _ = envelope_and_chunks(parties)
    for cut in (0, 5, PREFIX_LEN, len(header) - 1):
        fails_with(parties, envelope[:cut], "truncated_header")


def test_last_chunk_cannot_be_dropped_even_if_the_size_is_rewritten(parties: Parties) -> None:
    """Rewriting the declared size changes the context hash (shares no longer match); and even
    a reader tricked into a shorter size with the right keys stops at the last-chunk flag."""
    import dataclasses

    _, header, chunks = envelope_and_chunks(parties)
    shorter = bytearray(header)
    struct.pack_into(">Q", shorter, 18, 3 * CHUNK)
    fails_with(parties, bytes(shorter) + b"".join(chunks[:-1]), "share_mismatch",
               "unwrap_failed")
    genuine = parse_header(header)
    fooled = dataclasses.replace(genuine, plaintext_size=3 * CHUNK)
    with pytest.raises(EnvelopeError) as caught:
        decrypt(fooled, keys_for(parties, genuine), io.BytesIO(b"".join(chunks[:-1])),
                io.BytesIO())
    assert caught.value.code == "chunk_auth_failed"
    assert caught.value.details == {"chunk": 2}


def test_dropped_middle_chunk(parties: Parties) -> None:
    _, header, chunks = envelope_and_chunks(parties)
    error = fails_with(parties, header + chunks[0] + b"".join(chunks[2:]) + chunks[3],
                       "chunk_auth_failed")
    assert error.details == {"chunk": 1}


def test_reordered_chunks(parties: Parties) -> None:
    _, header, chunks = envelope_and_chunks(parties)
    error = fails_with(parties, header + chunks[1] + chunks[0] + b"".join(chunks[2:]),
                       "chunk_auth_failed")
    assert error.details == {"chunk": 0}


def test_spliced_chunk_from_another_envelope(parties: Parties) -> None:
    """Same bidder, same section, same keys, same plaintext: still another data key."""
    _, header, chunks = envelope_and_chunks(parties)
    _, _, other = envelope_and_chunks(parties)
    error = fails_with(parties, header + chunks[0] + other[1] + b"".join(chunks[2:]),
                       "chunk_auth_failed")
    assert error.details == {"chunk": 1}


def test_spliced_header_from_another_envelope(parties: Parties) -> None:
    _, _, chunks = envelope_and_chunks(parties)
    _, other_header, _ = envelope_and_chunks(parties)
    error = fails_with(parties, other_header + b"".join(chunks), "chunk_auth_failed")
    assert error.details == {"chunk": 0}


def test_tampered_chunk_byte(parties: Parties) -> None:
    envelope, header, _ = envelope_and_chunks(parties)
    for offset in (len(header), len(header) + CHUNK + 3, len(envelope) - 1):
        tampered = bytearray(envelope)
        tampered[offset] ^= 0x01
        fails_with(parties, bytes(tampered), "chunk_auth_failed")


def test_every_header_byte_is_authenticated(parties: Parties) -> None:
    """Flip each header byte in turn: parse, unwrap, commitment, summary or chunk 0 fails."""
    envelope, header, _ = envelope_and_chunks(parties, DATA[:100])
    for offset in range(len(header)):
        tampered = bytearray(envelope)
        tampered[offset] ^= 0x40
        with pytest.raises(EnvelopeError):
            open_envelope(parties, bytes(tampered))


def test_trailing_bytes_after_the_last_chunk(parties: Parties) -> None:
    envelope, _, _ = envelope_and_chunks(parties)
    fails_with(parties, envelope + b"\x00", "trailing_data")


def _replace_code(envelope: bytes, old: str, new: str) -> bytes:
    assert len(old) == len(new)
    return envelope.replace(old.encode(), new.encode(), 1)


@pytest.mark.parametrize(("old", "new"), [(SECTION, "E3501000001001002"),
                                          (BIDDER, "91350100MA2XYZ0013")])
def test_envelope_moved_to_another_section_or_bidder(parties: Parties, old: str,
                                                     new: str) -> None:
    envelope, _, _ = envelope_and_chunks(parties)
    moved = _replace_code(envelope, old, new)
    header = parse_header(moved)  # structurally fine: the server sees the claimed codes …
    assert new in (header.section_code, header.bidder_code)
    with pytest.raises(EnvelopeError) as caught:  # … and nobody can open it
        unwrap_share(header, ROLE_BIDDER, parties.bidder)
    assert caught.value.code == "unwrap_failed"
    # Even with the genuine shares (from the untouched envelope) the moved one does not open.
    genuine = parse_header(envelope)
    bidder_share = unwrap_share(genuine, ROLE_BIDDER, parties.bidder)
    opening_share = unwrap_share(genuine, ROLE_OPENING, parties.opening)
    with pytest.raises(ShareError) as caught:
        combine(header, bidder_share, opening_share)
    assert caught.value.code == "share_mismatch"


def test_moved_envelope_with_forged_commitments_still_fails(parties: Parties) -> None:
    """An attacker who knew both shares and recomputed the commitments for the new section
    still cannot move it: the keys derive from the context hash, so the summary fails."""
    from tradesys.bids.envelope import commitment
    from tradesys.bids.seal import xor

    envelope, _, _ = envelope_and_chunks(parties)
    genuine = parse_header(envelope)
    shares = (unwrap_share(genuine, ROLE_BIDDER, parties.bidder),
              unwrap_share(genuine, ROLE_OPENING, parties.opening))
    moved = bytearray(_replace_code(envelope, SECTION, "E3501000001001002"))
    header = parse_header(bytes(moved))
    start = header.core_len + 1
    for n, role in enumerate((ROLE_BIDDER, ROLE_OPENING)):
        at = start + n * STANZA_LEN + 131
        moved[at: at + 32] = commitment(role, header.context_hash, shares[n])
    header = parse_header(bytes(moved))
    key = combine(header, *shares)
    with pytest.raises(EnvelopeError) as caught:
        open_summary(header, key)
    assert caught.value.code == "summary_auth_failed"
    with pytest.raises(EnvelopeError) as caught:
        decrypt(header, key, io.BytesIO(bytes(moved[header.header_len:])), io.BytesIO())
    assert caught.value.code == "chunk_auth_failed"
    assert xor(*shares)  # the shares were real: only the binding stopped it


def test_envelope_without_a_summary(parties: Parties) -> None:
    envelope, _, _ = envelope_and_chunks(parties)
    header = parse_header(envelope)
    at = header.core_len + 1 + 2 * STANZA_LEN
    no_summary = bytearray(envelope[:at] + struct.pack(">I", 0) + envelope[header.header_len:])
    struct.pack_into(">I", no_summary, 10, at + 4)
    with pytest.raises(EnvelopeError) as caught:
        parse_header(bytes(no_summary))
    assert caught.value.code == "missing_summary"


@pytest.mark.parametrize("summary", [None, {}, {"price": "1"}])
def test_sealing_without_a_complete_summary_is_refused(parties: Parties, summary) -> None:
    with pytest.raises(EnvelopeError) as caught:
        make_envelope(parties, b"bid", summary=summary if summary is not None else [])
    assert caught.value.code == "bad_summary"


def test_wrong_private_key(parties: Parties) -> None:
    header = parse_header(make_envelope(parties, b"bid"))
    stranger = generate_private_key()
    for role in (ROLE_BIDDER, ROLE_OPENING):
        with pytest.raises(ShareError) as caught:
            unwrap_share(header, role, stranger)
        assert caught.value.code == "wrong_key"
    with pytest.raises(ShareError) as caught:  # the bidder's key is not the opening key
        unwrap_share(header, ROLE_OPENING, parties.bidder)
    assert caught.value.code == "wrong_key"


def test_wrong_released_bidder_share_is_the_bidders_fault(parties: Parties) -> None:
    header = parse_header(make_envelope(parties, b"bid"))
    opening_share = unwrap_share(header, ROLE_OPENING, parties.opening)
    for bad in (os.urandom(32), opening_share, b"short"):
        with pytest.raises(ShareError) as caught:
            check_share(header, ROLE_BIDDER, bad)
        assert caught.value.code in ("share_mismatch", "bad_share")
        with pytest.raises(ShareError):
            combine(header, bad, opening_share)
    genuine = unwrap_share(header, ROLE_BIDDER, parties.bidder)
    with pytest.raises(ShareError) as caught:
        combine(header, genuine, os.urandom(32))
    assert caught.value.details == {"role": "opening"}


def test_neither_share_alone_is_the_data_key(parties: Parties) -> None:
    """A share used as if it were both halves opens nothing (XOR of a share with itself is 0)."""
    header = parse_header(make_envelope(parties, b"bid"))
    key = keys_for(parties, header)
    assert open_summary(header, key) == SUMMARY
    share = unwrap_share(header, ROLE_BIDDER, parties.bidder)
    with pytest.raises(ShareError):
        combine(header, share, share)


@pytest.mark.parametrize(("mutation", "code"), [
    (lambda b: b"XXBIDENV" + b[8:], "bad_magic"),
    (lambda b: b[:8] + b"\x00\x02" + b[10:], "bad_version"),
    (lambda b: b[:10] + b"\xff\xff\xff\xff" + b[14:], "bad_header_length"),
    (lambda b: b[:14] + struct.pack(">I", 1000) + b[18:], "bad_chunk_size"),
    (lambda b: b[:14] + struct.pack(">I", 1 << 25) + b[18:], "bad_chunk_size"),
    (lambda b: b[:18] + struct.pack(">Q", 1 << 60) + b[26:], "bad_size"),
    (lambda b: b[:33] + b"\x00" + b[34:], "bad_section"),
])
def test_parse_header_rejects_malformed_fields(parties: Parties, mutation, code: str) -> None:
    envelope = make_envelope(parties, b"bid")
    with pytest.raises(EnvelopeError) as caught:
        parse_header(mutation(envelope))
    assert caught.value.code == code
