"""The award's notices from a stage's facts (pure): one award notice to the winner and a
result notice to every other bidder of the report, at one instant; a price the notice cannot
state is refused, never rounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tradesys.award.decision import build
from tradesys.award.models import EvaluationReport
from tradesys.award.stage import Stage
from tradesys.demo.scenario import random_credit_code
from tradesys.documents.notices import Party
from tradesys.errors import Conflict
from tradesys.procurement.kinds import Procedure
from tradesys.procurement.models import Project, Section
from tradesys.procurement.rules import DEFAULT_RULES

NOW = datetime(2026, 3, 30, 2, 0, tzinfo=UTC)


def _stage(prices: list[str]) -> Stage:
    codes = [random_credit_code() for _ in prices]
    body = {
        "bidders": [{"name": f"投标人{n}", "credit_code": code,
                     "price": {"amount": price, "currency": "CNY"}, "compliant": True}
                    for n, (code, price) in enumerate(zip(codes, prices, strict=True), 1)],
        "aggregate": [{"rank": n, "credit_code": code, "score": "80"}
                      for n, code in enumerate(codes, 1)],
        "candidates": [{"rank": n, "credit_code": code} for n, code in enumerate(codes[:3], 1)],
        "committee": [],
    }
    return Stage(Section(code="E3501002026000001001", name="施工"),
                 Project(code="E3501002026000001", name="教学楼", procedure="open"),
                 DEFAULT_RULES[Procedure.OPEN], EvaluationReport(body="{}", sha256="0" * 64), body)


def test_one_award_notice_and_a_result_notice_to_every_other_bidder() -> None:
    stage = _stage(["9100000.00", "9050000.50", "9200000", "9300000.00"])
    procurer = Party(name="招标人", credit_code=random_credit_code())
    winner = stage.candidates[0]
    notices = build(stage, winner, 1, procurer, None, NOW)
    assert [n["kind"] for n in notices] == ["award", "result", "result", "result"]
    assert {n["addressee"]["credit_code"] for n in notices} == {
        b["credit_code"] for b in stage.bidders}
    assert {n["winner"]["credit_code"] for n in notices} == {winner["credit_code"]}
    assert {n["issued_at"] for n in notices} == {"2026-03-30T02:00:00.000000Z"}
    assert notices[0]["contract_days"] == DEFAULT_RULES[Procedure.OPEN].contract_days
    assert notices[0]["document_id"] == f"E3501002026000001001-1-award-{winner['credit_code']}"
    assert build(stage, winner, 1, procurer, None, NOW) == notices  # the same facts, the same


@pytest.mark.parametrize("price", ["9100000.125", "123456789012345.00"])
def test_a_price_the_notice_cannot_state_is_refused(price: str) -> None:
    stage = _stage([price, "9050000.00", "9200000.00"])
    procurer = Party(name="招标人", credit_code=random_credit_code())
    with pytest.raises(Conflict) as refused:
        build(stage, stage.candidates[0], 1, procurer, None, NOW)
    assert refused.value.code == "notice_not_issuable"
