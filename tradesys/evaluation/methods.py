"""The evaluation methods as pure arithmetic over the opened bids, the panel's review
conclusions and the experts' score sheets: no database, no clock (docs/evaluation.md §16).

Exact decimal arithmetic throughout. Two values are rounded, each once, half up
(``ROUND_HALF_UP``) to ``score_places`` decimals (rule book, default 2): a bid's price score and
the panel's score of one criterion for one bid. A total is the sum of those rounded parts, so
the parts shown add up to the total shown; ranking compares the totals exactly.

The order of a ranking is total (comprehensive) or price (lowest price); ties are broken, in
this order, by the higher technical score (comprehensive), the lower price, the earlier receipt
of the bid, and finally the bid's public id — so the same inputs always give the same ranking
(87号令 allows a draw; a fixed order is auditable without a seed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from tradesys.errors import Conflict
from tradesys.evaluation.scheme import BUSINESS, COMPREHENSIVE, TECHNICAL, Scheme
from tradesys.procurement.rules import PeriodRules

#: Reasons a bid is rejected (否决投标), as they appear in a result.
ABOVE_CEILING = "above_ceiling"  # 条例 Art. 51: price above the ceiling price
ABNORMALLY_LOW = "abnormally_low"  # 12号令 Art. 21, 87号令 Art. 60: not justified
COMPLIANCE = "compliance:"  # + the review item failed (条例 Art. 51)
#: Why a section's evaluation fails (the tender is re-run).
ALL_REJECTED = "all_rejected"  # 法 Art. 42
TOO_FEW_COMPLIANT = "too_few_compliant"  # 87号令 Art. 43

ACCEPTED, REJECTED = "accepted", "rejected"

#: An expert's sheet: bid id → criterion id → score.
Sheet = Mapping[str, Mapping[str, Decimal]]


@dataclass(frozen=True)
class BidFacts:
    bid_id: str
    price: Decimal
    received_at: datetime
    #: Review items the panel decided the bid fails.
    failed_items: tuple[str, ...] = ()
    #: The panel's decision on an abnormally low price's explanation, if any.
    explanation: str | None = None


@dataclass(frozen=True)
class Line:
    bid_id: str
    price: Decimal
    abnormally_low: bool
    rejected: tuple[str, ...]
    rank: int | None = None
    price_score: Decimal | None = None
    technical: Decimal | None = None
    business: Decimal | None = None
    total: Decimal | None = None
    criteria: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    method: str
    #: Ranked lines first (rank 1, 2, …), then the rejected ones in bid order.
    lines: tuple[Line, ...]
    candidates: tuple[str, ...]
    failed: str | None
    benchmark: Decimal | None


def quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def price_score(benchmark: Decimal, price: Decimal, weight: Decimal, places: int) -> Decimal:
    """87号令 Art. 55: (benchmark ÷ price) × price weight × 100, the weight as a share of 100
    points — that is, (benchmark ÷ price) × the price part's points."""
    if price <= 0:
        raise ValueError("a price score needs a positive price")
    with localcontext() as context:
        context.prec = 60
        return (benchmark / price * weight).quantize(quantum(places), rounding=ROUND_HALF_UP)


def panel_score(scores: Sequence[Decimal], trim_min_experts: int, places: int) -> Decimal:
    """The panel's score of one criterion: the mean of the experts' scores, without one highest
    and one lowest when at least ``trim_min_experts`` experts scored (0: never trimmed)."""
    if not scores:
        raise ValueError("no scores")
    ordered = sorted(scores)
    if trim_min_experts and len(ordered) >= max(trim_min_experts, 3):
        ordered = ordered[1:-1]
    with localcontext() as context:
        context.prec = 60
        mean = sum(ordered, Decimal(0)) / len(ordered)
        return mean.quantize(quantum(places), rounding=ROUND_HALF_UP)


def abnormally_low(prices: Mapping[str, Decimal], percent: int) -> set[str]:
    """Bids priced below ``percent``% of the mean of the other bids' prices (12号令 Art. 21,
    87号令 Art. 60 leave "markedly below" to the rules; the rule book sets the share). Needs at
    least one other price; ``percent`` 0 flags nothing."""
    flagged: set[str] = set()
    if percent <= 0 or len(prices) < 2:
        return flagged
    total = sum(prices.values(), Decimal(0))
    for bid_id, price in prices.items():
        others = (total - price) / (len(prices) - 1)
        if price * 100 < others * percent:
            flagged.add(bid_id)
    return flagged


def within_ceiling(bids: Sequence[BidFacts], ceiling: Decimal | None) -> list[BidFacts]:
    return [b for b in bids if ceiling is None or b.price <= ceiling]


def flagged_low(bids: Sequence[BidFacts], ceiling: Decimal | None, rules: PeriodRules
                ) -> set[str]:
    """The abnormally low prices among the bids within the ceiling: known as soon as the bids
    are open, before the review, so the explanation can be asked for at once."""
    return abnormally_low({b.bid_id: b.price for b in within_ceiling(bids, ceiling)},
                          rules.abnormally_low_percent)


def _rejections(bid: BidFacts, ceiling: Decimal | None, low: set[str]) -> tuple[str, ...]:
    reasons: list[str] = []
    if ceiling is not None and bid.price > ceiling:
        reasons.append(ABOVE_CEILING)
    reasons.extend(COMPLIANCE + item for item in sorted(bid.failed_items))
    if bid.bid_id in low and bid.explanation == REJECTED:
        reasons.append(ABNORMALLY_LOW)
    return tuple(reasons)


def evaluate(scheme: Scheme, bids: Sequence[BidFacts], sheets: Sequence[Sheet],
             ceiling: Decimal | None, rules: PeriodRules) -> Outcome:
    """The section's result. Raises ``Conflict`` when a compliant bid's abnormally low price
    still awaits the panel's decision, or when a comprehensive scheme has no sheets."""
    low = flagged_low(bids, ceiling, rules)
    rejected = {b.bid_id: _rejections(b, ceiling, low) for b in bids}
    compliant = [b for b in bids if not rejected[b.bid_id]]
    pending = sorted(b.bid_id for b in compliant if b.bid_id in low and b.explanation is None)
    if pending:
        raise Conflict("explanation_undecided",
                       "异常低价投标的说明尚待评标委员会决定 (the panel has not yet decided on "
                       "the explanation of an abnormally low price)", details={"bids": pending})
    places = rules.score_places
    benchmark = min((b.price for b in compliant), default=None)
    ranked: list[Line] = []
    if scheme.method == COMPREHENSIVE:
        if compliant and not sheets:
            raise Conflict("no_score_sheets", "尚无评分表 (no score sheet has been submitted)")
        for bid in compliant:
            assert benchmark is not None
            means = {c.id: panel_score([sheet[bid.bid_id][c.id] for sheet in sheets],
                                       rules.score_trim_min_experts, places)
                     for c in scheme.criteria}
            by_category = {cat: sum((means[c.id] for c in scheme.criteria if c.category == cat),
                                    Decimal(0)) for cat in (TECHNICAL, BUSINESS)}
            score = price_score(benchmark, bid.price, scheme.price_weight, places)
            ranked.append(Line(bid.bid_id, bid.price, bid.bid_id in low, (), None, score,
                               by_category[TECHNICAL], by_category[BUSINESS],
                               score + by_category[TECHNICAL] + by_category[BUSINESS], means))
        received = {b.bid_id: b.received_at for b in bids}
        ranked.sort(key=lambda line: (-(line.total or 0), -(line.technical or 0), line.price,
                                      received[line.bid_id], line.bid_id))
    else:
        order = sorted(compliant, key=lambda b: (b.price, b.received_at, b.bid_id))
        ranked = [Line(b.bid_id, b.price, b.bid_id in low, ()) for b in order]
    failed = None
    if not compliant:
        failed = ALL_REJECTED
    elif len(compliant) < rules.min_compliant_bids:
        failed = TOO_FEW_COMPLIANT
    lines = [line if failed else _ranked(line, n) for n, line in enumerate(ranked, 1)]
    lines += [Line(b.bid_id, b.price, b.bid_id in low, rejected[b.bid_id])
              for b in bids if rejected[b.bid_id]]
    candidates = () if failed else tuple(line.bid_id for line in ranked[:rules.max_candidates])
    return Outcome(scheme.method, tuple(lines), candidates, failed, benchmark)


def _ranked(line: Line, rank: int) -> Line:
    return Line(line.bid_id, line.price, line.abnormally_low, line.rejected, rank,
                line.price_score, line.technical, line.business, line.total, line.criteria)
