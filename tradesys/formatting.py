"""How money, times and credit codes are written for people: one formatter each.

Why this exists: the web pages, the opening record, the notices and the reports must show the
same amount the same way (``35,200,000.00 元``), or a bidder comparing a PDF with the screen sees
two different prices. Every rule here has a twin in ``tradesys/static/js/format.js``; both are
checked against one vectors file (``tests/format_vectors.json``) so the two cannot drift.

Rules (docs/documents.md states them for readers):

- **Money** is an exact decimal (``Decimal``, ``int`` or a decimal string; never a float). It is
  shown with thousands separators, at least two decimals and the unit ``元`` (another currency
  by its ISO code). It is **never rounded**: a bid price may carry up to six decimals
  (``bids/summary.py``) and is shown with all its significant ones (``0.125 元``), because a
  rounded price on a signed document would be another price. Negative amounts are shown with a
  leading ``-`` (a difference, a deduction); ``-0`` is ``0.00``. A missing amount is ``—``.
  More than 64 digits is refused (a sanity bound; below it the arithmetic is exact).
- **Capital amounts** (大写, for award notices and contracts) follow the writing rules of the
  People's Bank of China 《支付结算办法》 (附件一《正确填写票据和结算凭证的基本规定》):
  ``壹拾`` not ``拾``; one ``零`` for any run of zeros inside the number and where a 万 or 亿
  section starts with zeros (``10,000,001`` → ``壹仟万零壹元整``); ``整`` after ``元`` or
  ``角``, never after ``分``; a zero 角 before a non-zero 分 is written ``零`` (``1.05`` →
  ``壹元零伍分``), a zero 元 digit before a non-zero 角 is not (``1,680.32`` →
  ``壹仟陆佰捌拾元叁角贰分``, one of the two forms the rules allow); below one 元 there is no
  ``元`` (``0.05`` → ``伍分``); zero is ``零元整``. Negative amounts, amounts finer than 分 and
  amounts of 10¹⁶ 元 or more are refused (``ValueError``).
- **Instants** are shown in Beijing time (Asia/Shanghai): ``2026-03-23 09:00`` in tables
  (optionally with seconds), ``2026年3月23日 09:00`` in documents, and the Beijing calendar
  date as ISO ``2026-03-23``. An instant without a UTC offset is refused: guessing its zone
  would shift every deadline by eight hours.
- **Credit codes** (统一社会信用代码) are 18 characters that must never break across lines: in
  HTML and PDF they sit in ``<span class="credit-code">`` whose style is
  ``white-space: nowrap`` (the shared stylesheet of the documents and the web's CSS).
"""

from __future__ import annotations

import decimal
import re
from datetime import date, datetime
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

__all__ = [
    "BEIJING",
    "capital_amount",
    "credit_code_html",
    "iso_date",
    "long_date",
    "long_instant",
    "money",
    "parse_amount",
    "parse_instant",
    "short_instant",
]

BEIJING = ZoneInfo("Asia/Shanghai")
UNIT = "元"
DASH = "—"
#: The largest amount written in capitals is below 10^16 元 (万亿 is the largest unit used).
CAPITAL_LIMIT = 10**16
#: Digits an amount may have at most (a sanity bound, far above any price: 10^60 元).
MAX_DIGITS = 64

_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
                      r"(Z|[+-][0-9]{2}:[0-9]{2})")
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("仟", "佰", "拾", "")
_CENT = Decimal("0.01")


def parse_amount(value: Decimal | int | str) -> Decimal:
    """An exact, finite amount in 元 (a negative zero loses its sign), or ValueError."""
    if isinstance(value, bool | float):
        raise ValueError("money is an exact decimal, never a float or a bool")
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"not a decimal amount: {value!r}")
        value = Decimal(value)
    elif isinstance(value, int):
        value = Decimal(value)
    elif not isinstance(value, Decimal):
        raise ValueError(f"not an amount: {type(value).__name__}")
    if not value.is_finite():
        raise ValueError("not a finite amount")
    return value + 0 if value == 0 else value


def _exact() -> decimal.Context:
    """Arithmetic that never rounds the amounts it is given: far more digits than any amount
    (the default context's 28 would round a long string, which format.js would not)."""
    return decimal.Context(prec=MAX_DIGITS + 4, traps=[decimal.Inexact, decimal.InvalidOperation])


def _to_cents(amount: Decimal) -> Decimal | None:
    """The amount at two decimals if that is exact, else None."""
    if len(amount.as_tuple().digits) > MAX_DIGITS:
        raise ValueError(f"more than {MAX_DIGITS} digits is not an amount")
    try:
        exact = amount.quantize(_CENT, context=_exact())
    except (decimal.Inexact, decimal.InvalidOperation):
        return None
    return exact if exact == amount else None


def money(value: Decimal | int | str | None, currency: str | None = None) -> str:
    """``Decimal("35200000")`` → ``35,200,000.00 元``; ``"0.125"`` → ``0.125 元`` (never
    rounded); ``None`` → ``—``. A currency other than CNY is written as its ISO code."""
    if value is None:
        return DASH
    amount = parse_amount(value)
    cents = _to_cents(amount)
    if cents is not None:
        text = f"{cents:,.2f}"
    else:
        text = f"{amount.normalize(context=_exact()):,f}"
    return f"{text} {UNIT if currency in (None, 'CNY') else currency}"


def _four(n: int) -> str:
    """1..9999 in capitals: inner zeros as one 零, trailing zeros dropped."""
    text, zero = "", False
    for digit, place in zip(f"{n:04d}", _PLACES, strict=True):
        if digit == "0":
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[int(digit)] + place
    return text


def _whole(n: int) -> str:
    """A positive integer below 10^16 in capitals."""
    for size, unit in ((10**8, "亿"), (10**4, "万")):
        if n >= size:
            high, low = divmod(n, size)
            text = _whole(high) + unit
            if low:
                # A section that starts with zeros is joined by one 零.
                text += ("零" if low < size // 10 else "") + _whole(low)
            return text
    # Below 10^4 only; a leading-zero run inside was handled by the caller.
    return _four(n)


def capital_amount(value: Decimal | int | str) -> str:
    """``35200000`` → ``叁仟伍佰贰拾万元整``; ``0.05`` → ``伍分`` (rules in the module doc)."""
    amount = parse_amount(value)
    if _to_cents(amount) is None:
        raise ValueError(f"{amount} has more than two decimals: capitals stop at 分")
    if amount < 0:
        raise ValueError("a negative amount has no capital form here")
    if amount >= CAPITAL_LIMIT:
        raise ValueError("amount too large for capitals (10^16 元 or more)")
    cents = int(amount * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    text = _whole(yuan) + UNIT if yuan else ""
    if not jiao and not fen:
        return (text or "零" + UNIT) + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    if fen:
        if not jiao and yuan:
            text += "零"
        text += _DIGITS[fen] + "分"
    else:
        text += "整"
    return text


def parse_instant(value: datetime | str) -> datetime:
    """An aware instant from a datetime or an ISO 8601 string with an offset (or ``Z``), in
    the one spelling format.js reads too (``2026-03-23T01:00:00.5Z``)."""
    if isinstance(value, str):
        if not _INSTANT.fullmatch(value):
            raise ValueError(f"not an ISO 8601 instant with an offset: {value!r}")
        try:
            value = datetime.fromisoformat(value)
        except ValueError as error:
            raise ValueError(f"not an ISO 8601 instant: {value!r}") from error
    if not isinstance(value, datetime):
        raise ValueError(f"not an instant: {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("an instant needs a UTC offset")
    return value


def _beijing(value: datetime | str) -> datetime:
    return parse_instant(value).astimezone(BEIJING)


def short_instant(value: datetime | str | None, *, seconds: bool = False) -> str:
    """``2026-03-23 09:00`` (or ``09:00:00``), Beijing time: for tables. ``None`` → ``—``."""
    if value is None:
        return DASH
    moment = _beijing(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def long_instant(value: datetime | str | None) -> str:
    """``2026年3月23日 09:00``, Beijing time: for documents. ``None`` → ``—``."""
    if value is None:
        return DASH
    moment = _beijing(value)
    return f"{long_date(moment.date())} {moment:%H:%M}"


def long_date(value: date | datetime | str) -> str:
    """``2026年3月23日``: a calendar date, or the Beijing date of an instant."""
    day = _day(value)
    return f"{day.year}年{day.month}月{day.day}日"


def iso_date(value: date | datetime | str) -> str:
    """``2026-03-23``: a calendar date, or the Beijing date of an instant."""
    return _day(value).isoformat()


def _day(value: date | datetime | str) -> date:
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value):
        return date.fromisoformat(value)
    if isinstance(value, datetime | str):
        return _beijing(value).date()
    if isinstance(value, date):
        return value
    raise ValueError(f"not a date: {type(value).__name__}")


def credit_code_html(code: str) -> str:
    """The code in a span that never breaks across lines (escaped: it may be user input)."""
    return f'<span class="credit-code">{escape(str(code))}</span>'
