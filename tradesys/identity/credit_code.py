"""统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    if len(code) != 18 or any(ch not in ALPHABET for ch in code):
        return False
    # Positions 3-8 are the GB/T 2260 administrative division code: digits only.
    if not code[2:8].isdigit():
        return False
    return check_character(code[:17]) == code[17]


def make_credit_code(first17: str) -> str:
    """Complete 17 characters with their check character (for demos and tests)."""
    return first17 + check_character(first17)
