"""The evaluation scheme of a section (评标办法): the method, its scored criteria and the
pass/fail review items, fixed in the tender documents before anyone bids.

Pure: no database. The API parses a scheme with pydantic and hands it here as plain values;
:func:`validate` states every broken rule at once (weights must sum to 100, ranges, unique ids).
A section without a scheme of its own is evaluated with :data:`DEFAULT_SCHEME`: the lowest
evaluated price (经评审的最低投标价法) with the review items every tender has (条例 Art. 51), so a
project registered before schemes existed keeps working and never gains scores nobody announced.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradesys.errors import Invalid
from tradesys.events.canonical import canonical_json

LOWEST_PRICE = "lowest_price"  # 经评审的最低投标价法
COMPREHENSIVE = "comprehensive"  # 综合评估法
METHODS = (LOWEST_PRICE, COMPREHENSIVE)
TECHNICAL, BUSINESS = "technical", "business"
CATEGORIES = (TECHNICAL, BUSINESS)
#: The whole score of a comprehensive scheme: the price weight plus every criterion's maximum.
FULL_MARKS = Decimal(100)
#: Expert scores and maxima carry at most this many decimals (0.01 points).
SCORE_EXPONENT = Decimal("0.01")


@dataclass(frozen=True)
class Criterion:
    """A subjectively scored criterion: each expert gives ``min_score``..``max_score``."""

    id: str
    name: str
    category: str
    max_score: Decimal
    min_score: Decimal = Decimal(0)


@dataclass(frozen=True)
class ReviewItem:
    """A pass/fail qualification or compliance item (资格/符合性审查); failing it rejects."""

    id: str
    name: str


@dataclass(frozen=True)
class Scheme:
    method: str
    compliance: tuple[ReviewItem, ...]
    #: Points of the price part (comprehensive only): the lowest compliant price gets all of it.
    price_weight: Decimal = Decimal(0)
    criteria: tuple[Criterion, ...] = field(default_factory=tuple)

    def criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)

    def as_json(self) -> dict[str, Any]:
        """The canonical form: stored, logged, hashed, and signed over by the experts."""
        body: dict[str, Any] = {
            "method": self.method,
            "compliance": [{"id": r.id, "name": r.name} for r in self.compliance],
        }
        if self.method == COMPREHENSIVE:
            body["price_weight"] = str(self.price_weight)
            body["criteria"] = [
                {"id": c.id, "name": c.name, "category": c.category,
                 "max_score": str(c.max_score), "min_score": str(c.min_score)}
                for c in self.criteria]
        return body

    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.as_json())).hexdigest()


#: 条例 Art. 51: the grounds for rejection every tender reviews, whatever its documents say
#: (the price ceiling and an unjustified abnormally low price are checked by the platform).
DEFAULT_COMPLIANCE = (
    ReviewItem("signed_sealed", "投标文件按要求签署、盖章 (signed and sealed as required)"),
    ReviewItem("qualified", "投标人具备规定的资格条件 (the bidder meets the qualifications)"),
    ReviewItem("single_offer", "未提交两个以上不同的投标报价 (one bid, one price)"),
    ReviewItem("responsive", "实质性响应招标文件 (responds to the substantive requirements)"),
)
DEFAULT_SCHEME = Scheme(method=LOWEST_PRICE, compliance=DEFAULT_COMPLIANCE)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def from_json(data: dict[str, Any]) -> Scheme:
    """The stored canonical form back into a :class:`Scheme` (it was validated when set)."""
    return Scheme(
        method=data["method"],
        compliance=tuple(ReviewItem(r["id"], r["name"]) for r in data["compliance"]),
        price_weight=_decimal(data.get("price_weight", "0")),
        criteria=tuple(Criterion(c["id"], c["name"], c["category"], _decimal(c["max_score"]),
                                 _decimal(c.get("min_score", "0")))
                       for c in data.get("criteria", [])))


def problems(scheme: Scheme) -> list[str]:
    """Every rule the scheme breaks, in Chinese and English; empty when it is sound."""
    found: list[str] = []
    if scheme.method not in METHODS:
        found.append(f"评标方法无效 (unknown method {scheme.method!r})")
    ids = [r.id for r in scheme.compliance] + [c.id for c in scheme.criteria]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        found.append(f"评审项编号重复 (duplicate ids: {', '.join(duplicates)})")
    if scheme.method == LOWEST_PRICE:
        if scheme.criteria or scheme.price_weight:
            found.append("经评审的最低投标价法不设评分项和价格权重 (the lowest evaluated price "
                         "method has no scored criteria and no price weight)")
        return found
    if not Decimal(0) < scheme.price_weight <= FULL_MARKS:
        found.append("价格分值须大于 0 且不超过 100 (the price weight must be in (0, 100])")
    for c in scheme.criteria:
        if c.category not in CATEGORIES:
            found.append(f"评分项 {c.id} 类别无效 (criterion {c.id}: category must be "
                         "technical or business)")
        if not Decimal(0) < c.max_score <= FULL_MARKS:
            found.append(f"评分项 {c.id} 满分须大于 0 (criterion {c.id}: max_score must be in "
                         "(0, 100])")
        if not Decimal(0) <= c.min_score < c.max_score:
            found.append(f"评分项 {c.id} 最低分须不小于 0 且小于满分 (criterion {c.id}: "
                         "min_score must be at least 0 and below max_score)")
        for value in (c.max_score, c.min_score):
            if value != value.quantize(SCORE_EXPONENT):
                found.append(f"评分项 {c.id} 分值最多两位小数 (criterion {c.id}: at most two "
                             "decimals)")
                break
    if scheme.price_weight != scheme.price_weight.quantize(SCORE_EXPONENT):
        found.append("价格分值最多两位小数 (the price weight has at most two decimals)")
    total = scheme.price_weight + sum((c.max_score for c in scheme.criteria), Decimal(0))
    if total != FULL_MARKS:
        found.append(f"价格分与各评分项满分之和须为 100，现为 {total} (the price weight and the "
                     f"criteria's maxima must sum to 100, not {total})")
    return found


def validate(scheme: Scheme) -> Scheme:
    found = problems(scheme)
    if found:
        raise Invalid("bad_scheme", "；".join(found), details=found)
    return scheme
