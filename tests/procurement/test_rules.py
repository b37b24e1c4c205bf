"""Pure rules on periods and amendments (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tradesys.errors import Invalid
from tradesys.procurement.kinds import Procedure
from tradesys.procurement.rules import (
    DEFAULT_RULES,
    KeyTimes,
    RuleBook,
    check_amendment,
    check_key_times,
)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
OPEN = DEFAULT_RULES[Procedure.OPEN]


def times(deadline: float = 21, doc_end: float = 7, questions: float = 10,
          doc_start: float = 0) -> KeyTimes:
    d = timedelta(days=1)
    return KeyTimes(NOW + doc_start * d, NOW + doc_end * d, NOW + questions * d,
                    NOW + deadline * d)


def test_a_lawful_open_tender_passes() -> None:
    check_key_times(times(), OPEN, NOW)
    check_key_times(times(deadline=20, doc_end=5, questions=10), OPEN, NOW)


@pytest.mark.parametrize("kwargs, code", [
    ({"deadline": -1}, "impossible_dates"),
    ({"doc_end": 0}, "impossible_dates"),
    ({"doc_end": 25}, "impossible_dates"),
    ({"questions": 22}, "impossible_dates"),
    ({"doc_start": -3}, "impossible_dates"),
    ({"deadline": 19.9}, "period_too_short"),
    ({"doc_end": 4.9}, "period_too_short"),
    ({"questions": 11.5}, "period_too_short"),
])
def test_impossible_or_short_periods_are_refused(kwargs: dict[str, float], code: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_key_times(times(**kwargs), OPEN, NOW)
    assert caught.value.code == code
    assert caught.value.message


def test_shorter_procedures_have_shorter_minimums() -> None:
    rules = DEFAULT_RULES[Procedure.COMPETITIVE_NEGOTIATION]
    check_key_times(times(deadline=3, doc_end=3, questions=2), rules, NOW)
    with pytest.raises(Invalid):
        check_key_times(times(deadline=3, doc_end=3, questions=2), OPEN, NOW)


def test_amendment_changing_content_needs_fifteen_days_or_a_moved_deadline() -> None:
    deadline = NOW + timedelta(days=14)
    with pytest.raises(Invalid) as caught:
        check_amendment(changes_bid_content=True, current_deadline=deadline, new_deadline=None,
                        rules=OPEN, now=NOW)
    assert caught.value.code == "amendment_too_late"
    with pytest.raises(Invalid):
        check_amendment(changes_bid_content=True, current_deadline=deadline,
                        new_deadline=NOW + timedelta(days=14, hours=23), rules=OPEN, now=NOW)
    check_amendment(changes_bid_content=True, current_deadline=deadline,
                    new_deadline=NOW + timedelta(days=15), rules=OPEN, now=NOW)
    check_amendment(changes_bid_content=False, current_deadline=deadline, new_deadline=None,
                    rules=OPEN, now=NOW)
    check_amendment(changes_bid_content=True, current_deadline=NOW + timedelta(days=16),
                    new_deadline=None, rules=OPEN, now=NOW)


def test_amendment_cannot_pull_the_deadline_earlier_or_come_after_it() -> None:
    deadline = NOW + timedelta(days=20)
    with pytest.raises(Invalid) as caught:
        check_amendment(changes_bid_content=False, current_deadline=deadline,
                        new_deadline=deadline - timedelta(days=1), rules=OPEN, now=NOW)
    assert caught.value.code == "deadline_not_later"
    with pytest.raises(Invalid) as caught:
        check_amendment(changes_bid_content=False, current_deadline=NOW, new_deadline=None,
                        rules=OPEN, now=NOW)
    assert caught.value.code == "deadline_passed"


def test_rules_file_overrides_named_values_only(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"open": {"min_days_amendment_before_deadline": 10}}))
    book = RuleBook.from_file(str(path))
    assert book.for_procedure(Procedure.OPEN).min_days_amendment_before_deadline == 10
    assert book.for_procedure(Procedure.OPEN).min_days_documents_to_deadline == 20
    path.write_text(json.dumps({"open": {"no_such_rule": 1}}))
    with pytest.raises(ValueError, match="no_such_rule"):
        RuleBook.from_file(str(path))
