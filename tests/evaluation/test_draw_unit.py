"""The pure parts of the committee draw: the draw function, avoidance, the rule-book checks."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter

import pytest

from tradesys.errors import Invalid
from tradesys.evaluation import avoidance
from tradesys.evaluation.composition import check_composition
from tradesys.evaluation.draw import commitment, draw
from tradesys.procurement.kinds import Procedure
from tradesys.procurement.rules import DEFAULT_RULES

SEED = bytes(range(32))
POOL = [41, 7, 19, 3, 88, 23, 56, 12, 30, 64]


def test_same_seed_same_panel_whatever_the_pool_order() -> None:
    first = draw(SEED, POOL, 5)
    assert first == draw(SEED, list(reversed(POOL)), 5)
    assert len(set(first)) == 5 and set(first) <= set(POOL)


def test_a_different_seed_gives_a_different_panel() -> None:
    panels = {tuple(draw(bytes([n]) * 32, POOL, 5)) for n in range(20)}
    assert len(panels) > 15


def test_the_documented_algorithm_reproduces_independently() -> None:
    """docs/evaluation.md §4, implemented again here from the text alone."""
    def blocks():  # type: ignore[no-untyped-def]
        counter = 0
        while True:
            mac = hmac.new(SEED, b"tradesys-draw-v1" + counter.to_bytes(8, "big"),
                           hashlib.sha256).digest()
            yield int.from_bytes(mac[:8], "big")
            counter += 1
    stream = blocks()
    items = sorted(POOL)
    for i in range(5):
        m = len(items) - i
        while True:
            x = next(stream)
            if x < 2**64 - 2**64 % m:
                break
        j = i + x % m
        items[i], items[j] = items[j], items[i]
    assert draw(SEED, POOL, 5) == items[:5]
    assert commitment(SEED) == hashlib.sha256(SEED).hexdigest()


def test_every_expert_is_drawn_about_equally_often() -> None:
    counts: Counter[int] = Counter()
    for n in range(2000):
        counts.update(draw(n.to_bytes(32, "big"), POOL, 3))
    # 600 expected per expert; a fair draw stays well within ±25 %.
    assert all(450 < counts[expert] < 750 for expert in POOL), counts


def test_the_draw_refuses_impossible_input() -> None:
    with pytest.raises(ValueError):
        draw(SEED, [1, 2], 3)
    with pytest.raises(ValueError):
        draw(b"short", POOL, 1)


BIDDER = avoidance.Party(10, "91350100M000100Y43")
PROCURER = avoidance.Party(20, "91350100M0001FYP1B")
AGENCY = avoidance.Party(30, "91350100M00030001X")
SUPERVISOR = avoidance.Party(40, "91350100M00040001X")
PARTIES = avoidance.Parties(bidders=(BIDDER,), procurer=PROCURER, agency=AGENCY,
                            supervisors=(SUPERVISOR,))


def expert(user_id: int, org_id: int = 99, ties: tuple[str, ...] = (),
           specialties: tuple[str, ...] = ("A01",), region: str = "350100",
           active: bool = True) -> avoidance.Candidate:
    return avoidance.Candidate(user_id, org_id, frozenset(specialties), region,
                               frozenset(ties), active)


def test_avoidance_drops_everyone_with_an_interest() -> None:
    candidates = [
        expert(1), expert(2, org_id=10), expert(3, ties=(BIDDER.credit_code,)),
        expert(4, org_id=20), expert(5, ties=(PROCURER.credit_code,)), expert(6, org_id=40),
        expert(7, ties=(SUPERVISOR.credit_code,)), expert(8, org_id=30),
        expert(9, specialties=("B02",)), expert(10, active=False), expert(11, region="110000"),
        expert(12), expert(13),
    ]
    result = avoidance.screen(candidates, PARTIES, avoidance.Criteria(
        specialties=frozenset({"A01"}), regions=frozenset({"350100"}),
        excluded=frozenset({13})))
    assert result.eligible == (1, 12)
    assert result.avoided == {2: "bidder_org", 3: "bidder_tie", 4: "procurer_org",
                              5: "procurer_tie", 6: "supervisor_org", 7: "supervisor_tie",
                              8: "agency_org"}


def test_composition_follows_the_rule_book() -> None:
    rules = DEFAULT_RULES[Procedure.OPEN]
    assert check_composition(5, 1, rules) == 4
    assert check_composition(7, 2, rules) == 5
    for size, reps in ((4, 0), (6, 0), (3, 0), (5, 2), (9, 4)):
        with pytest.raises(Invalid) as refused:
            check_composition(size, reps, rules)
        assert refused.value.code == "panel_rules_broken"
        assert "法 Art. 37" in refused.value.message
    from dataclasses import replace
    relaxed = replace(rules, panel_min_size=3, panel_size_odd=False,
                      panel_min_expert_numerator=1, panel_min_expert_denominator=2)
    assert check_composition(4, 2, relaxed) == 2
