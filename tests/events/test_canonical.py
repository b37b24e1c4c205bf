import pytest

from tradesys.events.canonical import canonical_json


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
