"""The 开标一览表 rules: what a sealed summary must contain, in canonical JSON."""

from __future__ import annotations

import pytest

from tests.bids.conftest import SUMMARY
from tradesys.bids.errors import EnvelopeError
from tradesys.bids.summary import decode_summary, encode_summary


def test_canonical_bytes() -> None:
    assert encode_summary(SUMMARY) == (
        '{"currency":"CNY","duration_days":180,"price":"9876543.21","project_manager":"李四",'
        '"quality":"合格","warranty_years":2}').encode()
    assert decode_summary(encode_summary(SUMMARY)) == SUMMARY


@pytest.mark.parametrize("change", [
    {"price": 100}, {"price": 100.5}, {"price": "1e6"}, {"price": "-1"}, {"price": "01"},
    {"price": "1.1234567"}, {"currency": "cny"}, {"duration_days": "30"},
    {"duration_days": True}, {"duration_days": 0}, {"quality": ""}, {"project_manager": " "},
    {"Bad-Key": 1}, {"extra": 1.5}, {"notes": "\ud800"},
])
def test_bad_summaries(change) -> None:
    with pytest.raises(EnvelopeError) as caught:
        encode_summary({**SUMMARY, **change})
    assert caught.value.code == "bad_summary"


def test_missing_fields_and_size() -> None:
    for name in ("price", "currency", "duration_days", "quality", "project_manager"):
        partial = {k: v for k, v in SUMMARY.items() if k != name}
        with pytest.raises(EnvelopeError):
            encode_summary(partial)
    with pytest.raises(EnvelopeError):
        encode_summary({**SUMMARY, "notes": "x" * 70000})


def test_non_canonical_decrypted_summary_is_refused() -> None:
    with pytest.raises(EnvelopeError):
        decode_summary(b'{"price": "1", "currency":"CNY"}')
    loose = encode_summary(SUMMARY).replace(b":180,", b":180 ,")
    with pytest.raises(EnvelopeError):
        decode_summary(loose)


@pytest.mark.parametrize("big", [2**53, -(2**53), 2**53 + 1, 10**20])
def test_integers_javascript_cannot_hold_are_refused_when_sealing(big: int) -> None:
    # The browser reads 9007199254740993 as 9007199254740992: the bytes it would hash and sign
    # would not be the bytes Python sealed, so neither side accepts such a summary.
    with pytest.raises(EnvelopeError) as caught:
        encode_summary({**SUMMARY, "items": [{"count": big}]})
    assert caught.value.code == "bad_summary"
    assert "2^53" in caught.value.message


def test_a_decrypted_summary_with_an_unsafe_integer_is_refused() -> None:
    data = encode_summary({**SUMMARY, "warranty_years": 2**53 - 1})
    assert decode_summary(data)["warranty_years"] == 2**53 - 1
    with pytest.raises(EnvelopeError) as caught:
        decode_summary(data.replace(b"9007199254740991", b"9007199254740993"))
    assert caught.value.code == "bad_summary"


def test_a_summary_nested_past_the_parser_is_a_bad_summary_not_a_crash() -> None:
    # Sealed on the bidder's side and read only at the opening: a RecursionError there would
    # stop the decryption of every bid in the section, not refuse this one.
    deep = encode_summary(SUMMARY).replace(b'"warranty_years":2',
                                           b'"warranty_years":' + b"[" * 30_000 + b"]" * 30_000)
    assert len(deep) < 65536
    with pytest.raises(EnvelopeError) as caught:
        decode_summary(deep)
    assert caught.value.code == "bad_summary"
    nested: list[object] = []
    for _ in range(30_000):
        nested = [nested]
    with pytest.raises(EnvelopeError) as caught:
        encode_summary({**SUMMARY, "extra": nested})
    assert caught.value.code == "bad_summary"
