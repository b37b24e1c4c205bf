"""The evaluation methods against tables computed by hand (the rules: docs/evaluation.md §16)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradesys.errors import Conflict, Invalid
from tradesys.evaluation import scheme as schemes
from tradesys.evaluation.methods import (
    ACCEPTED,
    REJECTED,
    BidFacts,
    abnormally_low,
    evaluate,
    panel_score,
    price_score,
)
from tradesys.evaluation.scheme import Criterion, ReviewItem, Scheme
from tradesys.procurement.kinds import Procedure
from tradesys.procurement.rules import DEFAULT_RULES

RULES = DEFAULT_RULES[Procedure.OPEN]
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
D = Decimal
CEILING = D("1000000")
REVIEW = (ReviewItem("qualified", "资格"), ReviewItem("responsive", "实质性响应"))
COMPREHENSIVE = Scheme(
    method=schemes.COMPREHENSIVE, compliance=REVIEW, price_weight=D(30),
    criteria=(Criterion("T1", "技术方案", "technical", D(40)),
              Criterion("T2", "实施计划", "technical", D(20)),
              Criterion("B1", "业绩", "business", D(10))))


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_price_score_formula() -> None:
    assert price_score(D(800000), D(800000), D(30), 2) == D("30.00")
    assert price_score(D(800000), D(900000), D(30), 2) == D("26.67")  # 26.666…
    assert price_score(D(800000), D(960000), D(30), 2) == D("25.00")
    # Half up, not half even: 1/8 × 1 = 0.125 → 0.13.
    assert price_score(D(1), D(8), D(1), 2) == D("0.13")
    assert price_score(D("1234567.89"), D("1234567.89"), D("60"), 3) == D("60.000")
    with pytest.raises(ValueError):
        price_score(D(1), D(0), D(30), 2)


def test_panel_score_drops_highest_and_lowest_from_seven() -> None:
    seven = [D(s) for s in (1, 5, 6, 7, 8, 9, 20)]
    assert panel_score(seven, 7, 2) == D("7.00")  # (5+6+7+8+9) / 5
    assert panel_score(seven, 0, 2) == D("8.00")  # 56 / 7: the rule off
    six = [D(s) for s in (1, 5, 6, 7, 8, 20)]
    assert panel_score(six, 7, 2) == D("7.83")  # 47 / 6, nothing dropped
    assert panel_score([D("7.65"), D(8), D(8), D(7), D(8)], 7, 2) == D("7.73")


def test_abnormally_low_is_below_a_share_of_the_others_mean() -> None:
    prices = {"A": D(800000), "B": D(900000), "D": D(400000), "E": D(960000)}
    # D: others' mean 886,666.67, 80% = 709,333.33 > 400,000. A: 753,333.33 → 602,666.67.
    assert abnormally_low(prices, 80) == {"D"}
    assert abnormally_low(prices, 40) == set()  # 40% of 886,666.67 = 354,666.67
    assert abnormally_low(prices, 0) == set()
    assert abnormally_low({"A": D(1)}, 80) == set()  # nothing to compare with


def _sheets() -> list[dict[str, dict[str, Decimal]]]:
    """Five experts' sheets: expert n's scores are the n-th of each list."""
    table = {
        "A": {"T1": (30, 32, 31, 29, 33), "T2": (15, 16, 15, 14, 15), "B1": (8, 8, 9, 7, 8)},
        "B": {"T1": (36, 35, 37, 34, 36), "T2": (14, 14, 15, 13, 14),
              "B1": (8, 7, 8, "7.65", 8)},
        "E": {"T1": (38, 36, 37, 35, 36), "T2": (16, 15, 17, 16, 15), "B1": (5, 6, 5, 6, 5)},
        "F": {"T1": (40, 40, 40, 40, 40), "T2": (20, 20, 20, 20, 20), "B1": (10,) * 5},
        "C": {"T1": (40,) * 5, "T2": (20,) * 5, "B1": (10,) * 5},
        "D": {"T1": (40,) * 5, "T2": (20,) * 5, "B1": (10,) * 5},
    }
    return [{bid: {c: D(str(v[n])) for c, v in row.items()} for bid, row in table.items()}
            for n in range(5)]


def _comprehensive_bids(**explanation: str) -> list[BidFacts]:
    return [
        BidFacts("A", D(800000), at(1)),
        BidFacts("B", D(900000), at(2)),
        BidFacts("C", D(1050000), at(3)),  # above the ceiling
        BidFacts("D", D(400000), at(4), explanation=explanation.get("D")),  # abnormally low
        BidFacts("E", D(960000), at(5)),
        BidFacts("F", D(850000), at(6), failed_items=("responsive",)),
    ]


def test_comprehensive_hand_computed_table_with_a_tie() -> None:
    """| bid | price | price score | T1 | T2 | B1 | technical | total | rank |
    | B | 900,000 | 26.67 | 35.60 | 14.00 | 7.73 | 49.60 | 84.00 | 1 (tie: more technical) |
    | A | 800,000 | 30.00 | 31.00 | 15.00 | 8.00 | 46.00 | 84.00 | 2 |
    | E | 960,000 | 25.00 | 36.40 | 15.80 | 5.40 | 52.20 | 82.60 | 3 |
    C above the ceiling, D abnormally low (explanation rejected), F fails ``responsive``."""
    outcome = evaluate(COMPREHENSIVE, _comprehensive_bids(D=REJECTED), _sheets(), CEILING,
                       RULES)
    assert outcome.failed is None and outcome.benchmark == D(800000)
    table = [(x.bid_id, x.rank, x.price_score, x.criteria.get("T1"), x.criteria.get("T2"),
              x.criteria.get("B1"), x.technical, x.business, x.total, x.rejected)
             for x in outcome.lines]
    assert table == [
        ("B", 1, D("26.67"), D("35.60"), D("14.00"), D("7.73"), D("49.60"), D("7.73"),
         D("84.00"), ()),
        ("A", 2, D("30.00"), D("31.00"), D("15.00"), D("8.00"), D("46.00"), D("8.00"),
         D("84.00"), ()),
        ("E", 3, D("25.00"), D("36.40"), D("15.80"), D("5.40"), D("52.20"), D("5.40"),
         D("82.60"), ()),
        ("C", None, None, None, None, None, None, None, None, ("above_ceiling",)),
        ("D", None, None, None, None, None, None, None, None, ("abnormally_low",)),
        ("F", None, None, None, None, None, None, None, None, ("compliance:responsive",)),
    ]
    assert [x.abnormally_low for x in outcome.lines] == [False, False, False, False, True,
                                                         False]
    assert outcome.candidates == ("B", "A", "E")


def test_an_accepted_explanation_keeps_the_low_bid_and_moves_the_benchmark() -> None:
    """D justified: benchmark 400,000. D: 30.00 + 40 + 20 + 10 = 100.00; A: 400/800 × 30 =
    15.00 + 54.00 = 69.00; B: 13.33 + 57.33 = 70.66; E: 12.50 + 57.60 = 70.10."""
    outcome = evaluate(COMPREHENSIVE, _comprehensive_bids(D=ACCEPTED), _sheets(), CEILING,
                       RULES)
    assert outcome.benchmark == D(400000)
    ranked = [(x.bid_id, x.total) for x in outcome.lines if x.rank]
    assert ranked == [("D", D("100.00")), ("B", D("70.66")), ("E", D("70.10")),
                      ("A", D("69.00"))]
    assert outcome.candidates == ("D", "B", "E")


def test_an_undecided_explanation_holds_the_result() -> None:
    with pytest.raises(Conflict) as caught:
        evaluate(COMPREHENSIVE, _comprehensive_bids(), _sheets(), CEILING, RULES)
    assert caught.value.code == "explanation_undecided" and caught.value.details == {
        "bids": ["D"]}
    with pytest.raises(Conflict) as no_sheets:
        evaluate(COMPREHENSIVE, _comprehensive_bids(D=REJECTED), [], CEILING, RULES)
    assert no_sheets.value.code == "no_score_sheets"


def test_equal_totals_and_technical_scores_go_to_the_lower_price_then_the_earlier_bid() -> None:
    flat = Scheme(method=schemes.COMPREHENSIVE, compliance=(), price_weight=D(50),
                  criteria=(Criterion("T", "技术", "technical", D(50)),))
    bids = [BidFacts("late", D(100), at(9)), BidFacts("early", D(100), at(1)),
            BidFacts("dear", D(120), at(0))]
    sheets = [{"late": {"T": D(40)}, "early": {"T": D(40)}, "dear": {"T": D(40)}}]
    outcome = evaluate(flat, bids, sheets, None, RULES)
    # early and late: 50.00 + 40.00 = 90.00; dear: 100/120 × 50 = 41.67 + 40.00 = 81.67.
    assert [(x.bid_id, x.rank, x.total) for x in outcome.lines] == [
        ("early", 1, D("90.00")), ("late", 2, D("90.00")), ("dear", 3, D("81.67"))]
    # Same total, same technical score, different prices: the lower price first.
    tied = Scheme(method=schemes.COMPREHENSIVE, compliance=(), price_weight=D("0.01"),
                  criteria=(Criterion("T", "技术", "technical", D("99.99")),))
    outcome = evaluate(tied, [BidFacts("x", D(1000), at(0)), BidFacts("y", D(999), at(5))],
                       [{"x": {"T": D(50)}, "y": {"T": D(50)}}], None,
                       replace(RULES, min_compliant_bids=1))
    # Both price scores round to 0.01: 999/1000 × 0.01 = 0.00999 → 0.01.
    assert [(x.bid_id, x.total) for x in outcome.lines] == [("y", D("50.01")),
                                                            ("x", D("50.01"))]


def test_lowest_price_hand_computed_table() -> None:
    """| bid | price | received | outcome |
    | P6 | 300,000 | 6 | abnormally low, explanation accepted: rank 1 |
    | P2 | 500,000 | 1 | rank 2 (same price as P1, received earlier) |
    | P1 | 500,000 | 2 | rank 3 |
    | P3 | 520,000 | 3 | rank 4, not a candidate (at most 3) |
    | P4 | 600,000 | 4 | fails ``qualified`` |
    | P5 | 1,200,000 | 5 | above the ceiling |"""
    lowest = Scheme(method=schemes.LOWEST_PRICE, compliance=REVIEW)
    bids = [BidFacts("P1", D(500000), at(2)), BidFacts("P2", D(500000), at(1)),
            BidFacts("P3", D(520000), at(3)),
            BidFacts("P4", D(600000), at(4), failed_items=("qualified",)),
            BidFacts("P5", D(1200000), at(5)),
            BidFacts("P6", D(300000), at(6), explanation=ACCEPTED)]
    outcome = evaluate(lowest, bids, [], CEILING, RULES)
    assert [(x.bid_id, x.rank, x.abnormally_low, x.rejected) for x in outcome.lines] == [
        ("P6", 1, True, ()), ("P2", 2, False, ()), ("P1", 3, False, ()), ("P3", 4, False, ()),
        ("P4", None, False, ("compliance:qualified",)), ("P5", None, False, ("above_ceiling",))]
    assert outcome.candidates == ("P6", "P2", "P1") and outcome.failed is None
    assert all(x.total is None for x in outcome.lines)


def test_the_evaluation_fails_with_too_few_compliant_bids_or_none() -> None:
    lowest = Scheme(method=schemes.LOWEST_PRICE, compliance=REVIEW)
    two = [BidFacts("a", D(500), at(1)), BidFacts("b", D(510), at(2)),
           BidFacts("c", D(520), at(3), failed_items=("qualified", "responsive"))]
    outcome = evaluate(lowest, two, [], None, RULES)
    assert outcome.failed == "too_few_compliant" and outcome.candidates == ()
    assert [x.rank for x in outcome.lines] == [None, None, None]
    assert outcome.lines[2].rejected == ("compliance:qualified", "compliance:responsive")
    # The rule book's minimum: one compliant bid is enough where it says so.
    assert evaluate(lowest, two, [], None, replace(RULES, min_compliant_bids=1)).candidates == (
        "a", "b")
    none = [BidFacts("a", D(2000), at(1)), BidFacts("b", D(500), at(2), failed_items=("q",))]
    outcome = evaluate(lowest, none, [], D(1000), RULES)
    assert outcome.failed == "all_rejected" and outcome.candidates == ()


def test_scheme_validation_names_every_problem() -> None:
    assert schemes.validate(COMPREHENSIVE) is COMPREHENSIVE
    assert schemes.validate(schemes.DEFAULT_SCHEME).method == "lowest_price"
    bad = Scheme(method=schemes.COMPREHENSIVE, compliance=(ReviewItem("T1", "x"),),
                 price_weight=D(30),
                 criteria=(Criterion("T1", "a", "technical", D(40)),
                           Criterion("T2", "b", "legal", D(20)),
                           Criterion("T3", "c", "business", D("9.999"), D(0)),
                           Criterion("T4", "d", "business", D(5), D(5))))
    with pytest.raises(Invalid) as caught:
        schemes.validate(bad)
    found = caught.value.details
    assert caught.value.code == "bad_scheme"
    assert any("duplicate ids: T1" in p for p in found)
    assert any("criterion T2: category" in p for p in found)
    assert any("criterion T3: at most two decimals" in p for p in found)
    assert any("criterion T4: min_score" in p for p in found)
    assert any("must sum to 100, not 104.999" in p for p in found)
    with pytest.raises(Invalid):
        schemes.validate(Scheme(method=schemes.LOWEST_PRICE, compliance=(),
                                price_weight=D(30)))
    # The stored form round-trips and hashes the same.
    again = schemes.from_json(COMPREHENSIVE.as_json())
    assert again == COMPREHENSIVE and again.sha256() == COMPREHENSIVE.sha256()
