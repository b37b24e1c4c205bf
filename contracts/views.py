"""Who may read a contract, and what a reader is shown.

Why a module of its own: the signing commands (``contracts.store``) decide from plain ids
who may act (only a party's organisation signs or negotiates); reading has one more reader,
the supervision authority (行政监督部门), which reads every contract and changes none, as it
reads the evaluation report (``tradesys.award.report``). Everyone else, other bidders
included, is refused: a contract's price and clauses are the parties' business until it is
published.

What a reader sees is the contract's state, both parties, every draft with its SHA-256 (the
hash its event names), each signature's progress and the current facts; never the prepared
bytes, which only the signing party's own calls use.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.generation import FIELDS
from contracts.models import Contract, ContractDraft, ContractSignature, SignerCertificate
from contracts.verify import ContractReport
from tradesys.clock import isoformat_utc
from tradesys.errors import Forbidden, NotFound
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role

__all__ = [
    "SIGNER_ROLES",
    "certificate_json",
    "contract_json",
    "contracts_of",
    "draft_of",
    "my_certificates",
    "own_certificate",
    "prepare_id",
    "readable_contract",
    "report_json",
]

#: Roles whose users sign contracts for their organisation: the tenderer or purchaser (甲方)
#: and the winning bidder (乙方).
SIGNER_ROLES = (Role.PROCURER, Role.BIDDER)


def prepare_id(signed_attributes: bytes) -> str:
    """Names one preparation: the SHA-256 of the signed attributes the signer signs. The
    completion must name it, so a signature made for an earlier preparation is refused."""
    return hashlib.sha256(signed_attributes).hexdigest()


def is_party(contract: Contract, principal: Principal) -> bool:
    return principal.org_id in (contract.purchaser_org_id, contract.supplier_org_id)


async def readable_contract(session: AsyncSession, principal: Principal,
                            contract_id: int) -> Contract:
    """The contract, for one of its parties' users or a supervisor; 404 / 403 otherwise."""
    contract = await session.get(Contract, contract_id)
    if contract is None:
        raise NotFound("contract_not_found", "合同不存在 (no such contract)")
    if not is_party(contract, principal) and principal.role is not Role.SUPERVISOR:
        raise Forbidden("not_contract_reader", "合同仅当事人和监督部门可阅 (only the parties "
                        "and supervisors read a contract)")
    return contract


async def contracts_of(session: AsyncSession, principal: Principal, *, after: int | None,
                       limit: int) -> list[Contract]:
    """The contracts the caller may read, oldest first (keyset on the id)."""
    query = select(Contract).order_by(Contract.id).limit(limit)
    if principal.role is not Role.SUPERVISOR:
        query = query.where(or_(Contract.purchaser_org_id == principal.org_id,
                                Contract.supplier_org_id == principal.org_id))
    if after is not None:
        query = query.where(Contract.id > after)
    return list((await session.execute(query)).scalars().all())


async def draft_of(session: AsyncSession, contract: Contract, number: int) -> ContractDraft:
    draft = (await session.execute(select(ContractDraft).where(
        ContractDraft.contract_id == contract.id, ContractDraft.number == number)
    )).scalar_one_or_none()
    if draft is None:
        raise NotFound("draft_not_found", "该稿不存在 (no such draft)")
    return draft


def _party(org: Organisation) -> dict[str, Any]:
    return {"org_id": org.id, "name": org.name, "credit_code": org.credit_code}


async def contract_json(session: AsyncSession, principal: Principal,
                        contract: Contract) -> dict[str, Any]:
    drafts = (await session.execute(select(ContractDraft).where(
        ContractDraft.contract_id == contract.id).order_by(ContractDraft.number)
    )).scalars().all()
    signatures = (await session.execute(select(ContractSignature).where(
        ContractSignature.contract_id == contract.id))).scalars().all()
    serials = {row.id: row.serial for row in (await session.execute(
        select(SignerCertificate).where(SignerCertificate.id.in_(
            [s.certificate_id for s in signatures])))).scalars().all()} if signatures else {}
    purchaser = await session.get(Organisation, contract.purchaser_org_id)
    supplier = await session.get(Organisation, contract.supplier_org_id)
    assert purchaser is not None and supplier is not None
    mine = None
    if principal.org_id == contract.purchaser_org_id:
        mine = FIELDS[0]
    elif principal.org_id == contract.supplier_org_id:
        mine = FIELDS[1]
    current = next(d for d in drafts if d.number == contract.draft)
    by_field = {s.field: s for s in signatures}
    return {
        "id": contract.id, "award_id": contract.award_id, "project_id": contract.project_id,
        "state": contract.state, "draft": contract.draft, "sha256": contract.sha256,
        "size": len(contract.pdf), "created_at": isoformat_utc(contract.created_at),
        "parties": {"purchaser": _party(purchaser), "supplier": _party(supplier)},
        "your_field": mine,
        "facts": json.loads(current.facts),
        # Each draft's negotiable clauses, so a party sees what changed between two drafts
        # (only the clauses can change: 条例 Art. 57).
        "drafts": [{"number": d.number, "sha256": d.sha256,
                    "created_at": isoformat_utc(d.created_at), "created_by": d.created_by,
                    "clauses": json.loads(d.facts).get("clauses", [])}
                   for d in drafts],
        "signatures": [_signature_json(by_field[name], serials) if name in by_field
                       else {"field": name, "state": "unsigned"} for name in FIELDS],
    }


def _signature_json(row: ContractSignature, serials: dict[int, str]) -> dict[str, Any]:
    return {"field": row.field, "state": row.state, "org_id": row.org_id,
            "user_id": row.user_id, "certificate": serials.get(row.certificate_id),
            "certifies": row.certify, "prepared_at": isoformat_utc(row.prepared_at),
            "signed_at": isoformat_utc(row.signed_at) if row.signed_at else None,
            "sha256": row.signed_sha256}


async def prepared_json(session: AsyncSession, row: ContractSignature) -> dict[str, Any]:
    """What the signer's browser needs to sign a preparation: the bytes, and which registered
    key (the certificate's) must sign them, so the page picks its own copy of that key."""
    certificate = await session.get_one(SignerCertificate, row.certificate_id)
    return {"contract_id": row.contract_id, "prepare_id": prepare_id(row.signed_attributes),
            "field": row.field, "certifies": row.certify,
            "certificate": certificate.serial, "key_id": certificate.key_id,
            "signed_attributes": base64.b64encode(row.signed_attributes).decode("ascii"),
            "algorithm": {"name": "ECDSA", "namedCurve": "P-256", "hash": "SHA-256"}}


def report_json(report: ContractReport) -> dict[str, Any]:
    """``contracts.verify``'s report as JSON: what ``tradesys verify contract`` prints."""

    def moment(value: Any) -> str | None:
        return isoformat_utc(value) if value is not None else None

    return {
        "ok": report.ok, "reasons": report.reasons,
        "document_timestamp": moment(report.document_timestamp),
        "covers_whole_file": report.covers_whole_file,
        "signers": [{"field": s.field, "signer": s.signer, "organization": s.organization,
                     "credit_code": s.credit_code, "signing_time": moment(s.signing_time),
                     "timestamp": moment(s.timestamp), "coverage": s.coverage,
                     "modifications": s.modifications, "intact": s.intact, "valid": s.valid,
                     "trusted": s.trusted, "docmdp_ok": s.docmdp_ok,
                     "bottom_line": s.bottom_line, "certifies": s.certifies}
                    for s in report.signers],
    }


# --- the caller's own certificates ------------------------------------------------------


def require_signer(principal: Principal) -> None:
    principal.require_role(*SIGNER_ROLES)


def certificate_json(row: SignerCertificate) -> dict[str, Any]:
    return {"id": row.id, "serial": row.serial, "key_id": row.key_id, "pem": row.pem,
            "issued_at": isoformat_utc(row.issued_at), "not_after": isoformat_utc(row.not_after),
            "revoked_at": isoformat_utc(row.revoked_at) if row.revoked_at else None,
            "external": bool(row.external)}


async def my_certificates(session: AsyncSession, principal: Principal) -> list[SignerCertificate]:
    return list((await session.execute(select(SignerCertificate).where(
        SignerCertificate.user_id == principal.user_id).order_by(SignerCertificate.id)
    )).scalars().all())


async def own_certificate(session: AsyncSession, principal: Principal,
                          certificate_id: int) -> SignerCertificate:
    """A certificate its holder (or the platform's administrator) may revoke; another user's
    is not found, so a stranger learns nothing of it."""
    row = await session.get(SignerCertificate, certificate_id)
    if row is None or (row.user_id != principal.user_id and principal.role is not Role.ADMIN):
        raise NotFound("certificate_not_found", "证书不存在 (no such certificate)")
    return row
