"""Amendments of a concluded contract (合同变更) over HTTP, on both back ends: proposed by a party
or the host, refusing the fixed terms, signed by both parties exactly as the contract (the
keys stay on the client side), chained by SHA-256, published, and verified by ``tradesys verify
contract`` as a contract is.

The signers' keys are real P-256 keys standing in for the browser's WebCrypto keys
(tests/contracts/test_http.py's ``http_signer``, ``sign`` and ``refused``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from sqlalchemy import select

from archive.report import Report
from archive.verify_pki import check_pki
from contracts.amendments import Change, apply_changes
from contracts.facts import Clause
from contracts.store import create_contract
from contracts.timestamps import PkiEvidenceChecks
from tests.contracts.conftest import facts_for
from tests.contracts.test_http import complete, http_signer, prepare, refused, sign, stored
from tests.support import Flow, Party, Seed, assert_error, table_counts
from tradesys.clock import AdjustableClock
from tradesys.errors import DomainError, Invalid
from tradesys.events.log import Actor
from tradesys.events.models import Event
from tradesys.services import Services

REPO = Path(__file__).resolve().parents[2]
PAYMENT = "按月计量，按已完工程量的 80% 支付。"  # facts_for's one clause, 工程款支付
NEW_PAYMENT = "按月计量，按已完工程量的 85% 支付。"


def _body(base: str, *changes: dict[str, Any], reason: str = "资金到位，双方协商调整付款比例。"
          ) -> dict[str, Any]:
    return {"base_sha256": base, "reason": reason, "changes": list(changes)}


async def _event_types(services: Services) -> list[str]:
    async with services.db.reading() as session:
        return list((await session.execute(select(Event.type).order_by(Event.seq)))
                    .scalars().all())


async def _sign_amendment(client: httpx.AsyncClient, contract_id: int, number: int,
                          signer: Any) -> dict[str, Any]:
    url = f"/api/v1/contracts/{contract_id}/amendments/{number}/signatures"
    prepared = await client.post(f"{url}/prepare", headers=signer.party.auth)
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    attributes = base64.b64decode(body["signed_attributes"])
    assert body["prepare_id"] == hashlib.sha256(attributes).hexdigest()
    done = await client.post(f"{url}/complete", headers=signer.party.auth, json={
        "prepare_id": body["prepare_id"],
        "signature": base64.b64encode(signer.sign_raw(attributes)).decode("ascii")})
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


async def test_a_concluded_contract_is_amended_signed_chained_and_published(
        client: httpx.AsyncClient, services: Services, seed: Seed, clock: AdjustableClock,
        flow: Flow, tmp_path: Path) -> None:
    project = await flow.register()
    facts = facts_for(seed.procurer, seed.bidder1)
    async with services.db.transaction() as session:
        contract_id = (await create_contract(
            session, facts, project_id=project["id"], actor=Actor(user_id=seed.procurer.user_id),
            at=clock.now())).id
    procurer = await http_signer(client, seed.procurer)
    supplier = await http_signer(client, seed.bidder1)
    stranger = await http_signer(client, seed.bidder2)
    url = f"/api/v1/contracts/{contract_id}/amendments"
    change = {"clause": "工程款支付", "old": PAYMENT, "new": NEW_PAYMENT}

    def propose(party: Party, body: dict[str, Any]) -> Any:
        return client.post(url, headers=party.auth, json=body)

    # an unsigned contract cannot be amended
    _, unsigned_sha, _ = await stored(services, contract_id)
    await refused(services, contract_id, 409, "contract_not_concluded",
                  propose(seed.bidder1, _body(unsigned_sha, change)))
    await sign(client, contract_id, procurer, raw=True)
    await sign(client, contract_id, supplier, raw=False)
    state, contract_sha, _ = await stored(services, contract_id)
    assert state == "signed"

    # refusals, each with nothing changed
    await refused(services, contract_id, 403, "not_party_or_host",
                  propose(seed.bidder2, _body(contract_sha, change)))
    await refused(services, contract_id, 403, "not_party_or_host",
                  propose(seed.supervisor, _body(contract_sha, change)))
    for clause, field in (("price", "price"), ("合同价款", "price"), ("质量标准", "quality"),
                          ("合同工期", "duration_days"), ("工程概况与承包范围", "subject"),
                          ("履行 期限", "duration_days")):
        before = await table_counts(services)
        error = assert_error(await propose(seed.procurer, _body(
            contract_sha, {"clause": clause, "old": "x", "new": "1.00"})), 422, "fixed_term")
        assert error["details"]["field"] == field and field in error["message"]
        assert await table_counts(services) == before
    await refused(services, contract_id, 422, "validation_failed", propose(
        seed.procurer, {**_body(contract_sha, change), "price": "1.00"}))
    await refused(services, contract_id, 409, "stale_base",
                  propose(seed.bidder1, _body(unsigned_sha, change)))
    await refused(services, contract_id, 409, "clause_mismatch", propose(
        seed.bidder1, _body(contract_sha, {**change, "old": "按月计量。"})))
    await refused(services, contract_id, 422, "validation_failed", propose(
        seed.bidder1, _body(contract_sha)))

    # the supplier proposes amendment 1: one event naming its hash and the contract's
    before = await _event_types(services)
    proposed = await propose(seed.bidder1, _body(contract_sha, change, {
        "clause": "保修", "new": "保修期两年。"}))
    assert proposed.status_code == 201, proposed.text
    first = proposed.json()
    assert (first["number"], first["state"], first["base_sha256"]) == (1, "proposed",
                                                                      contract_sha)
    assert await _event_types(services) == [*before, "contract.amendment_proposed"]
    await refused(services, contract_id, 409, "amendment_open",
                  propose(seed.procurer, _body(contract_sha, change)))
    listed = (await client.get(url, headers=seed.supervisor.auth)).json()
    assert listed["current_sha256"] == contract_sha
    [item] = listed["items"]
    assert item["clauses"][-1] == {"title": "保修", "text": "保修期两年。"}
    assert item["clauses"][0]["text"] == NEW_PAYMENT
    pdf = await client.get(f"{url}/1/pdf", headers=seed.procurer.auth)
    assert pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == first["sha256"]
    assert_error(await client.get(f"{url}/1/pdf", headers=seed.bidder2.auth), 403,
                 "not_contract_reader")
    assert_error(await client.get(f"{url}/9", headers=seed.procurer.auth), 404,
                 "amendment_not_found")

    # signing: as the contract's, the bad inputs refused with nothing changed
    sig_url = f"{url}/1/signatures"
    await refused(services, contract_id, 403, "not_a_party",
                  client.post(f"{sig_url}/prepare", headers=stranger.party.auth))
    await refused(services, contract_id, 403, "not_a_party",
                  client.post(f"{sig_url}/prepare", headers=seed.agency.auth))
    prepared = (await client.post(f"{sig_url}/prepare", headers=seed.procurer.auth)).json()
    assert prepared["certifies"] and prepared["field"] == "purchaser"
    attributes = base64.b64decode(prepared["signed_attributes"])

    def finish(party: Party, signature: bytes, pid: str = prepared["prepare_id"]) -> Any:
        return client.post(f"{sig_url}/complete", headers=party.auth, json={
            "prepare_id": pid, "signature": base64.b64encode(signature).decode("ascii")})

    await refused(services, contract_id, 422, "bad_signature",
                  finish(seed.procurer, procurer.sign_raw(attributes + b"\0")))
    await refused(services, contract_id, 422, "bad_signature",
                  finish(seed.procurer, stranger.sign(attributes)))
    await refused(services, contract_id, 409, "not_prepared",
                  finish(seed.bidder1, supplier.sign(attributes)))
    done = await finish(seed.procurer, procurer.sign(attributes))
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "signing"
    await refused(services, contract_id, 409, "already_signed",
                  client.post(f"{sig_url}/prepare", headers=seed.procurer.auth))
    await refused(services, contract_id, 409, "already_signed",
                  finish(seed.procurer, procurer.sign(attributes)))
    # the contract's own signing is untouched by the amendment's
    await refused(services, contract_id, 409, "already_signed",
                  prepare(client, contract_id, seed.procurer))
    await refused(services, contract_id, 409, "already_signed",
                  complete(client, contract_id, seed.bidder1, "0" * 64, b"\x01" * 64))

    concluded = await _sign_amendment(client, contract_id, 1, supplier)
    assert concluded["state"] == "signed" and concluded["concluded_at"]
    assert [s["state"] for s in concluded["signatures"]] == ["signed", "signed"]
    signed_pdf = (await client.get(f"{url}/1/pdf", headers=seed.bidder1.auth)).content
    assert hashlib.sha256(signed_pdf).hexdigest() == concluded["sha256"]
    assert signed_pdf.startswith(pdf.content)
    assert (await stored(services, contract_id))[1] == contract_sha  # the contract stays
    types = await _event_types(services)
    assert types[-2:] == ["contract.amendment_signed", "contract.amended"]
    async with services.db.reading() as session:
        amended = json.loads((await session.execute(select(Event.payload).where(
            Event.type == "contract.amended"))).scalar_one())
    assert (amended["sha256"], amended["base_sha256"]) == (concluded["sha256"], contract_sha)
    assert amended["clauses_changed"] == ["工程款支付", "保修"]

    # the server's check and `tradesys verify contract` accept the amendment as a contract
    report = (await client.get(f"{url}/1/verification", headers=seed.procurer.auth)).json()
    assert report["ok"], report["reasons"]
    assert {s["credit_code"] for s in report["signers"]} == {seed.procurer.credit_code,
                                                             seed.bidder1.credit_code}
    root = await client.get("/api/v1/contracts/ca/root.pem")
    (tmp_path / "root.pem").write_bytes(root.content)
    (tmp_path / "amendment.pdf").write_bytes(signed_pdf)
    verified = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "tradesys.cli", "verify", "contract",
        str(tmp_path / "amendment.pdf"), "--trust", str(tmp_path / "root.pem")],
        capture_output=True, text=True, timeout=120, cwd=REPO)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert seed.bidder1.credit_code in verified.stdout
    # the archive verifier checks a concluded amendment (kind contract_amendment_pdf) as a
    # signed contract: this one holds, the same with one byte flipped does not
    bag = tmp_path / "bag"
    (bag / "data/contracts/a").mkdir(parents=True)
    (bag / "data/contracts/a/001.pdf").write_bytes(signed_pdf)
    flipped = bytearray(signed_pdf)
    flipped[pdf.content.index(b"stream", 2000) + 40] ^= 0x01
    (bag / "data/contracts/a/002.pdf").write_bytes(bytes(flipped))
    trusted = [x509.load_pem_x509_certificate(root.content)]
    for name, good in (("001.pdf", True), ("002.pdf", False)):
        checked = Report()
        await asyncio.to_thread(check_pki, bag, [
            {"path": f"data/contracts/a/{name}", "kind": "contract_amendment_pdf"}],
            PkiEvidenceChecks(), trusted, checked)
        assert checked.ok is good, checked.failures
        assert (checked.checked.get("signed amendments") == 1) is good

    # its public version: the changed clauses and both hashes, no clause text
    notices = (await client.get("/api/v1/notices")).json()["items"]
    published = [n for n in notices if n["kind"] == "contract"]
    assert len(published) == 2  # the contract's, the amendment's
    [public] = [n for n in published if "合同变更公告" in n["title"]]
    assert public["id"] == amended["notice_id"]
    notice = (await client.get(f"/api/v1/notices/{public['id']}")).json()
    for fact in (facts.award_id, concluded["sha256"], contract_sha, "工程款支付", "保修"):
        assert fact in notice["content"], fact
    assert NEW_PAYMENT not in notice["content"]

    # the chain: the next amendment refers to amendment 1, not to the contract; the host
    # (the agency of the project) may propose it
    await refused(services, contract_id, 409, "stale_base",
                  propose(seed.agency, _body(contract_sha, {
                      "clause": "保修", "old": "保修期两年。", "new": "保修期三年。"})))
    await refused(services, contract_id, 409, "clause_mismatch",
                  propose(seed.agency, _body(concluded["sha256"], change)))
    second = await propose(seed.agency, _body(concluded["sha256"], {
        "clause": "保修", "old": "保修期两年。", "new": "保修期三年。"}))
    assert second.status_code == 201, second.text
    assert second.json()["number"] == 2 and second.json()["base_sha256"] == concluded["sha256"]
    listed = (await client.get(url, headers=seed.bidder1.auth)).json()
    assert listed["current_sha256"] == concluded["sha256"]
    assert [a["state"] for a in listed["items"]] == ["signed", "proposed"]


def test_apply_changes_keeps_the_fixed_terms_and_the_old_text() -> None:
    """The pure rule: only negotiable clauses change, each from the text its proposer saw."""
    clauses = [Clause(title="工程款支付", text=PAYMENT), Clause(title="保修", text="一年。")]
    after = apply_changes(clauses, [
        Change(clause="工程款支付", old=PAYMENT, new=NEW_PAYMENT),
        Change(clause="保修", old="一年。"), Change(clause="争议解决", new="提交仲裁。")])
    assert [(c.title, c.text) for c in after] == [("工程款支付", NEW_PAYMENT),
                                                 ("争议解决", "提交仲裁。")]
    assert clauses[0].text == PAYMENT  # the input is not changed
    for title, field in (("Price", "price"), ("合同 价款", "price"), ("subject", "subject"),
                         ("采购标的", "subject"), ("交付期限", "duration_days"),
                         ("质量要求", "quality"), ("乙方", "supplier"),
                         ("当事人", "parties")):
        with pytest.raises(Invalid) as refused:
            apply_changes(clauses, [Change(clause=title, old="x", new="y")])
        assert refused.value.code == "fixed_term" and refused.value.details["field"] == field
    for change, code in ((Change(clause="保修", old="两年。", new="三年。"), "clause_mismatch"),
                        (Change(clause="保修", new="三年。"), "clause_mismatch"),
                        (Change(clause="不存在", old="x", new="y"), "clause_mismatch")):
        with pytest.raises(DomainError) as refused:
            apply_changes(clauses, [change])
        assert refused.value.code == code
    with pytest.raises(Invalid) as refused:
        apply_changes(clauses, [Change(clause="保修", old="一年。", new="两年。"),
                                Change(clause="保修", old="两年。", new="三年。")])
    assert refused.value.code == "duplicate_change"
    many = [Clause(title=f"第{n}条", text="x") for n in range(200)]
    with pytest.raises(Invalid) as refused:
        apply_changes(many, [Change(clause="新条款", new="y")])
    assert refused.value.code == "too_many_clauses"
    for bad in ({"clause": "保修"}, {"clause": "保修", "old": "a", "new": "a"}):
        with pytest.raises(ValueError):
            Change.model_validate(bad)
