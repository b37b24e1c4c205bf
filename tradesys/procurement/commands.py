"""The validated inputs of workflow commands: the API parses requests straight into these.

Strict models (no type coercion, no unknown fields, timezone-aware instants), so a bad request
is refused at the edge before the domain runs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, WithJsonSchema

from tradesys.procurement.kinds import Category, Procedure, TradeType
from tradesys.strict import LINES, ONE_LINE, Strict

#: Names and titles are one line; descriptions keep their line breaks (tradesys/strict.py).
Text200 = Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]
LongText = Annotated[str, Field(min_length=1, max_length=20000), LINES]


#: Yuan with at most two decimals, as a string.
AMOUNT_PATTERN = r"^[0-9]{1,14}(\.[0-9]{1,2})?$"


def _decimal_string(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not re.fullmatch(AMOUNT_PATTERN, value):
        raise ValueError("amounts are decimal strings such as \"950000.00\" (元)")
    return Decimal(value)


#: Money in yuan as a decimal string: a JSON number would pass through binary floating point.
Amount = Annotated[Decimal, BeforeValidator(_decimal_string),
                   Field(ge=0, max_digits=16, decimal_places=2),
                   # What _decimal_string accepts, as the OpenAPI document states it.
                   WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN,
                                   "examples": ["950000.00"]})]
#: Upper-cased at the edge, as the identity service stores it.
CreditCode = Annotated[str, Field(min_length=18, max_length=18,
                                  json_schema_extra={"pattern": ONE_LINE.pattern}),
                      ONE_LINE, AfterValidator(str.upper)]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


#: An instant with an explicit offset, normalised to UTC at the edge (invariant 1).
Instant = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class SectionIn(Strict):
    name: Text200
    content: LongText
    budget: Amount | None = None
    ceiling_price: Amount | None = Field(default=None, description="最高投标限价")
    bid_security: Amount | None = Field(default=None, description="投标保证金")


class RegisterProject(Strict):
    name: Text200
    trade_type: TradeType
    category: Category
    procedure: Procedure
    region_code: Annotated[str, Field(pattern=r"^[1-9][0-9]{5}$", description="GB/T 2260")]
    content: LongText
    owner_name: Text200 = Field(description="项目业主")
    procurer_credit_code: CreditCode | None = Field(
        default=None, description="招标人的统一社会信用代码 (required when an agency registers)"
    )
    agency_credit_code: CreditCode | None = Field(
        default=None, description="受托代理机构的统一社会信用代码 (when the procurer entrusts one)"
    )
    approval_number: Annotated[str, Field(max_length=100), ONE_LINE] | None = None
    approval_dept_name: Annotated[str, Field(max_length=200), ONE_LINE] | None = None
    supervise_dept_name: Annotated[str, Field(max_length=200), ONE_LINE] | None = None
    sections: Annotated[list[SectionIn], Field(min_length=1, max_length=100)]


class Announce(Strict):
    title: Annotated[str, Field(min_length=1, max_length=300), ONE_LINE]
    content: LongText
    doc_start: Instant
    doc_end: Instant
    clarification_deadline: Instant
    bid_deadline: Instant = Field(description="投标截止时间，即开标时间")
    opening_place: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE] = "网上开标大厅"
    consortium_allowed: bool = False
    contact: Annotated[str, Field(max_length=200), ONE_LINE] | None = None
    opening_key_holders: Annotated[
        list[Annotated[int, Field(ge=1, le=2**31 - 1)]], Field(min_length=2, max_length=9)
    ] = Field(description="开标密钥持有人（用户 id）: the agency host, the procurer's "
              "representative, a supervisor…; each needs a registered holder key")
    opening_threshold: Annotated[int, Field(ge=2, le=9)] = Field(
        default=2, description="开标时需要的份额数 (k of n)")


class AskQuestion(Strict):
    text: Annotated[str, Field(min_length=1, max_length=5000), LINES]


class AnswerQuestion(Strict):
    answer: Annotated[str, Field(min_length=1, max_length=20000), LINES]


class Clarify(Strict):
    title: Annotated[str, Field(min_length=1, max_length=300), ONE_LINE]
    content: LongText
    changes_bid_content: bool
    new_bid_deadline: Instant | None = None
    document_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class Cancel(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=5000), LINES]


class RegisterStandingEntrustment(Strict):
    """Consent in advance to be named on the projects that organisation registers."""

    counterpart_credit_code: CreditCode
