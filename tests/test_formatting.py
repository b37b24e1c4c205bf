"""The formatters (tradesys/formatting.py) against the vectors format.js is checked against too,
plus the cases only Python has (Decimal and int inputs, floats refused, datetimes)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradesys.formatting import (
    capital_amount,
    credit_code_html,
    iso_date,
    long_date,
    long_instant,
    money,
    short_instant,
)
from tradesys.identity.credit_code import is_valid_credit_code

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "format_vectors.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("amount", "shown"), VECTORS["money"])
def test_money(amount: str | None, shown: str) -> None:
    assert money(amount) == shown


@pytest.mark.parametrize(("amount", "currency", "shown"), VECTORS["money_currency"])
def test_money_currency(amount: str, currency: str, shown: str) -> None:
    assert money(amount, currency) == shown


@pytest.mark.parametrize("amount", VECTORS["money_refused"])
def test_money_refused(amount: str) -> None:
    with pytest.raises(ValueError):
        money(amount)


@pytest.mark.parametrize(("amount", "capitals"), VECTORS["capital"])
def test_capital(amount: str, capitals: str) -> None:
    assert capital_amount(amount) == capitals


@pytest.mark.parametrize("amount", VECTORS["capital_refused"])
def test_capital_refused(amount: str) -> None:
    with pytest.raises(ValueError):
        capital_amount(amount)


@pytest.mark.parametrize(("instant", "seconds", "shown"), VECTORS["short_instant"])
def test_short_instant(instant: str | None, seconds: bool, shown: str) -> None:
    assert short_instant(instant, seconds=seconds) == shown


@pytest.mark.parametrize(("instant", "shown"), VECTORS["long_instant"])
def test_long_instant(instant: str | None, shown: str) -> None:
    assert long_instant(instant) == shown


@pytest.mark.parametrize(("value", "shown"), VECTORS["iso_date"])
def test_iso_date(value: str, shown: str) -> None:
    assert iso_date(value) == shown


@pytest.mark.parametrize(("value", "shown"), VECTORS["long_date"])
def test_long_date(value: str, shown: str) -> None:
    assert long_date(value) == shown


@pytest.mark.parametrize("instant", VECTORS["instant_refused"])
def test_instant_refused(instant: str) -> None:
    for formatter in (short_instant, long_instant, iso_date):
        with pytest.raises(ValueError):
            formatter(instant)


@pytest.mark.parametrize("value", VECTORS["date_refused"])
def test_date_refused(value: str) -> None:
    for formatter in (iso_date, long_date):
        with pytest.raises(ValueError):
            formatter(value)


@pytest.mark.parametrize(("code", "html"), VECTORS["credit_code"])
def test_credit_code(code: str, html: str) -> None:
    assert credit_code_html(code) == html


@pytest.mark.parametrize(("code", "valid"), VECTORS["credit_code_valid"])
def test_credit_code_validity(code: str, valid: bool) -> None:
    # format.js isValidCreditCode is checked against the same cases in the browser.
    assert is_valid_credit_code(code) is valid


def test_python_values() -> None:
    """Decimal and int are the same amounts as their strings; a float or bool is never money."""
    assert money(Decimal("35200000")) == money(35200000) == "35,200,000.00 元"
    assert money(Decimal("-0")) == "0.00 元"
    assert capital_amount(Decimal("10000001.00")) == "壹仟万零壹元整"
    for wrong in (0.05, True, Decimal("NaN"), Decimal("Infinity"), [1]):
        with pytest.raises(ValueError):
            money(wrong)  # type: ignore[arg-type]
    # Exact however long: the default decimal context (28 digits) would have rounded these.
    assert money(Decimal("1E+40")) == "10" + ",000" * 13 + ".00 元"
    assert money(Decimal("1234567890123456789012345678901.123")) == (
        "1,234,567,890,123,456,789,012,345,678,901.123 元")


def test_datetimes() -> None:
    moment = datetime(2026, 3, 23, 1, 0, tzinfo=UTC)
    assert long_instant(moment) == "2026年3月23日 09:00"
    assert short_instant(moment.astimezone(timezone(timedelta(hours=-5)))) == "2026-03-23 09:00"
    assert iso_date(date(2026, 3, 23)) == long_date(date(2026, 3, 23)).replace(
        "年", "-0").replace("月", "-").replace("日", "")
    with pytest.raises(ValueError):
        long_instant(datetime(2026, 3, 23, 1, 0))  # naive: which zone? refused


def test_every_capital_round_trips_its_digits() -> None:
    """Reading the capitals back (a small independent parser) gives the amount: the 零 rules
    never drop or add a digit, over a spread of awkward amounts."""
    digits = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
    places = {"拾": 10, "佰": 100, "仟": 1000}

    def read(text: str) -> Decimal:
        text = text.removesuffix("整")
        yuan_text, _, cents_text = text.partition("元") if "元" in text else ("", "", text)
        total, section, number = 0, 0, 0
        for ch in yuan_text:
            if ch in digits:
                number = digits[ch]
            elif ch in places:
                section += number * places[ch]
                number = 0
            elif ch == "万":
                section = (section + number) * 10**4
                total += section
                section = number = 0
            elif ch == "亿":
                total = (total + section + number) * 10**8
                section = number = 0
        total += section + number
        jiao = fen = 0
        if "角" in cents_text:
            jiao = digits[cents_text[cents_text.index("角") - 1]]
        if "分" in cents_text:
            fen = digits[cents_text[cents_text.index("分") - 1]]
        return Decimal(total) + Decimal(jiao) / 10 + Decimal(fen) / 100

    amounts = ["10000001", "100010000", "1000100000000", "1000000000005", "1001000", "10.05",
               "1680.32", "107000.53", "0.05", "20304050607.08", "9000000000009.90"]
    for amount in amounts:
        assert read(capital_amount(amount)) == Decimal(amount), (amount, capital_amount(amount))
