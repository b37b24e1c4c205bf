"""Contract commands: certificates, contracts and drafts, prepare and complete signing.

Each command is one transaction that changes rows and appends its one event
(``tradesys.events.log.append_event``) naming the SHA-256 of every file it stores. A refused
command raises a :class:`~tradesys.errors.DomainError` before anything is written, so the
stored contract is unchanged (the caller's transaction rolls back).

Who may do what is decided here from plain ids (the route layer authenticates): only a
party's users sign its field, each field once; a certificate is used only while unrevoked and
unexpired, checked again when the signature is completed, so a revocation between prepare and
complete (or between the two parties' signatures) is honoured at once.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import external_ca, signing
from contracts.facts import Clause, ContractFacts, with_clauses
from contracts.generation import FIELDS, contract_pdf, sha256_hex
from contracts.models import (
    Contract,
    ContractDraft,
    ContractSignature,
    PreparedSignature,
    SignerCertificate,
)
from contracts.pki import CertificateAuthority, Revoked, SignerName, load_certificate
from contracts.publication import publish_contract_notice
from contracts.tsa import external_timestamper, external_validation, unavailable
from contracts.verify import verify_contract_async
from tradesys.bids.keyring import signing_key
from tradesys.bids.keys import key_id, load_public_key
from tradesys.clock import isoformat_utc
from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.events.canonical import canonical_json
from tradesys.events.log import Actor, append_event
from tradesys.identity.models import Organisation, User

__all__ = [
    "Authority",
    "Rendered",
    "accept_signed_file",
    "complete_signature",
    "create_contract",
    "issue_certificate",
    "new_draft",
    "prepare_signature",
    "prerender_draft",
    "register_external_certificate",
    "render_draft",
    "revocation_data",
    "revoke_certificate",
]


@dataclass
class Authority:
    """The CA and TSA this installation signs with, and the roots its checks trust."""

    ca: CertificateAuthority
    extra_trust_roots: tuple[x509.Certificate, ...] = ()
    #: An external TSA (``TRADESYS_TSA_URL``); empty: the built-in one.
    tsa_url: str = ""

    @property
    def trust_roots(self) -> list[x509.Certificate]:
        return [self.ca.root, *self.extra_trust_roots]

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.ca.issuing, self.ca.root]

    def timestamper(self, at: datetime) -> object:
        """What stamps the signatures and documents: the external TSA when one is set."""
        if self.tsa_url:
            return external_timestamper(self.tsa_url)
        return self.builtin_timestamper(at)

    def builtin_timestamper(self, at: datetime) -> signing.BuiltinTimeStamper:
        """The built-in TSA (the one the app serves at ``/contracts/ca/tsa``)."""
        return signing.builtin_timestamper(self.ca.tsa_key, self.ca.tsa, self.chain, at)


def _der(value: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return value.public_bytes(serialization.Encoding.DER)


# --- certificates ------------------------------------------------------------------------


async def issue_certificate(session: AsyncSession, authority: Authority, *, user_id: int,
                            key_id: str, actor: Actor, at: datetime) -> SignerCertificate:
    """After the platform's identity check: a certificate for the user's registered signing
    key, naming the user and the organisation's credit code."""
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound("user_not_found", "用户不存在 (no such user)")
    org = await session.get(Organisation, user.org_id)
    assert org is not None
    key = await signing_key(session, user.org_id, key_id)
    if key is None or key.user_id != user.id:
        raise Invalid("no_signing_key", "该用户没有登记此签名公钥 (this user has no such "
                      "registered signing key)")
    cert = authority.ca.issue(load_public_key(key.public_key),
                              SignerName(user.display_name, org.name, org.credit_code), at)
    row = SignerCertificate(org_id=org.id, user_id=user.id, key_id=key_id,
                            serial=format(cert.serial_number, "x"),
                            pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                            not_after=cert.not_valid_after_utc, issued_at=at)
    session.add(row)
    await session.flush()
    await append_event(session, actor=actor, at=at, aggregate_type="certificate",
                       aggregate_id=row.serial, type="contract.certificate_issued",
                       payload={"serial": row.serial, "user_id": user.id, "org_id": org.id,
                                "credit_code": org.credit_code, "key_id": key_id,
                                "not_after": cert.not_valid_after_utc.isoformat(),
                                "sha256": hashlib.sha256(_der(cert)).hexdigest()})
    return row


async def register_external_certificate(
        session: AsyncSession, authority: Authority, *, user_id: int, pem: str,
        intermediates: list[str], actor: Actor, at: datetime) -> SignerCertificate:
    """A certificate an external CA the deployment trusts issued for the user's registered
    signing key, registered by its holder (contracts/external_ca.py says what is checked).
    Stored as the built-in CA's are, marked external, with its chain."""
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound("user_not_found", "用户不存在 (no such user)")
    org = await session.get(Organisation, user.org_id)
    assert org is not None
    certs = external_ca.parse_pem(pem, what="证书 (the certificate)")
    if len(certs) != 1:
        raise Invalid("not_pem", "pem 应只含一张证书，中间证书放在 intermediates (pem holds one "
                      "certificate; intermediates go in intermediates)")
    cert = certs[0]
    others = [c for text in intermediates
              for c in external_ca.parse_pem(text, what="中间证书 (an intermediate)")]
    if not authority.extra_trust_roots and not authority.ca.issued_here(cert):
        raise Invalid("untrusted_chain", "本平台未配置外部 CA 的受信任根证书 (no external trust "
                      "root is configured: TRADESYS_CONTRACT_TRUST_ROOTS)")
    chain = external_ca.check_external(cert, others, authority.extra_trust_roots, authority.ca,
                                       at, credit_code=org.credit_code)
    kid = key_id(load_public_key(cert.public_key()))
    key = await signing_key(session, user.org_id, kid)
    if key is None or key.user_id != user.id:
        raise Invalid("not_registered_key", "证书的公钥不是该用户登记的有效签名公钥 (the "
                      "certificate's key is not one of this user's registered, unrevoked "
                      "signing keys)")
    serial = format(cert.serial_number, "x")
    taken = (await session.execute(select(SignerCertificate.id).where(
        SignerCertificate.serial == serial))).first()
    external_ca.duplicate(taken is not None)
    row = SignerCertificate(org_id=org.id, user_id=user.id, key_id=kid, serial=serial,
                            pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                            not_after=cert.not_valid_after_utc, issued_at=at, external=True,
                            chain_pem=external_ca.chain_text(chain))
    session.add(row)
    await session.flush()
    await append_event(session, actor=actor, at=at, aggregate_type="certificate",
                       aggregate_id=row.serial, type="contract.certificate_registered",
                       payload={"serial": row.serial, "user_id": user.id, "org_id": org.id,
                                "credit_code": org.credit_code, "key_id": kid,
                                "issuer": cert.issuer.rfc4514_string(),
                                "root_sha256": hashlib.sha256(_der(chain[-1])).hexdigest(),
                                "not_after": cert.not_valid_after_utc.isoformat(),
                                "sha256": hashlib.sha256(_der(cert)).hexdigest()})
    return row


def chain_of(authority: Authority, row: SignerCertificate) -> list[x509.Certificate]:
    """The certificates above the signer's: the external CA's chain, or the built-in one."""
    if row.external and row.chain_pem:
        return external_ca.parse_pem(row.chain_pem, what="chain")
    return authority.chain


async def revoke_certificate(session: AsyncSession, *, certificate_id: int, reason: str,
                             actor: Actor, at: datetime) -> SignerCertificate:
    row = await session.get(SignerCertificate, certificate_id)
    if row is None:
        raise NotFound("certificate_not_found", "证书不存在 (no such certificate)")
    if row.revoked_at is not None:
        raise Conflict("certificate_revoked", "证书已吊销 (the certificate is already revoked)")
    row.revoked_at = at
    row.revocation_reason = reason[:200]
    await append_event(session, actor=actor, at=at, aggregate_type="certificate",
                       aggregate_id=row.serial, type="contract.certificate_revoked",
                       payload={"serial": row.serial, "reason": row.revocation_reason})
    return row


async def revocation_data(session: AsyncSession, authority: Authority, at: datetime,
                          certs: list[x509.Certificate]) -> signing.ValidationData:
    """The current CRLs (issuing CA, root) and OCSP answers for ``certs``, as of ``at``."""
    revoked = (await session.execute(select(SignerCertificate).where(
        SignerCertificate.revoked_at.is_not(None),
        SignerCertificate.external.is_(False)))).scalars().all()
    entries = [Revoked(int(r.serial, 16), r.revoked_at) for r in revoked if r.revoked_at]
    by_serial = {int(r.serial, 16): r.revoked_at for r in revoked}
    ca = authority.ca
    crl = ca.crl(entries, at, number=int(at.timestamp() * 1000))
    ocsps = [ca.ocsp_response(c, by_serial.get(c.serial_number), at)
             .public_bytes(serialization.Encoding.DER) for c in certs]
    return signing.ValidationData(
        certificates=[ca.issuing, ca.root, ca.tsa],
        crls=[_der(crl), _der(ca.root_crl(at))], ocsps=ocsps)


async def signing_data(session: AsyncSession, authority: Authority, at: datetime,
                       certs: list[x509.Certificate]) -> signing.ValidationData:
    """What a signature's DSS carries: :func:`revocation_data`, and with an external TSA its
    certificates and CRLs, fetched now (contracts/tsa.py; ``tsa_unavailable`` otherwise)."""
    data = await revocation_data(session, authority, at, certs)
    if not authority.tsa_url:
        return data
    extra = await external_validation(authority.tsa_url)
    return signing.ValidationData(certificates=[*data.certificates, *extra.certificates],
                                  crls=[*data.crls, *extra.crls], ocsps=data.ocsps)


async def signer_validation(session: AsyncSession, authority: Authority, at: datetime,
                            row: SignerCertificate) -> signing.ValidationData:
    """:func:`signing_data` for the signer's certificate: for an external one, the built-in
    CA's answers only for the TSA's certificate, and the external CA's CRLs fetched now
    (``ca_unavailable``, ``certificate_revoked``: contracts/external_ca.py)."""
    cert = load_certificate(row.pem)
    if not row.external:
        return await signing_data(session, authority, at, [cert])
    data = await signing_data(session, authority, at, [])
    extra = await external_ca.fetch_validation(cert, chain_of(authority, row), at)
    return signing.ValidationData(certificates=[*data.certificates, *extra.certificates],
                                  crls=[*data.crls, *extra.crls], ocsps=data.ocsps)


async def complete_or_unavailable(authority: Authority, prepared: signing.Prepared,
                                  signature: bytes, **kwargs: object) -> bytes:
    """``signing.complete_async``, an unreachable TSA being ``tsa_unavailable`` (503)."""
    try:
        return await signing.complete_async(prepared, signature, **kwargs)  # type: ignore[arg-type]
    except TimestampRequestError as error:
        raise unavailable(authority.tsa_url or "built-in", error) from error


# --- contracts and drafts ----------------------------------------------------------------


async def _org_by_code(session: AsyncSession, credit_code: str) -> Organisation:
    org = (await session.execute(select(Organisation).where(
        Organisation.credit_code == credit_code))).scalar_one_or_none()
    if org is None:
        raise NotFound("party_not_registered", f"合同当事人未在平台登记 (party not registered): "
                       f"{credit_code}")
    return org


def _facts_json(facts: ContractFacts) -> str:
    return canonical_json(facts.model_dump(mode="json")).decode("utf-8")


#: Draft PDFs rendered before the write transaction, by (facts' canonical JSON, draft number).
Rendered = dict[tuple[str, int], bytes]


async def render_draft(facts: ContractFacts, number: int) -> Rendered:
    """Draft ``number`` of ``facts`` as a PDF, off the event loop. Callers render in a **read**
    transaction and pass the result to the command: WeasyPrint takes seconds, and on SQLite a
    write transaction holds the whole database meanwhile. The command uses a rendering only if
    its own facts and number still match, and renders again otherwise."""
    return {(_facts_json(facts), number): await asyncio.to_thread(contract_pdf, facts, number)}


async def _pdf(facts: ContractFacts, number: int, rendered: Rendered | None) -> bytes:
    pdf = (rendered or {}).get((_facts_json(facts), number))
    return pdf if pdf is not None else await asyncio.to_thread(contract_pdf, facts, number)


async def create_contract(session: AsyncSession, facts: ContractFacts, *,
                          project_id: int | None, actor: Actor, at: datetime,
                          rendered: Rendered | None = None) -> Contract:
    """Draft 1 from the award's facts."""
    existing = (await session.execute(select(Contract).where(
        Contract.award_id == facts.award_id))).scalar_one_or_none()
    if existing is not None:
        raise Conflict("contract_exists", "该中标结果已生成合同 (a contract exists for this award)")
    purchaser = await _org_by_code(session, facts.purchaser.credit_code)
    supplier = await _org_by_code(session, facts.supplier.credit_code)
    pdf = await _pdf(facts, 1, rendered)
    digest = sha256_hex(pdf)
    contract = Contract(award_id=facts.award_id, project_id=project_id,
                        purchaser_org_id=purchaser.id, supplier_org_id=supplier.id,
                        state="drafting", draft=1, pdf=pdf, sha256=digest, created_at=at)
    session.add(contract)
    await session.flush()
    session.add(ContractDraft(contract_id=contract.id, number=1, facts=_facts_json(facts),
                              pdf=pdf, sha256=digest, created_by=actor.user_id, created_at=at))
    await append_event(session, actor=actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=project_id, type="contract.created",
                       payload={"award_id": facts.award_id, "draft": 1, "sha256": digest,
                                "facts_sha256": hashlib.sha256(
                                    _facts_json(facts).encode()).hexdigest()})
    return contract


async def _contract(session: AsyncSession, contract_id: int) -> Contract:
    contract = await session.get(Contract, contract_id, with_for_update=True)
    if contract is None:
        raise NotFound("contract_not_found", "合同不存在 (no such contract)")
    return contract


def _field_of(contract: Contract, org_id: int) -> str:
    if org_id == contract.purchaser_org_id:
        return FIELDS[0]
    if org_id == contract.supplier_org_id:
        return FIELDS[1]
    raise Forbidden("not_a_party", "只有合同当事人可以签署或协商合同 (only a party to the contract "
                    "may sign or negotiate it)")


async def current_facts(session: AsyncSession, contract: Contract) -> ContractFacts:
    draft = (await session.execute(select(ContractDraft).where(
        ContractDraft.contract_id == contract.id, ContractDraft.number == contract.draft)
    )).scalar_one()
    return ContractFacts.model_validate_json(draft.facts)


async def prerender_draft(session: AsyncSession, contract_id: int, clauses: list[Clause], *,
                         org_id: int) -> Rendered:
    """The PDF :func:`new_draft` would store, rendered in a read transaction (see
    :func:`render_draft`); nothing for a request :func:`new_draft` will refuse."""
    contract = await session.get(Contract, contract_id)
    if contract is None or contract.state != "drafting" or org_id not in (
            contract.purchaser_org_id, contract.supplier_org_id):
        return {}
    facts = with_clauses(await current_facts(session, contract), clauses)
    return await render_draft(facts, contract.draft + 1)


async def new_draft(session: AsyncSession, contract_id: int, clauses: list[Clause], *,
                    org_id: int, actor: Actor, at: datetime,
                    rendered: Rendered | None = None) -> ContractDraft:
    """A negotiated draft: only the other clauses change (条例 Art. 57 keeps price, subject,
    quality and duration as awarded), and only before the first signature."""
    contract = await _contract(session, contract_id)
    _field_of(contract, org_id)
    if contract.state != "drafting":
        raise Conflict("contract_signing", "合同已开始签署，不能再修改 (signing has begun: no new "
                       "drafts)")
    facts = with_clauses(await current_facts(session, contract), clauses)
    number = contract.draft + 1
    pdf = await _pdf(facts, number, rendered)
    digest = sha256_hex(pdf)
    draft = ContractDraft(contract_id=contract.id, number=number, facts=_facts_json(facts),
                          pdf=pdf, sha256=digest, created_by=actor.user_id, created_at=at)
    session.add(draft)
    contract.draft, contract.pdf, contract.sha256 = number, pdf, digest
    await append_event(session, actor=actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type="contract.drafted", payload={"draft": number, "sha256": digest})
    return draft


# --- signing -----------------------------------------------------------------------------


async def _usable_certificate(session: AsyncSession, user_id: int, org_id: int,
                              at: datetime) -> SignerCertificate:
    rows = (await session.execute(select(SignerCertificate).where(
        SignerCertificate.user_id == user_id, SignerCertificate.org_id == org_id,
        SignerCertificate.revoked_at.is_(None)).order_by(SignerCertificate.id.desc())
    )).scalars().all()
    for row in rows:
        if row.not_after > at:
            return row
    raise Invalid("no_certificate", "没有有效的签名证书（未签发、已吊销或已过期）(no valid signing "
                  "certificate: none issued, or revoked, or expired)")


def _check_certificate(row: SignerCertificate, at: datetime) -> None:
    if row.revoked_at is not None:
        raise Invalid("certificate_revoked", "签名证书已吊销 (the signing certificate is revoked)")
    if row.not_after <= at:
        raise Invalid("certificate_expired", "签名证书已过期 (the signing certificate expired)")


async def prepared_values(session: AsyncSession, authority: Authority, pdf: bytes, *,
                          field: str, signed: bool, user_id: int, org_id: int,
                          at: datetime) -> tuple[dict[str, Any], SignerCertificate]:
    """What a preparation over ``pdf`` stores (a contract's or an amendment's signature row
    share these columns), and the certificate it names: the signer's newest usable one, with
    its chain; the first signer (``signed``: whether the other side has) certifies."""
    cert_row = await _usable_certificate(session, user_id, org_id, at)
    user = await session.get(User, user_id)
    org = await session.get(Organisation, org_id)
    assert user is not None and org is not None
    certify = not signed
    prepared = await asyncio.to_thread(
        signing.prepare, pdf, field=field, cert=load_certificate(cert_row.pem),
        chain=chain_of(authority, cert_row), certify=certify, signer_name=user.display_name,
        organization=org.name, at=at)
    return {"state": "prepared", "org_id": org_id, "user_id": user_id,
            "certificate_id": cert_row.id, "certify": certify, "prepared_pdf": prepared.pdf,
            "document_digest": prepared.document_digest,
            "reserved_start": prepared.reserved_start, "reserved_end": prepared.reserved_end,
            "signed_attributes": prepared.signed_attributes, "prepared_at": at}, cert_row


async def prepare_signature(session: AsyncSession, authority: Authority, contract_id: int, *,
                            user_id: int, org_id: int, actor: Actor,
                            at: datetime) -> ContractSignature:
    """Prepare the party's signature; the row's ``signed_attributes`` are what the signer
    signs. Preparing again replaces an unfinished preparation."""
    contract = await _contract(session, contract_id)
    field = _field_of(contract, org_id)
    rows = {s.field: s for s in (await session.execute(select(ContractSignature).where(
        ContractSignature.contract_id == contract.id))).scalars().all()}
    mine = rows.get(field)
    if mine is not None and mine.state == "signed":
        raise Conflict("already_signed", "本方已签署，不能重复签署 (this party has already signed)")
    values, cert_row = await prepared_values(
        session, authority, contract.pdf, field=field,
        signed=any(s.state == "signed" for s in rows.values()), user_id=user_id, org_id=org_id,
        at=at)
    if mine is None:
        mine = ContractSignature(contract_id=contract.id, field=field, **values)
        session.add(mine)
    else:
        for name, value in values.items():
            setattr(mine, name, value)
    if contract.state == "drafting":
        contract.state = "signing"
    await session.flush()
    await append_event(session, actor=actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type="contract.signature_prepared",
                       payload={"field": field, "certificate": cert_row.serial,
                                "certify": values["certify"], "base_sha256": contract.sha256,
                                "signed_attributes_sha256": hashlib.sha256(
                                    values["signed_attributes"]).hexdigest()})
    return mine


async def embed_signature(session: AsyncSession, authority: Authority, row: PreparedSignature,
                          document_pdf: bytes, signature: bytes, *, last: bool, at: datetime,
                          prepare_id: str | None, document: tuple[str, str]
                          ) -> tuple[bytes, SignerCertificate, Any]:
    """The second half of signing a prepared row (a contract's or an amendment's signature):
    the preparation must be the current one over the current file; the signature is checked
    against the certificate's key over the prepared bytes before anything is embedded, then
    timestamped, embedded with the validation data (after the last signature the document
    timestamp too) and the result validated. (the signed file, its certificate, the signer's
    report). ``document`` names the file in the refusals (Chinese, English)."""
    if prepare_id is not None and prepare_id != hashlib.sha256(
            row.signed_attributes).hexdigest():
        raise Conflict("stale_preparation", "签名已重新准备，请使用最新的准备结果 (the signature "
                       "was prepared again: sign the latest preparation)")
    if not row.prepared_pdf.startswith(document_pdf):
        raise Conflict("stale_preparation", f"{document[0]}在准备签名后已变化，请重新准备 (the "
                       f"{document[1]} changed since the signature was prepared: prepare again)")
    cert_row = await session.get(SignerCertificate, row.certificate_id)
    assert cert_row is not None
    _check_certificate(cert_row, at)
    cert = load_certificate(cert_row.pem)
    prepared = signing.Prepared(pdf=row.prepared_pdf, field=row.field,
                                document_digest=row.document_digest,
                                reserved_start=row.reserved_start, reserved_end=row.reserved_end,
                                signed_attributes=row.signed_attributes)
    validation = await signer_validation(session, authority, at, cert_row)
    try:
        signed = await complete_or_unavailable(
            authority, prepared, signature, cert=cert, chain=chain_of(authority, cert_row),
            timestamper=authority.timestamper(at), validation=validation,
            trust_roots=authority.trust_roots, last=last, at=at)
    except signing.SigningRefused as error:
        raise Invalid(error.code, error.message) from error
    report = await verify_contract_async(signed, authority.trust_roots, at)
    mine = next((s for s in report.signers if s.field == row.field), None)
    if mine is None or not mine.bottom_line or (last and not report.ok):
        reasons = "; ".join(report.reasons) or "签名未通过验证"
        raise Invalid("signature_invalid", f"签名嵌入后验证失败 (the embedded signature does not "
                      f"validate): {reasons}")
    return signed, cert_row, mine


async def complete_signature(session: AsyncSession, authority: Authority, contract_id: int,
                             signature: bytes, *, user_id: int, org_id: int, actor: Actor,
                             at: datetime, prepare_id: str | None = None) -> Contract:
    """Check the signer's signature over the prepared attributes, embed it with its
    timestamp and validation data, check the result, store it.

    ``prepare_id`` (the HTTP API passes it: the SHA-256 of the signed attributes it handed
    out) must name the current preparation: a signature made for an earlier one is refused
    as ``stale_preparation`` rather than checked against other bytes."""
    contract = await _contract(session, contract_id)
    field = _field_of(contract, org_id)
    row = (await session.execute(select(ContractSignature).where(
        ContractSignature.contract_id == contract.id, ContractSignature.field == field)
    )).scalar_one_or_none()
    if row is None or row.user_id != user_id:
        raise Conflict("not_prepared", "请先准备签名 (prepare the signature first)")
    if row.state == "signed":
        raise Conflict("already_signed", "本方已签署，不能重复签署 (this party has already signed)")
    others = (await session.execute(select(ContractSignature).where(
        ContractSignature.contract_id == contract.id, ContractSignature.field != field,
        ContractSignature.state == "signed"))).scalars().all()
    last = len(others) == len(FIELDS) - 1
    signed, cert_row, mine = await embed_signature(
        session, authority, row, contract.pdf, signature, last=last, at=at,
        prepare_id=prepare_id, document=("合同", "contract"))
    digest = sha256_hex(signed)
    row.state, row.signed_sha256, row.signed_at = "signed", digest, at
    contract.pdf, contract.sha256 = signed, digest
    contract.state = "signed" if last else "signing"
    await append_event(session, actor=actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type="contract.signed",
                       payload={"field": field, "certificate": cert_row.serial,
                                "sha256": digest, "complete": last,
                                "timestamp": mine.timestamp.isoformat() if mine.timestamp
                                else None})
    if last:
        await _concluded(session, contract, actor, at)
    return contract


async def accept_signed_file(session: AsyncSession, authority: Authority, contract_id: int,
                             pdf: bytes, *, user_id: int, org_id: int, actor: Actor,
                             at: datetime) -> Contract:
    """The party's signature made by other software, uploaded as the whole signed file.

    It must be the stored contract with revisions appended (never a changed earlier byte),
    carry the party's signature in its field by the user's certificate, and every change after
    the earlier signatures must be one the certification allows. After the last signature the
    platform adds the validation data and the document timestamp, as in
    :func:`complete_signature`."""
    contract = await _contract(session, contract_id)
    field = _field_of(contract, org_id)
    if contract.state == "signed" or any(
            s.field == field and s.state == "signed" for s in (await session.execute(
                select(ContractSignature).where(ContractSignature.contract_id == contract.id)
            )).scalars().all()):
        raise Conflict("already_signed", "本方已签署，不能重复签署 (this party has already signed)")
    if not pdf.startswith(contract.pdf) or len(pdf) == len(contract.pdf):
        raise Invalid("altered_document", "上传的文件不是在当前合同之后追加签名的文件：之前的内容"
                      "被改动 (the upload is not the stored contract with a signature appended: "
                      "earlier bytes were changed)")
    cert_row = await _usable_certificate(session, user_id, org_id, at)
    report = await verify_contract_async(pdf, authority.trust_roots, at)
    mine = next((s for s in report.signers if s.field == field), None)
    if mine is None:
        raise Invalid("no_signature", f"上传的文件中没有本方签名域 {field} 的签名 (no signature "
                      f"in the field {field})")
    embedded = {s.field: s for s in report.signers}
    problems = [s.field for s in embedded.values() if not (s.bottom_line and s.docmdp_ok)]
    org = await session.get(Organisation, org_id)
    assert org is not None
    if problems or mine.credit_code != org.credit_code:
        reasons = "; ".join(report.reasons) or "签名者不是本方"
        raise Invalid("signature_invalid", f"上传的签名文件未通过验证 (the signed file does not "
                      f"validate): {reasons}")
    signer_cert = next(s.signer_cert for s in
                       PdfFileReader(BytesIO(pdf)).embedded_regular_signatures
                       if s.field_name == field)
    if signer_cert.dump() != load_certificate(cert_row.pem).public_bytes(
            serialization.Encoding.DER):
        raise Invalid("wrong_certificate", "签名所用证书不是该用户的有效证书 (the signature is not "
                      "made with this user's valid certificate)")
    return await _store_upload(session, authority, contract, field, cert_row, pdf, actor, at)


async def _concluded(session: AsyncSession, contract: Contract, actor: Actor,
                     at: datetime) -> None:
    """The contract is signed by both parties: ``contract.concluded``, its own event, reported
    to the platform as CONTRACT_PERFORMANCE (and an OCDS ``contract`` release), and its public
    version on the notices (contracts/publication.py), when the contract belongs to a project.
    It carries the facts the report states (no person's name:
    the representatives stay out of the public record)."""
    if contract.project_id is None:
        return
    facts = await current_facts(session, contract)
    assert actor.user_id is not None, "a contract is concluded by a signer"
    notice = await publish_contract_notice(session, facts, project_id=contract.project_id,
                                           sha256=contract.sha256, user_id=actor.user_id,
                                           at=at)
    await append_event(session, actor=actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type="contract.concluded", report_as="CONTRACT_PERFORMANCE",
                       payload={
                           "award_id": facts.award_id,
                           "section": {"code": facts.section.code, "name": facts.section.name},
                           "purchaser": {"name": facts.purchaser.name,
                                         "credit_code": facts.purchaser.credit_code},
                           "supplier": {"name": facts.supplier.name,
                                        "credit_code": facts.supplier.credit_code},
                           "price": facts.price, "currency": facts.currency,
                           "subject": facts.subject, "duration_days": facts.duration_days,
                           "quality": facts.quality, "sha256": contract.sha256,
                           "signed_at": isoformat_utc(at), "notice_id": notice.id})


async def _store_upload(session: AsyncSession, authority: Authority, contract: Contract,
                        field: str, cert_row: SignerCertificate, pdf: bytes, actor: Actor,
                        at: datetime) -> Contract:
    others = (await session.execute(select(ContractSignature).where(
        ContractSignature.contract_id == contract.id, ContractSignature.state == "signed")
    )).scalars().all()
    last = len(others) == len(FIELDS) - 1
    if last:
        validation = await signer_validation(session, authority, at, cert_row)
        pdf = signing.add_dss(pdf, validation)
        try:
            pdf = await signing.document_timestamp(pdf, authority.timestamper(at))
        except TimestampRequestError as error:
            raise unavailable(authority.tsa_url, error) from error
    digest = sha256_hex(pdf)
    session.add(ContractSignature(
        contract_id=contract.id, field=field, state="signed", org_id=cert_row.org_id,
        user_id=cert_row.user_id, certificate_id=cert_row.id, certify=not others,
        prepared_pdf=b"", document_digest=b"", reserved_start=0, reserved_end=0,
        signed_attributes=b"", prepared_at=at, signed_sha256=digest, signed_at=at))
    contract.pdf, contract.sha256 = pdf, digest
    contract.state = "signed" if last else "signing"
    await append_event(session, actor=actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type="contract.signed",
                       payload={"field": field, "certificate": cert_row.serial,
                                "sha256": digest, "complete": last, "uploaded": True})
    if last:
        await _concluded(session, contract, actor, at)
    return contract
