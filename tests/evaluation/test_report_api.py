"""The evaluation report through the API, on both back ends: drafted by the host from the
complete result, a dissent before anyone signs, members' signatures with their own keys, a
refusal recorded after the rule book's hours, final; who reads it; every refusal changes
nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

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
)
from tests.support import Flow, Party, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.documents import evaluation_report as documents
from tradesys.opening import confirmation
from tradesys.services import Services

PRICES = {"bidder1": "9100000.00", "bidder2": "9050000.00", "bidder3": "9200000.00"}
SCORES = {"bidder1": ("30", "15", "8"), "bidder2": ("28", "14", "7"),
          "bidder3": ("35", "18", "9")}


async def _review(client: httpx.AsyncClient, url: str, member: Party,
                  bids: dict[str, str]) -> None:
    verdicts = [{"bid_id": bid, "item": item, "passed": True, "reason": "符合要求"}
                for bid in bids.values()
                for item in ("signed_sealed", "qualified", "single_offer", "responsive")]
    response = await client.post(f"{url}/verdicts", headers=member.auth,
                                 json={"verdicts": verdicts})
    assert response.status_code == 200, response.text


async def test_report_drafted_dissented_signed_refused_final(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,
        clock: AdjustableClock, app: Starlette) -> None:
    opened = await opened_section(client, flow, seed, clock, app, PRICES, COMPREHENSIVE)
    url = f"/api/v1/sections/{opened.section_id}/evaluation"
    members = await draw_committee(client, seed, pool, opened.section_id)
    keys = await keys_for(client, members)
    for member in members:
        await _review(client, url, member, opened.bids)
    sha = (await client.get(f"{url}/scheme", headers=seed.agency.auth)).json()["sha256"]
    scores = {opened.bids[k]: dict(zip(("T1", "T2", "B1"), v, strict=True))
              for k, v in SCORES.items()}

    # Not before the result is complete: one member has not scored yet.
    for member in members[:-1]:
        sent = await client.post(f"{url}/score-sheets", headers=member.auth,
                                 json=signed_sheet(keys[member.user_id], opened, sha, scores))
        assert sent.status_code == 201, sent.text
    before = await table_counts(services)
    assert_error(await client.post(f"{url}/report", headers=seed.agency.auth), 409,
                 "evaluation_incomplete")
    assert_error(await client.get(f"{url}/report", headers=seed.agency.auth), 409,
                 "report_not_drafted")
    assert_error(await client.post(f"{url}/report/signatures", headers=members[0].auth,
                                   json={"key_id": keys[members[0].user_id].key_id,
                                         "signature": "A" * 86}), 409, "report_not_drafted")
    assert await table_counts(services) == before
    last = members[-1]
    sent = await client.post(f"{url}/score-sheets", headers=last.auth,
                             json=signed_sheet(keys[last.user_id], opened, sha, scores))
    assert sent.status_code == 201, sent.text

    # Only the host drafts; a member, a bidder cannot.
    before = await table_counts(services)
    for who, status, code in [(members[0], 403, "not_project_manager"),
                              (seed.bidder1, 403, "not_project_manager")]:
        assert_error(await client.post(f"{url}/report", headers=who.auth), status, code)
    assert await table_counts(services) == before
    drafted = await client.post(f"{url}/report", headers=seed.agency.auth)
    assert drafted.status_code == 201, drafted.text
    report = drafted.json()["report"]
    assert documents.check_report(report) == []
    names = {v: k for k, v in opened.bids.items()}
    codes = {b["credit_code"]: b["name"] for b in report["bidders"]}
    assert [c["rank"] for c in report["candidates"]] == [1, 2, 3]
    outcome = (await client.get(f"{url}/result", headers=seed.agency.auth)).json()
    assert [codes[c["credit_code"]] for c in report["candidates"]] == [
        c["bidder"] for c in outcome["candidates"]]
    assert [(a["credit_code"], a["score"]) for a in report["aggregate"]] == [
        (x["credit_code"], x["total"]) for x in sorted(outcome["lines"], key=lambda x: x["rank"])]
    assert len(report["committee"]) == 5 and report["signatures"] == []
    assert len(report["scores"]) == 5 * 3
    assert len(codes) == 3 and set(names) == set(opened.bids.values())
    assert_error(await client.post(f"{url}/report", headers=seed.agency.auth), 409,
                 "report_exists")

    # Readers: the host, the procurer, members, supervisors; not bidders or outsiders.
    outsider = next(p for p in pool.eligible if p not in members)
    for who in (seed.agency, seed.procurer, members[1], seed.supervisor):
        assert (await client.get(f"{url}/report", headers=who.auth)).status_code == 200
    for who in (seed.bidder1, outsider, seed.agency2):
        assert (await client.get(f"{url}/report", headers=who.auth)).status_code in (403, 404)
    pdf = await client.get(f"{url}/report.pdf", headers=seed.procurer.auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await client.get(f"{url}/report.pdf", headers=seed.bidder1.auth)).status_code == 403

    # A dissent (before signing) becomes part of the report and changes its SHA-256.
    dissent = await client.post(f"{url}/report/dissent", headers=members[1].auth,
                                json={"opinion": "技术分偏高", "reasons": "投标人三施工方案不完整"})
    assert dissent.status_code == 200, dissent.text
    body = dissent.json()
    assert body["report"]["dissent"] == [{"member_id": "seat-2", "opinion": "技术分偏高",
                                          "reasons": "投标人三施工方案不完整"}]
    assert body["sha256"] != drafted.json()["sha256"]
    assert body["sha256"] == documents.body_sha256(body["report"])

    # A signature over the old body, with another's key, or by an outsider: refused.
    def signature(member: Party, report: dict) -> dict[str, str]:  # type: ignore[type-arg]
        seat = next(m["member_id"] for m, p in zip(report["committee"], members, strict=True)
                    if p is member)
        message = documents.signing_message(report, seat)
        return {"key_id": keys[member.user_id].key_id,
                "signature": confirmation.sign(keys[member.user_id].private_key, message)}

    current = body["report"]
    before = await table_counts(services)
    assert_error(await client.post(f"{url}/report/signatures", headers=members[0].auth,
                                   json=signature(members[0], report)), 422, "bad_signature")
    assert_error(await client.post(f"{url}/report/signatures", headers=members[0].auth,
                                   json=signature(members[2], current)), 422, "no_signing_key")
    assert_error(await client.post(f"{url}/report/signatures", headers=outsider.auth,
                                   json=signature(members[0], current)), 403,
                 "not_a_sitting_member")
    assert await table_counts(services) == before
    for member in members[:3]:
        signed = await client.post(f"{url}/report/signatures", headers=member.auth,
                                   json=signature(member, current))
        assert signed.status_code == 200, signed.text
    assert signed.json()["final"] is False

    before = await table_counts(services)
    assert_error(await client.post(f"{url}/report/signatures", headers=members[0].auth,
                                   json=signature(members[0], current)), 409, "report_answered")
    assert_error(await client.post(f"{url}/report/dissent", headers=members[4].auth,
                                   json={"opinion": "x", "reasons": "y"}), 409, "signing_started")
    # A refusal only after the rule book's hours, and only by the host.
    assert_error(await client.post(f"{url}/report/refusals", headers=seed.agency.auth,
                                   json={"seat": 4}), 409, "signing_period_open")
    clock.advance(timedelta(hours=24))
    assert_error(await client.post(f"{url}/report/refusals", headers=members[0].auth,
                                   json={"seat": 4}), 403, "not_project_manager")
    assert_error(await client.post(f"{url}/report/refusals", headers=seed.agency.auth,
                                   json={"seat": 1}), 409, "report_answered")
    assert await table_counts(services) == before
    refused = await client.post(f"{url}/report/refusals", headers=seed.agency.auth,
                                json={"seat": 4})
    assert refused.status_code == 200, refused.text
    assert refused.json()["final"] is False
    # The page shows when the period ends: the rule book's hours after the draft.
    drafted_at = datetime.fromisoformat(refused.json()["drafted_at"])
    assert (datetime.fromisoformat(refused.json()["sign_until"])
            == drafted_at + timedelta(hours=24))
    signed = await client.post(f"{url}/report/signatures", headers=members[4].auth,
                               json=signature(members[4], current))
    assert signed.status_code == 200, signed.text
    final = signed.json()
    assert final["final"] is True
    statuses = {s["member_id"]: s["status"] for s in final["report"]["signatures"]}
    assert statuses == {"seat-1": "signed", "seat-2": "signed", "seat-3": "signed",
                        "seat-4": "refused", "seat-5": "signed"}
    assert documents.check_report(final["report"]) == []
    # Every signature verifies offline against the member's public key in its event.
    events = await evaluation_events(services, opened.section_id)
    signed_events = [p for t, p in events if t == "evaluation.report_signed"]
    assert len(signed_events) == 4
    for payload in signed_events:
        assert confirmation.verify(payload["public_key"], payload["message"].encode(),
                                   payload["signature"])
        assert json.loads(payload["message"])["body_sha256"] == final["sha256"]
    kinds = [t for t, _ in events if t.startswith("evaluation.report_")]
    assert kinds == ["evaluation.report_drafted", "evaluation.report_dissent",
                     *["evaluation.report_signed"] * 3, "evaluation.report_refused",
                     "evaluation.report_signed", "evaluation.report_final"]


async def test_a_failed_tender_is_reported_with_no_candidates(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,
        clock: AdjustableClock, app: Starlette) -> None:
    """Lowest evaluated price (the default scheme); three of five members fail bidder3, so too
    few compliant bids remain: the report records the failure, with no candidates."""
    opened = await opened_section(client, flow, seed, clock, app, PRICES, None)
    url = f"/api/v1/sections/{opened.section_id}/evaluation"
    members = await draw_committee(client, seed, pool, opened.section_id)
    for n, member in enumerate(members):
        verdicts = [{"bid_id": bid, "item": item,
                     "passed": not (n < 3 and key == "bidder3" and item == "qualified"),
                     "reason": "审查"}
                    for key, bid in opened.bids.items()
                    for item in ("signed_sealed", "qualified", "single_offer", "responsive")]
        sent = await client.post(f"{url}/verdicts", headers=member.auth,
                                 json={"verdicts": verdicts})
        assert sent.status_code == 200, sent.text
    drafted = await client.post(f"{url}/report", headers=seed.agency.auth)
    assert drafted.status_code == 201, drafted.text
    report = drafted.json()["report"]
    assert documents.check_report(report) == []
    assert report["candidates"] == [] and report["method"] == "lowest_evaluated_price"
    assert sorted(b["compliant"] for b in report["bidders"]) == [False, True, True]
    events = await evaluation_events(services, opened.section_id)
    assert [p["failed"] for t, p in events if t == "evaluation.report_drafted"] == [
        "too_few_compliant"]
