import pytest

from tradesys.errors import Invalid
from tradesys.events.canonical import NotCanonical, canonical_json


def test_keys_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": "招标"}) == '{"a":"招标","b":1}'.encode()


def test_floats_are_refused_amounts_travel_as_strings() -> None:
    with pytest.raises(TypeError, match="decimal string"):
        canonical_json({"price": 1.5})


def test_non_json_values_are_refused() -> None:
    with pytest.raises(TypeError):
        canonical_json({"when": object()})
    with pytest.raises(TypeError):
        canonical_json({1: "x"})


def test_same_value_same_bytes_whatever_the_key_order() -> None:
    assert canonical_json({"x": [1, {"z": None, "y": True}]}) == canonical_json(
        {"x": [1, {"y": True, "z": None}]})


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**64, 10**30])
def test_integers_beyond_2_53_are_refused_as_javascript_would_round_them(value: int) -> None:
    # JavaScript reads 2**53 + 1 as 2**53: the same document would hash differently there.
    with pytest.raises(NotCanonical, match=r"2\^53") as raised:
        canonical_json({"n": [value]})
    assert raised.value.code == "bad_json"
    assert isinstance(raised.value, Invalid)


def test_the_largest_safe_integers_are_kept_exactly() -> None:
    edge = 2**53 - 1
    assert canonical_json([edge, -edge]) == b"[9007199254740991,-9007199254740991]"
