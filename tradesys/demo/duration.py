"""``--demo-opening-in``: how long after ``tradesys serve --demo`` starts the demo opening is.

Strict on purpose: one whole number and one unit (``90s``, ``5m``, ``1h``), nothing else, so that
a typo is a clear error at the command line rather than an opening at a surprising time.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

UNITS = {"s": 1, "m": 60, "h": 3600}
#: The seed seals and submits three bids before the deadline: less than this is not enough.
SHORTEST = timedelta(minutes=1)
#: The other demo tender's deadline is 21 days away; the watchable one comes first.
LONGEST = timedelta(days=1)
DEFAULT = timedelta(minutes=5)

_PATTERN = re.compile(r"([1-9][0-9]{0,5})([smh])")


def parse_opening_in(text: str) -> timedelta:
    """``"5m"`` → 5 minutes; anything else (``5``, ``5 m``, ``1h30m``, ``-5m``, ``0s``, a
    duration outside [1 minute, 1 day]) raises :class:`argparse.ArgumentTypeError`."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: use a whole number and s, m or h (90s, 5m, 1h)")
    value = timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])
    if not SHORTEST <= value <= LONGEST:
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range: the demo opening must be 1m to 24h after start")
    return value
