"""Contract facts (合同要素): what the award step hands to contract generation.

Why a plain value: like ``AwardFacts`` for the notices, contracts are generated from a
validated value, so the award step only has to produce it (``contracts.from_award`` reads it
from the standing award, the tender and the winning bid). Price, subject, quality and
duration come from the award and cannot be edited (条例 Art. 57): they are fields of the facts,
fixed for every draft of one contract. Only ``clauses`` (the negotiable terms) change from
draft to draft (:func:`with_clauses`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from tradesys.documents.notices import AWARD_ID, Coded, CreditCode, Name, _amount
from tradesys.strict import ONE_LINE, Strict

__all__ = ["Clause", "ContractFacts", "Party", "TradeType", "with_clauses"]


class TradeType(StrEnum):
    """One contract template per trade type (templates/contract_<value>.html)."""

    WORKS = "works"  #: 工程建设 施工合同
    GOODS = "goods"  #: 政府采购 货物/服务合同


Text = Annotated[str, Field(min_length=1, max_length=4000)]


class Party(Strict):
    """A signing party: the organisation and its credit code (the certificate's
    organizationIdentifier must match it)."""

    name: Name
    credit_code: CreditCode
    representative: Annotated[str, ONE_LINE, Field(min_length=1, max_length=100)] | None = None
    address: Annotated[str, ONE_LINE, Field(max_length=300)] | None = None


class Clause(Strict):
    """A negotiable clause (其他条款): title and text."""

    title: Annotated[str, ONE_LINE, Field(min_length=1, max_length=100)]
    text: Text


class ContractFacts(Strict):
    award_id: Annotated[str, Field(pattern=AWARD_ID)]
    trade_type: TradeType
    project: Coded
    section: Coded
    purchaser: Party  #: 甲方 (招标人/采购人), signs first and certifies
    supplier: Party  #: 乙方 (中标人)
    subject: Text  #: 合同标的 (from the tender documents)
    price: Annotated[str, Field(max_length=20)]
    currency: Annotated[str, Field(pattern=r"^CNY$")] = "CNY"
    duration_days: Annotated[int, Field(ge=1, le=3650)]  #: 工期/交付期 (days)
    quality: Text  #: 质量标准
    clauses: Annotated[list[Clause], Field(default_factory=list, max_length=200)]
    awarded_at: datetime

    @model_validator(mode="after")
    def _consistent(self) -> ContractFacts:
        _amount(self.price)
        if self.purchaser.credit_code == self.supplier.credit_code:
            raise ValueError("合同双方不能是同一单位 (both parties are the same organisation)")
        if self.awarded_at.tzinfo is None:
            raise ValueError("awarded_at needs a timezone")
        return self


def with_clauses(facts: ContractFacts, clauses: list[Clause]) -> ContractFacts:
    """A new draft's facts: only the negotiable clauses change."""
    return facts.model_copy(update={"clauses": list(clauses)})

