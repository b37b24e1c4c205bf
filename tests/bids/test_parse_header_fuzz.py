"""The upload-time parser never fails with anything but an EnvelopeError (server: 4xx)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bids.conftest import Parties, make_envelope
from tradesys.bids.envelope import EnvelopeHeader, header_length, parse_header
from tradesys.bids.errors import EnvelopeError

_ENVELOPE: list[bytes] = []


@pytest.fixture(autouse=True)
def envelope(parties: Parties) -> None:
    if not _ENVELOPE:
        _ENVELOPE.append(make_envelope(parties, b"x" * 5000))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 800), st.integers(0, 255)), max_size=4),
       st.integers(0, 900))
def test_mutated_headers_parse_or_raise_envelope_error(edits, cut: int) -> None:
    data = bytearray(_ENVELOPE[0][: max(cut, 14) + 400])
    for offset, value in edits:
        if offset < len(data):
            data[offset] = value
    try:
        header = parse_header(bytes(data))
    except EnvelopeError as error:
        assert error.code and error.message
    else:
        assert isinstance(header, EnvelopeHeader)


@given(st.binary(max_size=64))
def test_random_bytes_are_not_an_envelope(data: bytes) -> None:
    with pytest.raises(EnvelopeError):
        header_length(data)
