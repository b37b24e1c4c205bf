"""统一社会信用代码 (GB 32100-2015): pure unit tests of the check-character algorithm."""

from __future__ import annotations

import pytest

from tradesys.identity.credit_code import (
    ALPHABET,
    check_character,
    is_valid_credit_code,
    make_credit_code,
)

#: Codes of real, registered enterprises (public business registration records).
REAL_CODES = ["91350100M000100Y43", "914403001922038216", "91110108551385082Q"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert is_valid_credit_code(code)
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", REAL_CODES)
def test_every_other_check_character_is_refused(code: str) -> None:
    wrong = [ch for ch in ALPHABET if ch != code[17]]
    assert len(wrong) == 30
    for ch in wrong:
        assert not is_valid_credit_code(code[:17] + ch), ch


@pytest.mark.parametrize("code", REAL_CODES)
def test_a_changed_body_character_breaks_the_check(code: str) -> None:
    # Any single substitution in the first 17 characters changes the weighted sum mod 31
    # (every weight is coprime with 31), so the old check character no longer fits.
    for position in range(17):
        for ch in "0A":
            if code[position] == ch:
                continue
            changed = code[:position] + ch + code[position + 1 : 17] + code[17]
            assert not is_valid_credit_code(changed), (position, ch)


@pytest.mark.parametrize(
    "code",
    ["", "9135010", "91350100M000100Y4", "91350100M000100Y433", "91350100M000100Y43 "],
)
def test_wrong_length_is_refused(code: str) -> None:
    assert not is_valid_credit_code(code)


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_letters_i_o_s_v_z_are_not_in_the_alphabet(letter: str) -> None:
    assert letter not in ALPHABET
    # Put the letter where letters are allowed (the organisation code part), with any check
    # character: never valid.
    body = "91350100" + letter + "00010" + "0Y4"
    assert len(body) == 17
    for check in ALPHABET:
        assert not is_valid_credit_code(body + check)


def test_lowercase_is_refused_by_the_pure_check() -> None:
    # The service upper-cases before checking; the pure function is exact.
    assert not is_valid_credit_code("91110108551385082q")
    assert is_valid_credit_code("91110108551385082q".upper())


def test_region_part_must_be_digits() -> None:
    # Positions 3-8 are the GB/T 2260 division code.
    code = make_credit_code("91A50100M000100Y4")
    assert len(code) == 18
    assert not is_valid_credit_code(code)


def test_make_credit_code_completes_valid_codes() -> None:
    for code in REAL_CODES:
        assert make_credit_code(code[:17]) == code


def test_alphabet_has_31_characters_without_confusable_letters() -> None:
    assert len(ALPHABET) == 31
    assert len(set(ALPHABET)) == 31
    assert set("IOSVZ").isdisjoint(ALPHABET)
