"""Contract signing end to end through the domain commands, checked by three validators that
are not ours: ``tradesys verify contract`` (a subprocess), ``pyhanko sign adesverify``
(pyhanko-cli's AdES validation: B-LTA, the built-in root as the only trust anchor) and
poppler's ``pdfsig``; and every refusal leaves the stored contract and the log unchanged."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from contracts.cli import signing_request
from contracts.facts import Clause
from contracts.models import Contract, ContractDraft
from contracts.pki import certificate_pem
from contracts.store import (
    Authority,
    complete_signature,
    create_contract,
    new_draft,
    prepare_signature,
    revoke_certificate,
)
from contracts.verify import verify_contract_async
from tests.contracts.conftest import Signer, event_count, facts_for
from tests.support import table_counts
from tradesys.bids.keys import private_key_pem
from tradesys.clock import AdjustableClock
from tradesys.errors import DomainError
from tradesys.events.log import Actor
from tradesys.services import Services

REPO = Path(__file__).resolve().parents[2]
PYHANKO = Path(sys.executable).with_name("pyhanko")
PENALTY = "逾期一日按合同价的万分之五支付违约金。"


async def _contract(services: Services, signers: dict[str, Signer],
                    clock: AdjustableClock) -> int:
    facts = facts_for(signers["procurer"].party, signers["bidder1"].party)
    async with services.db.transaction() as session:
        contract = await create_contract(session, facts, project_id=None,
                                         actor=signers["procurer"].actor(), at=clock.now())
        return contract.id


async def _sign(services: Services, authority: Authority, contract_id: int, signer: Signer,
                clock: AdjustableClock, *, raw: bool = False) -> bytes:
    async with services.db.transaction() as session:
        row = await prepare_signature(session, authority, contract_id,
                                      user_id=signer.party.user_id, org_id=signer.party.org_id,
                                      actor=signer.actor(), at=clock.now())
        attributes = row.signed_attributes
    signature = signer.sign_raw(attributes) if raw else signer.sign(attributes)
    async with services.db.transaction() as session:
        contract = await complete_signature(session, authority, contract_id, signature,
                                            user_id=signer.party.user_id,
                                            org_id=signer.party.org_id, actor=signer.actor(),
                                            at=clock.now())
        return contract.pdf


async def _stored(services: Services, contract_id: int) -> tuple[str, str, bytes]:
    async with services.db.reading() as session:
        contract = await session.get(Contract, contract_id)
        assert contract is not None
        return contract.state, contract.sha256, contract.pdf


async def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, list(args), capture_output=True, text=True,
                                   timeout=120, cwd=REPO, env=env)


async def _pdfsig(path: Path) -> str:
    return (await _run("pdfsig", str(path))).stdout


async def _adesverify(path: Path, root: Path) -> subprocess.CompletedProcess[str]:
    return await _run(str(PYHANKO), "sign", "adesverify", "--executive-summary", "--trust",
                      str(root), "--trust-replace", str(path))


async def _verify_cli(path: Path, root: Path) -> subprocess.CompletedProcess[str]:
    return await _run(sys.executable, "-m", "tradesys.cli", "verify", "contract", str(path),
                      "--trust", str(root))


@pytest.fixture
def root_pem(tmp_path: Path, authority: Authority) -> Path:
    path = tmp_path / "root.pem"
    path.write_text(certificate_pem(authority.ca.root), encoding="ascii")
    return path


async def test_two_signatures_pass_three_validators_and_a_flipped_byte_fails_all(
        services: Services, authority: Authority, signers: dict[str, Signer],
        clock: AdjustableClock, tmp_path: Path, root_pem: Path) -> None:
    contract_id = await _contract(services, signers, clock)
    clock.advance(timedelta(minutes=1))
    first = await _sign(services, authority, contract_id, signers["procurer"], clock)
    assert (await _stored(services, contract_id))[0] == "signing"
    clock.advance(timedelta(minutes=2))
    # the supplier signs in the browser's way: WebCrypto's raw r‖s, converted to DER
    signed = await _sign(services, authority, contract_id, signers["bidder1"], clock, raw=True)
    assert signed.startswith(first)  # incremental: the first signature's bytes are untouched
    state, digest, stored = await _stored(services, contract_id)
    assert state == "signed" and stored == signed
    assert digest == hashlib.sha256(signed).hexdigest()

    path = tmp_path / "contract.pdf"
    path.write_bytes(signed)
    ours = await _verify_cli(path, root_pem)
    assert ours.returncode == 0, ours.stderr
    assert signers["procurer"].party.credit_code in ours.stdout
    assert signers["bidder1"].party.credit_code in ours.stdout
    assert "certifies" in ours.stdout and "PAdES B-LTA" in ours.stdout
    assert f"timestamp {clock.now():%Y-%m-%d %H:%M:%S}Z" in ours.stdout
    pyhanko = await _adesverify(path, root_pem)
    assert pyhanko.returncode == 0, pyhanko.stdout + pyhanko.stderr
    assert [line.rsplit(":", 1)[-1] for line in pyhanko.stdout.split()] == ["VALID", "VALID"]
    poppler = await _pdfsig(path)
    assert poppler.count("Signature Validation: Signature is Valid.") == 2, poppler
    assert "Signature Field Name: purchaser" in poppler
    assert "Signature Field Name: supplier" in poppler

    # one byte of the first signature's range (a page's content stream) flipped
    tampered = bytearray(signed)
    at = tampered.index(b"stream", 2000) + 40
    tampered[at] ^= 0x01
    bad = tmp_path / "tampered.pdf"
    bad.write_bytes(bytes(tampered))
    ours = await _verify_cli(bad, root_pem)
    assert ours.returncode == 1 and "altered" in ours.stderr
    pyhanko = await _adesverify(bad, root_pem)
    assert pyhanko.returncode != 0 and "VALID" not in pyhanko.stdout.replace("INVALID", "")
    poppler = await _pdfsig(bad)
    assert "Signature is Valid" not in poppler.split("Signature #2")[0], poppler

    # the domain's own report: signers, credit codes, times, coverage
    report = await verify_contract_async(signed, authority.trust_roots)
    assert report.ok and report.covers_whole_file
    by_field = {s.field: s for s in report.signers}
    assert by_field["purchaser"].certifies and not by_field["supplier"].certifies
    assert by_field["purchaser"].timestamp == clock.now() - timedelta(minutes=2)
    assert by_field["supplier"].credit_code == signers["bidder1"].party.credit_code


async def test_each_draft_is_an_event_with_its_hash_and_only_clauses_change(
        services: Services, authority: Authority, signers: dict[str, Signer],
        clock: AdjustableClock) -> None:
    contract_id = await _contract(services, signers, clock)
    async with services.db.transaction() as session:
        draft = await new_draft(session, contract_id,
                                [Clause(title="违约责任", text=PENALTY)],
                                org_id=signers["bidder1"].party.org_id,
                                actor=signers["bidder1"].actor(), at=clock.now())
        assert draft.number == 2
    async with services.db.reading() as session:
        from sqlalchemy import select

        from tradesys.events.models import Event
        drafts = (await session.execute(select(ContractDraft).order_by(
            ContractDraft.number))).scalars().all()
        events = (await session.execute(select(Event).where(
            Event.aggregate_type == "contract").order_by(Event.seq))).scalars().all()
    assert [e.type for e in events] == ["contract.created", "contract.drafted"]
    assert json.loads(events[0].payload)["sha256"] == drafts[0].sha256
    assert json.loads(events[1].payload)["sha256"] == drafts[1].sha256
    assert hashlib.sha256(drafts[1].pdf).hexdigest() == drafts[1].sha256
    one, two = (json.loads(d.facts) for d in drafts)
    assert one["price"] == two["price"] == "35200000.00"
    assert two["clauses"] == [{"title": "违约责任", "text": PENALTY}]
    # a stranger cannot negotiate; once signing began nobody can
    before = await table_counts(services)
    with pytest.raises(DomainError) as refused:
        async with services.db.transaction() as session:
            await new_draft(session, contract_id, [], org_id=signers["bidder2"].party.org_id,
                            actor=signers["bidder2"].actor(), at=clock.now())
    assert refused.value.code == "not_a_party"
    await _sign(services, authority, contract_id, signers["procurer"], clock)
    before = await table_counts(services)
    with pytest.raises(DomainError) as refused:
        async with services.db.transaction() as session:
            await new_draft(session, contract_id, [], org_id=signers["bidder1"].party.org_id,
                            actor=signers["bidder1"].actor(), at=clock.now())
    assert refused.value.code == "contract_signing"
    assert await table_counts(services) == before


async def _refused(services: Services, contract_id: int, code: str, command) -> None:  # type: ignore[no-untyped-def]
    """The command is refused with ``code`` and changes nothing (rows, events, the file)."""
    before = (await table_counts(services), await _stored(services, contract_id))
    with pytest.raises(DomainError) as refused:
        async with services.db.transaction() as session:
            await command(session)
    assert refused.value.code == code, refused.value.message
    assert refused.value.message  # a clear message (Chinese first)
    assert (await table_counts(services), await _stored(services, contract_id)) == before


async def test_bad_signing_is_refused_and_changes_nothing(
        services: Services, authority: Authority, signers: dict[str, Signer],
        clock: AdjustableClock) -> None:
    contract_id = await _contract(services, signers, clock)
    procurer, supplier, stranger = signers["procurer"], signers["bidder1"], signers["bidder2"]

    def prepare(signer: Signer):  # type: ignore[no-untyped-def]
        return lambda session: prepare_signature(
            session, authority, contract_id, user_id=signer.party.user_id,
            org_id=signer.party.org_id, actor=signer.actor(), at=clock.now())

    def complete(signer: Signer, signature: bytes):  # type: ignore[no-untyped-def]
        return lambda session: complete_signature(
            session, authority, contract_id, signature, user_id=signer.party.user_id,
            org_id=signer.party.org_id, actor=signer.actor(), at=clock.now())

    # someone who is not a party
    await _refused(services, contract_id, "not_a_party", prepare(stranger))
    async with services.db.transaction() as session:
        row = await prepare(procurer)(session)
        attributes = row.signed_attributes
    # a key other than the certificate's (the stranger's registered key)
    await _refused(services, contract_id, "bad_signature",
                   complete(procurer, stranger.sign(attributes)))
    # a signature over other bytes than the prepared ones
    await _refused(services, contract_id, "bad_signature",
                   complete(procurer, procurer.sign(attributes + b"\x00")))
    await _refused(services, contract_id, "bad_signature",
                   complete(procurer, procurer.sign_raw(attributes)[:-1]))
    # completing for another party's preparation
    await _refused(services, contract_id, "not_prepared",
                   complete(supplier, supplier.sign(attributes)))
    # the good one, then signing twice
    async with services.db.transaction() as session:
        await complete(procurer, procurer.sign(attributes))(session)
    await _refused(services, contract_id, "already_signed", prepare(procurer))
    await _refused(services, contract_id, "already_signed",
                   complete(procurer, procurer.sign(attributes)))
    # an expired certificate (the clock moves past its two years)
    async with services.db.transaction() as session:
        row = await prepare(supplier)(session)
        attributes = row.signed_attributes
    clock.advance(timedelta(days=731))
    await _refused(services, contract_id, "certificate_expired",
                   complete(supplier, supplier.sign(attributes)))
    await _refused(services, contract_id, "no_certificate", prepare(supplier))


async def test_revocation_between_the_two_signatures_is_honoured_at_once(
        services: Services, authority: Authority, signers: dict[str, Signer],
        clock: AdjustableClock, tmp_path: Path, root_pem: Path) -> None:
    contract_id = await _contract(services, signers, clock)
    first = await _sign(services, authority, contract_id, signers["procurer"], clock)
    supplier = signers["bidder1"]
    async with services.db.transaction() as session:
        row = await prepare_signature(session, authority, contract_id,
                                      user_id=supplier.party.user_id,
                                      org_id=supplier.party.org_id, actor=supplier.actor(),
                                      at=clock.now())
        attributes = row.signed_attributes
    clock.advance(timedelta(minutes=5))
    events = await event_count(services)
    async with services.db.transaction() as session:
        await revoke_certificate(session, certificate_id=supplier.certificate_id,
                                 reason="私钥泄露", actor=Actor(user_id=1), at=clock.now())
    assert await event_count(services) == events + 1
    await _refused(services, contract_id, "certificate_revoked",
                   lambda session: complete_signature(
                       session, authority, contract_id, supplier.sign(attributes),
                       user_id=supplier.party.user_id, org_id=supplier.party.org_id,
                       actor=supplier.actor(), at=clock.now()))
    # the purchaser's signature stands; the contract is not complete
    report = await verify_contract_async(first, authority.trust_roots)
    assert [s.bottom_line for s in report.signers] == [True]
    assert not report.ok and any("supplier" in r for r in report.reasons)
    half = tmp_path / "half.pdf"
    half.write_bytes(first)
    assert (await _verify_cli(half, root_pem)).returncode == 1


async def test_a_change_forbidden_by_the_certification_is_detected(
        services: Services, authority: Authority, signers: dict[str, Signer],
        clock: AdjustableClock, tmp_path: Path, root_pem: Path) -> None:
    contract_id = await _contract(services, signers, clock)
    await _sign(services, authority, contract_id, signers["procurer"], clock)
    signed = await _sign(services, authority, contract_id, signers["bidder1"], clock)
    # an incremental update that rewrites the first page's content: DocMDP level 2 forbids it
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    from pyhanko.pdf_utils import generic
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (PAID) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    changed = out.getvalue()
    report = await verify_contract_async(changed, authority.trust_roots)
    assert not report.ok
    assert not report.covers_whole_file
    assert any(not s.docmdp_ok or not s.bottom_line for s in report.signers)
    path = tmp_path / "changed.pdf"
    path.write_bytes(changed)
    ours = await _verify_cli(path, root_pem)
    assert ours.returncode == 1 and "NOT VALID" in ours.stderr
    assert PdfFileReader(BytesIO(changed)).embedded_regular_signatures


async def test_contract_sign_cli_signs_the_prepared_attributes_offline(
        services: Services, authority: Authority, signers: dict[str, Signer],
        clock: AdjustableClock, tmp_path: Path, client: httpx.AsyncClient) -> None:
    contract_id = await _contract(services, signers, clock)
    procurer = signers["procurer"]
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(private_key_pem(procurer.key, b"key-password-1"))
    async with services.db.transaction() as session:
        row = await prepare_signature(session, authority, contract_id,
                                      user_id=procurer.party.user_id,
                                      org_id=procurer.party.org_id, actor=procurer.actor(),
                                      at=clock.now())
        request = signing_request(contract_id, row.field, row.signed_attributes)
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    env = {**os.environ, "TRADESYS_KEY_PASSWORD": "key-password-1"}
    done = await _run(sys.executable, "-m", "tradesys.cli", "contract", "sign", "--key",
                      str(key_file), str(request_file), "-o", str(tmp_path / "sig.json"), env=env)
    assert done.returncode == 0, done.stderr
    from contracts.cli import read_signature
    signature = read_signature((tmp_path / "sig.json").read_bytes())
    async with services.db.transaction() as session:
        contract = await complete_signature(session, authority, contract_id, signature,
                                            user_id=procurer.party.user_id,
                                            org_id=procurer.party.org_id,
                                            actor=procurer.actor(), at=clock.now())
        assert contract.state == "signing"
    wrong = await _run(sys.executable, "-m", "tradesys.cli", "contract", "sign", "--key",
                       str(key_file), str(request_file), "-o", str(tmp_path / "x.json"),
                       env={**os.environ, "TRADESYS_KEY_PASSWORD": "wrong"})
    assert wrong.returncode == 2 and not (tmp_path / "x.json").exists()


async def test_a_signed_file_from_other_software_is_accepted_unless_altered(
        services: Services, authority: Authority, signers: dict[str, Signer],
        clock: AdjustableClock, tmp_path: Path, root_pem: Path) -> None:
    """The supplier signs the stored file with its own software (here: the same library,
    outside the platform) and uploads the whole file; a file whose earlier bytes were changed
    after the first signature, or with a forbidden change and no signature, is refused."""
    from contracts import signing
    from contracts.models import SignerCertificate
    from contracts.pki import load_certificate
    from contracts.store import accept_signed_file, revocation_data

    contract_id = await _contract(services, signers, clock)
    first = await _sign(services, authority, contract_id, signers["procurer"], clock)
    supplier = signers["bidder1"]
    async with services.db.reading() as session:
        cert = load_certificate((await session.get(SignerCertificate,
                                                   supplier.certificate_id)).pem)  # type: ignore[union-attr]
    prepared = await asyncio.to_thread(
        signing.prepare, first, field="supplier", cert=cert, chain=authority.chain,
        certify=False, signer_name="bidder1", organization="bidder1 有限公司", at=clock.now())
    async with services.db.reading() as session:
        validation = await revocation_data(session, authority, clock.now(), [cert])
    own = await signing.complete_async(
        prepared, supplier.sign(prepared.signed_attributes), cert=cert, chain=authority.chain,
        timestamper=authority.timestamper(clock.now()), validation=validation,
        trust_roots=authority.trust_roots, last=False, at=clock.now())

    def upload(data: bytes):  # type: ignore[no-untyped-def]
        return lambda session: accept_signed_file(
            session, authority, contract_id, data, user_id=supplier.party.user_id,
            org_id=supplier.party.org_id, actor=supplier.actor(), at=clock.now())

    altered = bytearray(own)
    altered[first.index(b"stream", 2000) + 40] ^= 0x01
    await _refused(services, contract_id, "altered_document", upload(bytes(altered)))
    writer = IncrementalPdfFileWriter(BytesIO(first))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    from pyhanko.pdf_utils import generic
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT ET"))
    writer.update_container(page)
    changed = BytesIO()
    writer.write(changed)
    await _refused(services, contract_id, "no_signature", upload(changed.getvalue()))
    await _refused(services, contract_id, "not_a_party", lambda session: accept_signed_file(
        session, authority, contract_id, own, user_id=signers["bidder2"].party.user_id,
        org_id=signers["bidder2"].party.org_id, actor=signers["bidder2"].actor(),
        at=clock.now()))

    async with services.db.transaction() as session:
        contract = await accept_signed_file(session, authority, contract_id, own,
                                            user_id=supplier.party.user_id,
                                            org_id=supplier.party.org_id,
                                            actor=supplier.actor(), at=clock.now())
        assert contract.state == "signed" and contract.pdf.startswith(own)
        final = contract.pdf
    path = tmp_path / "uploaded.pdf"
    path.write_bytes(final)
    assert (await _verify_cli(path, root_pem)).returncode == 0
