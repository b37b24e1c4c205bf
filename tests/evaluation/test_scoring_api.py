"""Evaluation through the API, on both back ends: the scheme, who reads the bids, the review,
an abnormally low price explained and decided, clarifications, signed score sheets, a member
replaced (their work void), the result — and every refusal with nothing changed."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.evaluation.conftest import Pool
from tests.evaluation.scoring import (
    COMPREHENSIVE,
    draw_committee,
    evaluation_events,
    keys_for,
    opened_section,
    signed_sheet,
    sitting,
)
from tests.support import Flow, Party, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock, isoformat_utc
from tradesys.evaluation import sheets
from tradesys.opening import confirmation
from tradesys.services import Services

PRICES = {"bidder1": "9100000.00", "bidder2": "9050000.00", "bidder3": "9200000.00",
          "bidder4": "5000000.00"}
#: Every member's scores (T1, T2, B1) per bidder, unless a test says otherwise.
STANDARD = {"bidder1": ("30", "15", "8"), "bidder2": ("28", "14", "7"),
            "bidder3": ("35", "18", "9"), "bidder4": ("20", "10", "5")}


def _scores(bids: dict[str, str], table: dict[str, tuple[str, str, str]] = STANDARD
            ) -> dict[str, dict[str, str]]:
    return {bids[k]: dict(zip(("T1", "T2", "B1"), v, strict=True)) for k, v in table.items()}


async def _all_pass(client: httpx.AsyncClient, url: str, member: Party, bids: dict[str, str],
                    **fail: str) -> None:
    verdicts = [{"bid_id": bid, "item": item, "passed": fail.get(key) != item,
                 "reason": "不符合" if fail.get(key) == item else "符合要求"}
                for key, bid in bids.items()
                for item in ("signed_sealed", "qualified", "single_offer", "responsive")]
    response = await client.post(f"{url}/verdicts", headers=member.auth,
                                 json={"verdicts": verdicts})
    assert response.status_code == 200, response.text


async def test_the_whole_comprehensive_evaluation(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,
        clock: AdjustableClock, app: Starlette) -> None:
    opened = await opened_section(client, flow, seed, clock, app, PRICES, COMPREHENSIVE)
    url = f"/api/v1/sections/{opened.section_id}/evaluation"
    bids = opened.bids

    # The scheme is frozen by the notice; anyone who may see the project reads it.
    before = await table_counts(services)
    assert_error(await client.put(f"{url}/scheme", headers=seed.agency.auth,
                                  json=COMPREHENSIVE), 409, "scheme_frozen")
    assert await table_counts(services) == before
    scheme = (await client.get(f"{url}/scheme", headers=seed.bidder1.auth)).json()
    assert scheme["default"] is False and scheme["method"] == "comprehensive"
    assert [c["id"] for c in scheme["compliance"]] == ["signed_sealed", "qualified",
                                                       "single_offer", "responsive"]

    members = await draw_committee(client, seed, pool, opened.section_id)
    outsider = next(p for p in pool.eligible if p not in members)
    expert = members[0]
    assert (await client.get(f"{url}/scheme", headers=expert.auth)).json() == scheme
    assert_error(await client.get(f"{url}/scheme", headers=outsider.auth), 404,
                 "project_not_found")

    # Only sitting members read the bids: not bidders, the host, outsiders, nor anonymous.
    for who in (seed.bidder1, seed.agency, seed.supervisor, outsider, seed.admin):
        assert_error(await client.get(f"{url}/bids", headers=who.auth), 403, "not_a_sitting_member")
    assert_error(await client.get(f"{url}/bids"), 401)
    # A member of this section is not a member of the project's other section.
    assert_error(await client.get(
        f"/api/v1/sections/{opened.other_section_id}/evaluation/bids", headers=expert.auth),
        409, "opening_record_not_published")
    listed = await client.get(f"{url}/bids", headers=expert.auth)
    assert listed.status_code == 200, listed.text
    items = {i["bid_id"]: i for i in listed.json()["items"]}
    assert {i["summary"]["price"] for i in items.values()} == set(PRICES.values())
    # 5,000,000 < 80% of the others' mean (9,116,666.67 × 0.8 = 7,293,333.33).
    assert [k for k, b in bids.items() if items[b]["abnormally_low"]] == ["bidder4"]
    assert not any(i["above_ceiling"] for i in items.values())

    # The review: every member, every bid, every item. Bad verdicts change nothing.
    before = await table_counts(services)
    good = {"bid_id": bids["bidder1"], "item": "qualified", "passed": True, "reason": "ok"}
    for body, status, code in [
        ({**good, "item": "T1"}, 422, "unknown_item"),
        ({**good, "bid_id": "A" * 22}, 422, "bid_not_in_section"),
        ({**good, "reason": ""}, 422, "validation_failed"),
    ]:
        assert_error(await client.post(f"{url}/verdicts", headers=expert.auth,
                                       json={"verdicts": [body]}), status, code)
    assert_error(await client.post(f"{url}/verdicts", headers=expert.auth,
                                   json={"verdicts": [good, good]}), 422, "duplicate_verdict")
    assert_error(await client.post(f"{url}/verdicts", headers=outsider.auth,
                                   json={"verdicts": [good]}), 403, "not_a_sitting_member")
    assert await table_counts(services) == before
    # Two of five fail bidder3 on ``responsive``: a minority, so it stays compliant.
    for n, member in enumerate(members):
        await _all_pass(client, url, member, bids, **({"bidder3": "responsive"} if n < 2 else {}))

    # The result waits for the explanation and the sheets.
    assert_error(await client.get(f"{url}/result", headers=seed.agency.auth), 409,
                 "evaluation_incomplete")

    # The abnormally low price: asked, answered by its bidder only, in time; decided by vote.
    low = f"{url}/bids/{bids['bidder4']}/explanation"
    before = await table_counts(services)
    assert_error(await client.post(f"{url}/bids/{bids['bidder1']}/explanation",
                                   headers=seed.agency.auth, json={"question": "?"}), 409,
                 "not_abnormally_low")
    assert_error(await client.post(low, headers=seed.bidder4.auth, json={"question": "?"}),
                 403, "not_host_or_member")
    assert await table_counts(services) == before
    asked = await client.post(low, headers=expert.auth,
                              json={"question": "请说明报价明显低于其他投标人的原因"})
    assert asked.status_code == 201, asked.text
    assert asked.json()["deadline"] == isoformat_utc(clock.now() + timedelta(hours=24))
    before = await table_counts(services)
    assert_error(await client.post(low, headers=seed.agency.auth, json={"question": "again"}),
                 409, "explanation_requested")
    assert_error(await client.post(f"{low}/votes", headers=expert.auth,
                                   json={"accept": True, "reason": "x"}), 409,
                 "explanation_pending")
    for other in (seed.bidder1, seed.bidder2):
        assert_error(await client.post(f"{low}/answer", headers=other.auth,
                                       json={"answer": "冒充"}), 404, "explanation_not_found")
        assert_error(await client.get(low, headers=other.auth), 404, "explanation_not_found")
    assert_error(await client.post(f"{low}/answer", headers=expert.auth,
                                   json={"answer": "x"}), 403, "role_forbidden")
    assert await table_counts(services) == before
    clock.advance(timedelta(hours=2))
    answered = await client.post(f"{low}/answer", headers=seed.bidder4.auth,
                                 json={"answer": "自有工厂，材料成本低，附成本分析"})
    assert answered.status_code == 200, answered.text
    assert "votes" not in answered.json()  # the bidder does not see the committee's votes
    assert_error(await client.post(f"{low}/answer", headers=seed.bidder4.auth,
                                   json={"answer": "again"}), 409, "explanation_answered")
    for n, member in enumerate(members):
        vote = await client.post(f"{low}/votes", headers=member.auth,
                                 json={"accept": n != 4, "reason": "成本分析合理"})
        assert vote.status_code == 200, vote.text
        assert vote.json()["decision"] == ("accepted" if n >= 2 else None)
    assert_error(await client.post(f"{low}/votes", headers=expert.auth,
                                   json={"accept": False, "reason": "x"}), 409, "already_voted")

    # A clarification: a message beside the bid, never a change to it.
    clar = f"{url}/bids/{bids['bidder2']}/clarifications"
    asked = await client.post(clar, headers=seed.agency.auth, json={"question": "请澄清工期"})
    assert asked.status_code == 201 and asked.json()["number"] == 1, asked.text
    assert_error(await client.get(clar, headers=seed.bidder1.auth), 404, "bid_not_found")
    assert_error(await client.post(f"{clar}/1/answer", headers=seed.bidder1.auth,
                                   json={"answer": "x"}), 404, "bid_not_found")
    done = await client.post(f"{clar}/1/answer", headers=seed.bidder2.auth,
                             json={"answer": "工期300日历天；报价调整为8000000元"})
    assert done.status_code == 200, done.text
    assert_error(await client.post(f"{clar}/1/answer", headers=seed.bidder2.auth,
                                   json={"answer": "x"}), 409, "clarification_answered")
    assert_error(await client.post(f"{clar}/2/answer", headers=seed.bidder2.auth,
                                   json={"answer": "x"}), 404, "clarification_not_found")
    seen = (await client.get(clar, headers=seed.bidder2.auth)).json()["items"]
    assert [c["answer"] for c in seen] == ["工期300日历天；报价调整为8000000元"]
    relisted = {i["bid_id"]: i for i in (await client.get(f"{url}/bids", headers=expert.auth))
                .json()["items"]}
    assert relisted[bids["bidder2"]]["summary"]["price"] == "9050000.00"

    # Signed score sheets. Every bad sheet is refused with nothing changed.
    keys = await keys_for(client, members)
    sha = scheme["sha256"]
    key = keys[expert.user_id]
    scores = _scores(bids)
    before = await table_counts(services)

    def bad(change: dict[str, Any]) -> dict[str, Any]:
        table = json.loads(json.dumps(scores))
        table.update(change)
        return signed_sheet(key, opened, sha, table)

    b1 = bids["bidder1"]
    refusals: list[tuple[Party, dict[str, Any], int, str]] = [
        (expert, bad({b1: {"T1": "40.01", "T2": "15", "B1": "8"}}), 422, "score_out_of_range"),
        (expert, bad({b1: {"T1": "30", "T2": "15", "B1": "1.5"}}), 422, "score_out_of_range"),
        (expert, bad({b1: {"T1": "30", "T2": "15", "B1": "8", "X9": "1"}}), 422,
         "unknown_criterion"),
        (expert, bad({b1: {"T1": "30", "T2": "15"}}), 422, "sheet_incomplete"),
        (expert, bad({"Z" * 22: {"T1": "1", "T2": "1", "B1": "2"}}), 422, "bid_not_in_section"),
        (expert, {**signed_sheet(key, opened, sha, scores), "key_id": keys[
            members[1].user_id].key_id}, 422, "no_signing_key"),
        (expert, {**signed_sheet(key, opened, sha, scores), "scores": _scores(
            bids, {**STANDARD, "bidder1": ("40", "20", "10")})}, 422, "bad_signature"),
        (expert, {**signed_sheet(key, opened, "0" * 64, scores)}, 422, "bad_signature"),
        (outsider, signed_sheet(key, opened, sha, scores), 403, "not_a_sitting_member"),
        (expert, {**signed_sheet(key, opened, sha, scores), "scores": {
            b1: {"T1": "3.333", "T2": "1", "B1": "2"}}}, 422, "validation_failed"),
    ]
    short = {bid: row for bid, row in scores.items() if bid != bids["bidder2"]}
    refusals.append((expert, signed_sheet(key, opened, sha, short), 422, "sheet_incomplete"))
    for who, body, status, code in refusals:
        assert_error(await client.post(f"{url}/score-sheets", headers=who.auth, json=body),
                     status, code)
    other = f"/api/v1/sections/{opened.other_section_id}/evaluation/score-sheets"
    assert (await client.post(other, headers=expert.auth, json=signed_sheet(
        key, opened, sha, _scores(bids)))).status_code in (403, 409)
    assert await table_counts(services) == before

    # The first member scores bidder1's T1 at 35 (the others 30): the mean is 31.00. The
    # member who will withdraw scores bidder2 at full marks.
    leaving = members[1]
    for member in members:
        table = dict(STANDARD)
        if member is expert:
            table["bidder1"] = ("35", "15", "8")
        if member is leaving:
            table["bidder2"] = ("40", "20", "10")
        body = signed_sheet(keys[member.user_id], opened, sha, _scores(bids, table))
        submitted = await client.post(f"{url}/score-sheets", headers=member.auth, json=body)
        assert submitted.status_code == 201, submitted.text
        document = sheets.message(opened.section_code, sha, member.user_id, body["scores"])
        assert submitted.json()["sha256"] == hashlib.sha256(document).hexdigest()
    before = await table_counts(services)
    assert_error(await client.post(f"{url}/score-sheets", headers=expert.auth, json=signed_sheet(
        key, opened, sha, _scores(bids))), 409, "sheet_finalized")
    assert await table_counts(services) == before
    # The event holds the signed sheet, its hash, the key and the signature: checkable alone.
    events = await evaluation_events(services, opened.section_id)
    submitted_events = [p for t, p in events if t == "evaluation.score_sheet_submitted"]
    assert len(submitted_events) == 5
    for payload in submitted_events:
        document = payload["document"].encode()
        assert hashlib.sha256(document).hexdigest() == payload["sha256"]
        assert confirmation.verify(payload["public_key"], document, payload["signature"])

    # The result: benchmark 5,000,000 (bidder4's explanation accepted).
    # | bidder | price score | T1 | T2 | B1 | total | rank |
    # | 3 | 5/9.2 × 30 = 16.30 | 35.00 | 18.00 | 9.00 | 78.30 | 1 |
    # | 1 | 5/9.1 × 30 = 16.48 | 31.00 | 15.00 | 8.00 | 70.48 | 2 |
    # | 2 | 5/9.05 × 30 = 16.57 | 30.40 | 15.20 | 7.60 | 69.77 | 3 |  (with the leaving
    #   member's 40/20/10)
    # | 4 | 30.00 | 20.00 | 10.00 | 5.00 | 65.00 | 4 |
    result = await client.get(f"{url}/result", headers=seed.agency.auth)
    assert result.status_code == 200, result.text
    body = result.json()
    names = {v: k for k, v in bids.items()}
    assert [(names[x["bid_id"]], x["rank"], x["price_score"], x["total"]) for x in
            body["lines"]] == [("bidder3", 1, "16.30", "78.30"), ("bidder1", 2, "16.48", "70.48"),
                               ("bidder2", 3, "16.57", "69.77"), ("bidder4", 4, "30.00", "65.00")]
    assert body["benchmark"] == "5000000.00" and body["failed"] is None
    assert [names[c["bid_id"]] for c in body["candidates"]] == ["bidder3", "bidder1", "bidder2"]
    assert (await client.get(f"{url}/result", headers=expert.auth)).json() == body
    for who in (seed.bidder1, outsider, seed.agency2):
        assert (await client.get(f"{url}/result", headers=who.auth)).status_code in (403, 404)

    # A member withdraws for a conflict: their verdicts, votes and sheet are void (条例
    # Art. 48); the replacement reviews and scores afresh.
    withdrawn = await client.post(f"/api/v1/sections/{opened.section_id}/panel/conflict",
                                  headers=leaving.auth, json={"reason": "与投标人二存在业务往来"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert_error(await client.get(f"{url}/bids", headers=leaving.auth), 403, "not_a_sitting_member")
    incomplete = assert_error(await client.get(f"{url}/result", headers=seed.agency.auth), 409,
                              "evaluation_incomplete")
    assert "seat(s) [2]" in incomplete["message"]
    now_sitting = await sitting(client, seed, pool, opened.section_id)
    newcomer = next(m for m in now_sitting if m not in members)
    await _all_pass(client, url, newcomer, bids)
    new_key = (await keys_for(client, [newcomer]))[newcomer.user_id]
    assert (await client.post(f"{url}/score-sheets", headers=newcomer.auth, json=signed_sheet(
        new_key, opened, sha, _scores(bids)))).status_code == 201
    # bidder2 now: 16.57 + 28 + 14 + 7 = 65.57, below bidder4's 65.00? No: above it.
    body = (await client.get(f"{url}/result", headers=seed.agency.auth)).json()
    assert [(names[x["bid_id"]], x["total"]) for x in body["lines"]] == [
        ("bidder3", "78.30"), ("bidder1", "70.48"), ("bidder2", "65.57"), ("bidder4", "65.00")]
    assert len(body["sheets"]) == 5
    types = [t for t, _ in await evaluation_events(services, opened.section_id)]
    assert types[0] == "evaluation.scheme_set"
    assert {"evaluation.verdicts_recorded", "evaluation.explanation_requested",
            "evaluation.explanation_answered", "evaluation.explanation_voted",
            "evaluation.clarification_requested", "evaluation.clarification_answered",
            "evaluation.score_sheet_submitted"} <= set(types)


async def test_the_scheme_is_set_by_the_host_before_the_notice_and_validated(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services) -> None:
    project = await flow.register()
    section_id, plain = project["sections"][0]["id"], project["sections"][1]["id"]
    url = f"/api/v1/sections/{section_id}/evaluation/scheme"
    before = await table_counts(services)
    criteria = COMPREHENSIVE["criteria"]
    refusals: list[tuple[Party, dict[str, Any], int, str]] = [
        (seed.agency, {**COMPREHENSIVE, "price_weight": "31"}, 422, "bad_scheme"),
        (seed.agency, {**COMPREHENSIVE, "price_weight": None}, 422, "bad_scheme"),
        (seed.agency, {**COMPREHENSIVE, "criteria": [*criteria, {**criteria[0]}]}, 422,
         "bad_scheme"),
        (seed.agency, {**COMPREHENSIVE, "criteria": [{**criteria[0], "min_score": "40"},
                                                     *criteria[1:]]}, 422, "bad_scheme"),
        (seed.agency, {"method": "lowest_price", "price_weight": "30"}, 422, "bad_scheme"),
        (seed.agency, {**COMPREHENSIVE, "price_weight": "30.001"}, 422, "validation_failed"),
        (seed.agency, {**COMPREHENSIVE, "price_weight": 30}, 422, "validation_failed"),
        (seed.agency, {**COMPREHENSIVE, "method": "lottery"}, 422, "validation_failed"),
        (seed.agency, {**COMPREHENSIVE, "criteria": [{**criteria[0], "category": "legal"}]},
         422, "validation_failed"),
        (seed.procurer, COMPREHENSIVE, 403, "not_project_manager"),
        (seed.agency2, COMPREHENSIVE, 404, "project_not_found"),
        (seed.bidder1, COMPREHENSIVE, 404, "project_not_found"),
        (seed.expert, COMPREHENSIVE, 404, "project_not_found"),
    ]
    for who, body, status, code in refusals:
        assert_error(await client.put(url, headers=who.auth, json=body), status, code)
    assert_error(await client.put("/api/v1/sections/999999/evaluation/scheme",
                                  headers=seed.agency.auth, json=COMPREHENSIVE), 404,
                 "section_not_found")
    error = assert_error(await client.put(url, headers=seed.agency.auth, json={
        **COMPREHENSIVE, "price_weight": "31"}), 422, "bad_scheme")
    assert "must sum to 100, not 101" in error["message"]
    assert await table_counts(services) == before

    # Set, then replaced while the project is still only registered; both are events.
    first = await client.put(url, headers=seed.agency.auth, json=COMPREHENSIVE)
    assert first.status_code == 200, first.text
    lowest = await client.put(url, headers=seed.agency.auth, json={
        "method": "lowest_price", "compliance": [{"id": "qualified", "name": "资格"}]})
    assert lowest.status_code == 200, lowest.text
    read = (await client.get(url, headers=seed.procurer.auth)).json()
    assert read == lowest.json() and read["compliance"] == [{"id": "qualified",
                                                               "name": "资格"}]
    assert "criteria" not in read and read["default"] is False
    # A section that never had one: the default (lowest price, the 条例 Art. 51 items).
    default = (await client.get(f"/api/v1/sections/{plain}/evaluation/scheme",
                                headers=seed.agency.auth)).json()
    assert default["default"] is True and default["method"] == "lowest_price"
    assert len(default["compliance"]) == 4
    # Bidders see no registered (unannounced) project.
    assert_error(await client.get(url, headers=seed.bidder1.auth), 404, "project_not_found")
    events = await evaluation_events(services, section_id)
    assert [t for t, _ in events] == ["evaluation.scheme_set"] * 2
    assert events[1][1]["sha256"] == read["sha256"]


async def test_no_reading_before_the_opening_record(
        client: httpx.AsyncClient, seed: Seed, services: Services, pool: Pool,
        published: dict[str, Any]) -> None:
    url = f"/api/v1/sections/{published['section_id']}/evaluation"
    before = await table_counts(services)
    for who in (seed.expert, seed.agency):
        assert_error(await client.get(f"{url}/bids", headers=who.auth), 409,
                     "opening_record_not_published")
    assert_error(await client.post(f"{url}/verdicts", headers=seed.expert.auth, json={
        "verdicts": [{"bid_id": "A" * 22, "item": "qualified", "passed": True,
                      "reason": "x"}]}), 409, "opening_record_not_published")
    assert await table_counts(services) == before


async def test_every_price_above_the_ceiling_fails_the_tender(
        client: httpx.AsyncClient, seed: Seed, services: Services, pool: Pool,
        closed: dict[str, Any]) -> None:
    """The shared opening's prices (about 9 million) are all above its ceiling (950,000):
    every bid is rejected (条例 Art. 51) and the tender fails (法 Art. 42)."""
    section_id = closed["section_id"]
    url = f"/api/v1/sections/{section_id}/evaluation"
    members = await draw_committee(client, seed, pool, section_id)
    items = (await client.get(f"{url}/bids", headers=members[0].auth)).json()["items"]
    assert len(items) == 3 and all(i["above_ceiling"] for i in items)
    assert not any(i["abnormally_low"] for i in items)
    before = await table_counts(services)
    key = (await keys_for(client, members[:1]))[members[0].user_id]
    before = await table_counts(services)
    document = sheets.message(closed["section"]["code"], "0" * 64, members[0].user_id, {})
    assert_error(await client.post(f"{url}/score-sheets", headers=members[0].auth, json={
        "scores": {}, "key_id": key.key_id, "signature": sheets.sign(key.private_key, document)}),
        409, "no_scored_criteria")
    assert await table_counts(services) == before
    result = await client.get(f"{url}/result", headers=members[0].auth)
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["method"] == "lowest_price" and body["failed"] == "all_rejected"
    assert "法 Art. 42" in body["failure"] and body["candidates"] == []
    assert [x["rejected"] for x in body["lines"]] == [["above_ceiling"]] * 3


async def test_an_unexplained_low_price_and_a_failed_review_leave_too_few_bids(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,
        clock: AdjustableClock, app: Starlette) -> None:
    opened = await opened_section(client, flow, seed, clock, app, PRICES, None)
    url = f"/api/v1/sections/{opened.section_id}/evaluation"
    bids = opened.bids
    members = await draw_committee(client, seed, pool, opened.section_id)
    # Three of five fail bidder3 on ``qualified``: a majority rejects it.
    for n, member in enumerate(members):
        await _all_pass(client, url, member, bids, **({"bidder3": "qualified"} if n < 3 else {}))
    low = f"{url}/bids/{bids['bidder4']}/explanation"
    asked = await client.post(low, headers=seed.agency.auth, json={"question": "请说明"})
    assert asked.status_code == 201, asked.text
    # The deadline passes unanswered: the bidder can no longer answer; the panel decides.
    clock.advance(timedelta(hours=24))
    before = await table_counts(services)
    assert_error(await client.post(f"{low}/answer", headers=seed.bidder4.auth,
                                   json={"answer": "迟到的说明"}), 409,
                 "explanation_deadline_passed")
    assert await table_counts(services) == before
    assert_error(await client.get(f"{url}/result", headers=seed.agency.auth), 409,
                 "explanation_undecided")
    for member in members[:3]:
        vote = await client.post(f"{low}/votes", headers=member.auth,
                                 json={"accept": False, "reason": "未在期限内说明"})
        assert vote.status_code == 200, vote.text
    assert vote.json()["decision"] == "rejected"
    seen = (await client.get(low, headers=seed.bidder4.auth)).json()
    assert seen["answer"] is None and "votes" not in seen
    body = (await client.get(f"{url}/result", headers=seed.agency.auth)).json()
    names = {v: k for k, v in bids.items()}
    assert body["failed"] == "too_few_compliant" and "87号令 Art. 43" in body["failure"]
    assert body["candidates"] == []
    assert {names[x["bid_id"]]: x["rejected"] for x in body["lines"]} == {
        "bidder1": [], "bidder2": [], "bidder3": ["compliance:qualified"],
        "bidder4": ["abnormally_low"]}
    assert all(x["rank"] is None for x in body["lines"])
