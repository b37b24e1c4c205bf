"""Publicity, objections and the award through the API, on both back ends: the candidates of
the final report published (no committee names), an objection during the publicity and its
answer, the end of the publicity by the scheduler, the award with its signed notices (each only
for its addressee, verified offline), the result announcement naming the committee; every
refusal is a clear 4xx that changes nothing."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from tests.award.conftest import award_events, drafted_report, sign, sign_all
from tests.evaluation.conftest import Pool
from tests.support import Flow, Seed, assert_error, table_counts
from tradesys.cli import main as cli
from tradesys.clock import AdjustableClock, isoformat_utc
from tradesys.documents.notices import verify_notice
from tradesys.services import Services
from tradesys.signatures import load_public_pem


def _expert_names(report: dict) -> list[str]:  # type: ignore[type-arg]
    return [m["name"] for m in report["committee"] if m["seat"] == "expert"]


async def _notice_text(client: httpx.AsyncClient, notice_id: int) -> str:
    response = await client.get(f"/api/v1/notices/{notice_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    return f"{body['title']}\n{body['content']}"


async def test_publicity_objection_award_and_notices(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,
        clock: AdjustableClock, app: Starlette, tmp_path: Path) -> None:
    reported = await drafted_report(client, flow, seed, clock, app, pool)
    section = f"/api/v1/sections/{reported.section_id}"
    codes = {b["credit_code"]: b["name"] for b in reported.report["bidders"]}
    candidates = [c["credit_code"] for c in reported.report["candidates"]]
    assert len(candidates) == 3 and len(codes) == 4
    outsider = next(c for c in codes if c not in candidates)
    party_of = {p.credit_code: p for p in seed.parties.values() if p.role == "bidder"}

    # Not before the report is final (drafted, partly signed): nothing is published.
    url = f"{section}/evaluation"
    first = reported.members[0]
    signed = await sign(client, url, first, reported.keys[first.user_id], reported.report,
                        reported.members)
    assert signed.status_code == 200, signed.text
    before = await table_counts(services)
    assert_error(await client.post(f"{section}/publicity", headers=seed.agency.auth), 409,
                 "report_not_final")
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth, json={}), 409,
                 "report_not_final")
    assert_error(await client.get(f"{section}/publicity"), 404, "publicity_not_found")
    # An outsider learns nothing of the state: refused for who it is, before anything else.
    assert_error(await client.post(f"{section}/publicity", headers=seed.agency2.auth), 403,
                 "not_project_manager")
    assert_error(await client.get(f"{section}/award", headers=seed.agency2.auth), 403,
                 "not_a_bidder")
    assert_error(await client.get(f"{section}/objections", headers=seed.expert.auth), 403,
                 "not_objection_reader")
    assert await table_counts(services) == before
    for member in reported.members[1:]:
        signed = await sign(client, url, member, reported.keys[member.user_id],
                            reported.report, reported.members)
        assert signed.status_code == 200, signed.text
    assert signed.json()["final"] is True

    # Only the host publishes.
    before = await table_counts(services)
    for who in (seed.procurer, seed.agency2, seed.bidder1, first):
        assert_error(await client.post(f"{section}/publicity", headers=who.auth), 403,
                     "not_project_manager")
    assert await table_counts(services) == before
    published = await client.post(f"{section}/publicity", headers=seed.agency.auth)
    assert published.status_code == 201, published.text
    body = published.json()
    assert [c["credit_code"] for c in body["candidates"]] == candidates
    assert [c["rank"] for c in body["candidates"]] == [1, 2, 3]
    assert body["ended"] is False and body["late"] is False
    assert body["ends_at"] == isoformat_utc(clock.now() + timedelta(days=3))
    assert_error(await client.post(f"{section}/publicity", headers=seed.agency.auth), 409,
                 "publicity_exists")
    # Public: the publicity and the notice name the candidates, never the committee.
    public = await client.get(f"{section}/publicity")
    assert public.status_code == 200 and public.json()["candidates"] == body["candidates"]
    listed = (await client.get("/api/v1/notices")).json()["items"]
    assert [n["kind"] for n in listed if n["id"] == body["notice_id"]] == ["candidates"]
    text = await _notice_text(client, body["notice_id"])
    assert all(codes[c] in text for c in candidates) and codes[outsider] not in text
    assert _expert_names(reported.report) and not any(
        name in text for name in _expert_names(reported.report))

    # The award waits for the end of the publicity.
    before = await table_counts(services)
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth, json={}), 409,
                 "publicity_running")
    assert await table_counts(services) == before

    # A bidder of the section objects; others cannot.
    objector = party_of[candidates[1]]
    for who in (seed.agency2, seed.procurer, seed.supervisor):
        assert_error(await client.post(f"{section}/objections", headers=who.auth,
                                       json={"text": "异议"}), 403, "not_a_bidder")
    assert await table_counts(services) == before
    raised = await client.post(f"{section}/objections", headers=objector.auth,
                               json={"text": "第一名的业绩证明不实"})
    assert raised.status_code == 201, raised.text
    assert raised.json()["number"] == 1 and raised.json()["answer"] is None
    mine = await client.get(f"{section}/objections", headers=objector.auth)
    assert [o["text"] for o in mine.json()["items"]] == ["第一名的业绩证明不实"]
    others = await client.get(f"{section}/objections", headers=party_of[candidates[0]].auth)
    assert others.json()["items"] == []
    assert (await client.get(f"{section}/objections", headers=seed.procurer.auth)).json()[
        "items"][0]["number"] == 1

    # The scheduler ends the publicity after the rule's 3 days.
    clock.advance(timedelta(days=3))
    await app.state.scheduler.run_once()
    assert (await client.get(f"{section}/publicity")).json()["ended"] is True

    # After it: no more objections; while one is open: no award; not to a non-candidate.
    before = await table_counts(services)
    assert_error(await client.post(f"{section}/objections", headers=party_of[outsider].auth,
                                   json={"text": "迟到的异议"}), 409, "publicity_ended")
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth, json={}), 409,
                 "objection_pending")
    assert_error(await client.post(f"{section}/objections/1/answer", headers=objector.auth,
                                   json={"answer": "x"}), 403, "not_host_or_procurer")
    assert_error(await client.post(f"{section}/objections/9/answer", headers=seed.procurer.auth,
                                   json={"answer": "x"}), 404, "objection_not_found")
    assert await table_counts(services) == before
    answered = await client.post(f"{section}/objections/1/answer", headers=seed.procurer.auth,
                                 json={"answer": "经核查，业绩证明属实，维持评标结果"})
    assert answered.status_code == 200, answered.text
    assert_error(await client.post(f"{section}/objections/1/answer", headers=seed.agency.auth,
                                   json={"answer": "again"}), 409, "objection_answered")

    before = await table_counts(services)
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth,
                                   json={"credit_code": outsider}), 422, "not_a_candidate")
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth,
                                   json={"credit_code": seed.procurer.credit_code}), 422,
                 "not_a_candidate")
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth,
                                   json={"credit_code": candidates[1]}), 422, "reason_required")
    for who in (seed.procurer, seed.agency2, objector):
        assert_error(await client.post(f"{section}/award", headers=who.auth, json={}), 403,
                     "not_project_manager")
    assert await table_counts(services) == before

    # The award: the first-ranked candidate; every notice at once.
    awarded = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert awarded.status_code == 201, awarded.text
    state = awarded.json()
    [first_round] = state["awards"]
    assert first_round["credit_code"] == candidates[0] and first_round["status"] == "awarded"
    notices = first_round["notices"]
    assert sorted((n["kind"], n["addressee"]) for n in notices) == sorted(
        [("award", candidates[0])] + [("result", c) for c in codes if c != candidates[0]])
    assert len({n["issued_at"] for n in notices}) == 1
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth, json={}), 409,
                 "already_awarded")

    # Each notice downloads only for its addressee; it verifies offline.
    key_pem = (await client.get("/api/v1/receipts/key")).content
    (tmp_path / "platform.pem").write_bytes(key_pem)
    for notice in notices:
        addressee = party_of[notice["addressee"]]
        base = f"/api/v1/award-notices/{notice['id']}"
        data = await client.get(f"{base}/notice.json", headers=addressee.auth)
        signature = await client.get(f"{base}/notice.json.sig", headers=addressee.auth)
        assert data.status_code == 200 and signature.status_code == 200
        assert verify_notice(data.content, signature.text, load_public_pem(key_pem))[0]
        assert data.json()["addressee"]["credit_code"] == notice["addressee"]
        assert data.json()["winner"]["credit_code"] == candidates[0]
        assert len(base64.b64decode(signature.text)) == 64
        if notice["kind"] == "award":
            (tmp_path / "n.json").write_bytes(data.content)
            (tmp_path / "n.json.sig").write_bytes(signature.content)
            pdf = await client.get(f"{base}/notice.pdf", headers=addressee.auth)
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
            assert data.json()["title"] == "中标通知书" and data.json()["contract_days"] == 30
    assert cli(["verify", "notice", str(tmp_path / "n.json"), str(tmp_path / "n.json.sig"),
                "--key", str(tmp_path / "platform.pem")]) == 0
    (tmp_path / "n.json").write_bytes((tmp_path / "n.json").read_bytes().replace(
        b"\"contract_days\":30", b"\"contract_days\":60"))
    assert cli(["verify", "notice", str(tmp_path / "n.json"), str(tmp_path / "n.json.sig"),
                "--key", str(tmp_path / "platform.pem")]) == 1

    # Nobody else gets a notice: another bidder, the host, the procurer, anonymous.
    award_notice = next(n for n in notices if n["kind"] == "award")
    base = f"/api/v1/award-notices/{award_notice['id']}"
    for who in (objector, seed.agency, seed.procurer, party_of[outsider]):
        for suffix in ("notice.json", "notice.json.sig", "notice.pdf"):
            assert_error(await client.get(f"{base}/{suffix}", headers=who.auth), 404,
                         "notice_not_found")
    assert (await client.get(f"{base}/notice.json")).status_code == 401
    # A bidder's view of the award lists its own notice only.
    own = (await client.get(f"{section}/award", headers=objector.auth)).json()
    assert own["own_credit_code"] == candidates[1]
    assert own["project_id"] == reported.opened.project_id
    assert (await client.get(f"{section}/award", headers=seed.agency.auth)).json()[
        "own_credit_code"] is None
    assert [n["addressee"] for n in own["awards"][0]["notices"]] == [candidates[1]]

    # The result announcement is public and now names the committee.
    text = await _notice_text(client, first_round["notice_id"])
    assert codes[candidates[0]] in text
    assert all(name in text for name in _expert_names(reported.report))

    kinds = [t for t, _ in await award_events(services, reported.section_id)]
    assert kinds == ["award.evaluation_reported", "award.publicity_published",
                     "award.objection_raised",
                     "award.publicity_ended", "award.objection_answered", "award.awarded",
                     "award.notice_issued"]
    [event] = [p for t, p in await award_events(services, reported.section_id)
               if t == "award.awarded"]
    assert sorted(n["sha256"] for n in event["notices"]) == sorted(n["sha256"] for n in notices)


async def test_declining_winners_then_a_failed_tender(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,
        clock: AdjustableClock, app: Starlette) -> None:
    reported = await drafted_report(client, flow, seed, clock, app, pool)
    await sign_all(client, reported)
    section = f"/api/v1/sections/{reported.section_id}"
    candidates = [c["credit_code"] for c in reported.report["candidates"]]
    party_of = {p.credit_code: p for p in seed.parties.values() if p.role == "bidder"}
    assert (await client.post(f"{section}/publicity", headers=seed.agency.auth)).status_code == 201
    clock.advance(timedelta(days=3))
    await app.state.scheduler.run_once()

    before = await table_counts(services)
    assert_error(await client.post(f"{section}/award/decline", headers=seed.agency.auth,
                                   json={"reason": "x"}), 409, "not_awarded")
    assert await table_counts(services) == before
    first = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert first.status_code == 201, first.text
    # Only the winner or the host records the decline.
    before = await table_counts(services)
    for who in (party_of[candidates[1]], seed.procurer, seed.agency2):
        assert_error(await client.post(f"{section}/award/decline", headers=who.auth,
                                       json={"reason": "不签"}), 403, "not_winner_or_host")
    assert await table_counts(services) == before
    declined = await client.post(f"{section}/award/decline", headers=party_of[candidates[0]].auth,
                                 json={"reason": "无法按期提交履约保证金"})
    assert declined.status_code == 200, declined.text
    assert declined.json()["awards"][0]["status"] == "declined"
    assert declined.json()["failed"] is None
    before = await table_counts(services)
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth,
                                   json={"credit_code": candidates[0]}), 409,
                 "candidate_declined")
    assert await table_counts(services) == before
    # The next candidate, by default; new notices; then the host records its decline too.
    second = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert second.status_code == 201, second.text
    rounds = second.json()["awards"]
    assert [(a["round"], a["credit_code"]) for a in rounds] == [(1, candidates[0]),
                                                               (2, candidates[1])]
    assert {n["kind"] for n in rounds[1]["notices"]} == {"award", "result"}
    assert next(n for n in rounds[1]["notices"] if n["kind"] == "award")["addressee"] == \
        candidates[1]
    ok = await client.post(f"{section}/award/decline", headers=seed.agency.auth,
                           json={"reason": "中标人书面放弃"})
    assert ok.status_code == 200, ok.text
    third = await client.post(f"{section}/award", headers=seed.agency.auth, json={})
    assert third.status_code == 201 and third.json()["awards"][2]["credit_code"] == candidates[2]
    last = await client.post(f"{section}/award/decline", headers=party_of[candidates[2]].auth,
                             json={"reason": "放弃"})
    assert last.status_code == 200, last.text
    failed = last.json()["failed"]
    assert failed["reason"] == "all_declined"
    text = await _notice_text(client, failed["notice_id"])
    assert "招标失败" in text
    before = await table_counts(services)
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth, json={}), 409,
                 "tender_failed")
    assert await table_counts(services) == before
    kinds = [t for t, _ in await award_events(services, reported.section_id)]
    assert kinds == ["award.evaluation_reported", "award.publicity_published",
                     "award.publicity_ended",
                     *["award.awarded", "award.notice_issued", "award.declined"] * 3,
                     "award.failed"]


@pytest.mark.parametrize("failing", [frozenset({"bidder3"})])
async def test_a_report_without_candidates_fails_the_tender(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,
        clock: AdjustableClock, app: Starlette, failing: frozenset[str]) -> None:
    """Lowest evaluated price; bidder3 fails the review: two compliant bids, fewer than the
    rule book's three, so the report names no candidate: no publicity, a failed tender."""
    reported = await drafted_report(client, flow, seed, clock, app, pool, failing=failing,
                                    scheme=None)
    assert reported.report["candidates"] == []
    section = f"/api/v1/sections/{reported.section_id}"
    before = await table_counts(services)
    assert_error(await client.post(f"{section}/award/failure", headers=seed.agency.auth), 409,
                 "report_not_final")
    assert await table_counts(services) == before
    await sign_all(client, reported)
    before = await table_counts(services)
    assert_error(await client.post(f"{section}/publicity", headers=seed.agency.auth), 409,
                 "no_candidates")
    assert_error(await client.post(f"{section}/award/failure", headers=seed.procurer.auth), 403,
                 "not_project_manager")
    assert await table_counts(services) == before
    recorded = await client.post(f"{section}/award/failure", headers=seed.agency.auth)
    assert recorded.status_code == 201, recorded.text
    failed = recorded.json()["failed"]
    assert failed["reason"] == "too_few_compliant"
    assert "招标失败" in await _notice_text(client, failed["notice_id"])
    before = await table_counts(services)
    assert_error(await client.post(f"{section}/award/failure", headers=seed.agency.auth), 409,
                 "tender_failed")
    assert_error(await client.post(f"{section}/award", headers=seed.agency.auth, json={}), 409,
                 "tender_failed")
    assert await table_counts(services) == before
    assert [t for t, _ in await award_events(services, reported.section_id)] == ["award.failed"]


async def test_only_a_granted_supervisor_follows_the_report_and_the_award(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,
        clock: AdjustableClock, app: Starlette) -> None:
    """Supervision follows jurisdiction: once the admin takes the project's grant back, its
    supervisor reads neither the committee, the report, the objections nor the award."""
    reported = await drafted_report(client, flow, seed, clock, app, pool)
    await sign_all(client, reported)
    section = f"/api/v1/sections/{reported.section_id}"
    published = await client.post(f"{section}/publicity", headers=seed.agency.auth, json={})
    assert published.status_code == 201, published.text
    reads = (f"{section}/panel", f"{section}/evaluation/report", f"{section}/objections",
             f"{section}/award")
    for url in reads:
        response = await client.get(url, headers=seed.supervisor.auth)
        assert response.status_code == 200, (url, response.text)
    project_id = reported.opened.project_id
    revoked = await client.delete(
        f"/api/v1/projects/{project_id}/supervisors/{seed.supervisor.org_id}",
        headers=seed.admin.auth)
    assert revoked.status_code in (200, 204), revoked.text
    for url in reads:
        response = await client.get(url, headers=seed.supervisor.auth)
        assert response.status_code in (403, 404), (url, response.text)
