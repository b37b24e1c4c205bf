"""Amendments of a concluded contract (合同变更, issue 13).

Why a document of its own, never an edit: the concluded contract is a signed PDF that anyone
verifies without us, so it stays as it is. An amendment is a new document (合同变更协议), rendered
by the same renderer from a template kept as data (``contract_amendment.html``), stating which
clauses change (old → new text) and why, and naming the signed document it amends by its
SHA-256: the contract's signed file for the first amendment, the previous concluded
amendment's for the next, so the amendments form a chain from the contract. Both parties sign
it exactly as they sign the contract (the same interrupted PAdES signing with the signer's
key, RFC 3161 timestamps, validation data, a document timestamp after the second signature:
B-LTA), so ``tradesys verify contract`` checks an amendment as it checks a contract.

What an amendment can never change: the contract's subject, price, quality and duration (and
the parties, the award), fixed by the award (条例 Art. 57); 招标投标法 Art. 46 forbids agreements
that contradict the contract's substance. Only the negotiable clauses change
(:func:`apply_changes`); naming a fixed term is refused as ``fixed_term`` with the field named.

Who: either party's user, or the host (the agency hosting the tender, or the procurer running
its own) proposes; only the parties sign. One amendment is open at a time (*decision*: the
chain has one next link; a second proposal while one is unsigned is ``amendment_open``), and
the proposal must name the current document's SHA-256 (``stale_base`` otherwise), so nobody
amends a document they have not seen.

Each step is one event naming the SHA-256 of the file it stores: ``contract.amendment_proposed``,
``contract.amendment_signature_prepared``, ``contract.amendment_signed`` and, at the second
signature, ``contract.amended``. A concluded amendment of a project's contract is published as
the contract was (contracts/publication.py), its public version naming the changed clauses and
both files' SHA-256, never the clauses' text or a person's name.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.facts import Clause, ContractFacts
from contracts.generation import FIELDS, add_signature_fields, sha256_hex
from contracts.models import AmendmentSignature, Contract, ContractAmendment, SignerCertificate
from contracts.publication import publish_amendment_notice
from contracts.store import (
    Authority,
    _contract,
    _field_of,
    current_facts,
    embed_signature,
    prepared_values,
)
from tradesys.clock import isoformat_utc
from tradesys.documents.render import render_pdf
from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.evaluation.review import is_host
from tradesys.events.canonical import canonical_json
from tradesys.events.log import Actor, append_event
from tradesys.formatting import capital_amount
from tradesys.identity.principal import Principal
from tradesys.procurement.models import Project
from tradesys.strict import ONE_LINE, Strict

__all__ = [
    "FIXED_TERMS",
    "AmendmentTerms",
    "Change",
    "apply_changes",
    "complete_amendment_signature",
    "current_document",
    "fixed_term",
    "prepare_amendment_signature",
    "prerender_amendment",
    "propose_amendment",
]

TEMPLATE = "contract_amendment.html"
#: As many clauses as a contract's facts hold.
MAX_CLAUSES = 200
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Title = Annotated[str, ONE_LINE, Field(min_length=1, max_length=100)]

#: Names of the facts no amendment may change, as a client may spell them (the facts' field
#: names and the contract templates' headings), each to the field it means.
FIXED_TERMS: dict[str, str] = {
    **{name: name for name in ("subject", "price", "currency", "quality", "duration_days",
                               "purchaser", "supplier", "award_id", "project", "section",
                               "trade_type", "awarded_at")},
    "duration": "duration_days", "parties": "parties",
    **dict.fromkeys(("标的", "合同标的", "采购标的", "工程概况与承包范围", "承包范围"), "subject"),
    **dict.fromkeys(("价款", "合同价款", "合同金额", "合同价格", "价格", "中标价"), "price"),
    **dict.fromkeys(("质量", "质量标准", "质量要求"), "quality"),
    **dict.fromkeys(("期限", "工期", "合同工期", "履行期限", "交付期限", "服务期限"),
                    "duration_days"),
    "甲方": "purchaser", "乙方": "supplier", "合同当事人": "parties", "当事人": "parties",
}


def fixed_term(title: str) -> str | None:
    """The fixed fact a clause title names, if it names one (pure)."""
    key = "".join(title.split()).lower()
    return FIXED_TERMS.get(key)


class Change(Strict):
    """One clause's change: ``old`` is its current text (``None``: a new clause), ``new`` its
    text after the amendment (``None``: the clause is removed)."""

    clause: Title
    old: Text | None = None
    new: Text | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Change:
        if self.old is None and self.new is None:
            raise ValueError("old 与 new 不能都为空 (a change needs the old or the new text)")
        if self.old == self.new:
            raise ValueError("新旧内容相同 (the new text equals the old)")
        return self


class AmendmentTerms(Strict):
    """What an amendment states (stored as canonical JSON, rendered into its PDF)."""

    number: Annotated[int, Field(ge=1)]
    contract_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    base_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    reason: Text
    changes: Annotated[list[Change], Field(min_length=1, max_length=50)]
    clauses: Annotated[list[Clause], Field(max_length=MAX_CLAUSES)]  #: the clauses after it


def apply_changes(clauses: list[Clause], changes: list[Change]) -> list[Clause]:
    """The negotiable clauses after ``changes`` (pure). A fixed term is refused naming its
    field (``fixed_term``); ``old`` must be the clause's current text (``clause_mismatch``),
    so a change is made to what its proposer saw."""
    result = [Clause(title=c.title, text=c.text) for c in clauses]
    seen: set[str] = set()
    for change in changes:
        field = fixed_term(change.clause)
        if field is not None:
            raise Invalid("fixed_term", f"合同的 {field}（{change.clause}）由中标结果确定，不得变更"
                          f"（招标投标法实施条例第五十七条、招标投标法第四十六条）(the contract's "
                          f"{field} is fixed by the award and cannot be amended)",
                          details={"field": field, "clause": change.clause})
        if change.clause in seen:
            raise Invalid("duplicate_change", f"条款“{change.clause}”重复变更 (the clause is "
                          "changed twice)", details={"clause": change.clause})
        seen.add(change.clause)
        index = next((i for i, c in enumerate(result) if c.title == change.clause), None)
        if change.old is None:
            if index is not None:
                raise Conflict("clause_mismatch", f"条款“{change.clause}”已存在，变更须写明其原"
                               "内容 (the clause exists: state its current text as old)",
                               details={"clause": change.clause})
            assert change.new is not None
            result.append(Clause(title=change.clause, text=change.new))
            continue
        if index is None or result[index].text != change.old:
            raise Conflict("clause_mismatch", f"条款“{change.clause}”的原内容与现行合同不符 "
                           "(the old text is not the clause's current text)",
                           details={"clause": change.clause})
        if change.new is None:
            del result[index]
        else:
            result[index] = Clause(title=change.clause, text=change.new)
    if len(result) > MAX_CLAUSES:
        raise Invalid("too_many_clauses", f"变更后条款超过 {MAX_CLAUSES} 条 (more than "
                      f"{MAX_CLAUSES} clauses after the amendment)")
    return result


# --- reading -----------------------------------------------------------------------------


async def amendments_of(session: AsyncSession, contract_id: int) -> list[ContractAmendment]:
    return list((await session.execute(select(ContractAmendment).where(
        ContractAmendment.contract_id == contract_id).order_by(ContractAmendment.number)
    )).scalars().all())


async def amendment_of(session: AsyncSession, contract_id: int, number: int, *,
                       lock: bool = False) -> ContractAmendment:
    query = select(ContractAmendment).where(ContractAmendment.contract_id == contract_id,
                                            ContractAmendment.number == number)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound("amendment_not_found", "该变更协议不存在 (no such amendment)")
    return row


def current_document(contract: Contract, amendments: list[ContractAmendment]) -> str:
    """The SHA-256 of the document in force: the last concluded amendment's, else the
    signed contract's (what the next amendment must refer to)."""
    concluded = [a for a in amendments if a.state == "signed"]
    return concluded[-1].sha256 if concluded else contract.sha256


def in_force_clauses(facts: ContractFacts, amendments: list[ContractAmendment]
                     ) -> list[Clause]:
    concluded = [a for a in amendments if a.state == "signed"]
    if not concluded:
        return list(facts.clauses)
    return AmendmentTerms.model_validate_json(concluded[-1].terms).clauses


def _terms_json(terms: AmendmentTerms) -> str:
    return canonical_json(terms.model_dump(mode="json")).decode("utf-8")


def amendment_pdf(facts: ContractFacts, terms: AmendmentTerms) -> bytes:
    """The amendment's PDF with both (empty) signature fields on its last page. CPU-bound."""
    rendered = render_pdf(TEMPLATE, {"facts": facts.model_dump(mode="json"),
                                     "amendment": terms.model_dump(mode="json"),
                                     "capital": capital_amount(facts.price)})
    return add_signature_fields(rendered)


#: Amendment PDFs rendered before the write transaction, by the terms' canonical JSON.
Rendered = dict[str, bytes]


# --- proposing ---------------------------------------------------------------------------


async def _may_propose(session: AsyncSession, principal: Principal, contract: Contract) -> None:
    if principal.org_id in (contract.purchaser_org_id, contract.supplier_org_id):
        return
    if contract.project_id is not None:
        project = await session.get(Project, contract.project_id)
        if project is not None and await is_host(session, principal, project):
            return
    raise Forbidden("not_party_or_host", "只有合同当事人或招标代理机构可以提出合同变更 (only a "
                    "party to the contract or the host may propose an amendment)")


async def _terms(session: AsyncSession, principal: Principal, contract: Contract, *,
                 base_sha256: str, reason: str, changes: list[Change]
                 ) -> tuple[ContractFacts, AmendmentTerms]:
    """The new amendment's terms, or the refusal (reads only)."""
    await _may_propose(session, principal, contract)
    if contract.state != "signed":
        raise Conflict("contract_not_concluded", "合同尚未由双方签署，不能变更 (the contract is "
                       "not signed by both parties: there is nothing to amend)")
    amendments = await amendments_of(session, contract.id)
    if any(a.state != "signed" for a in amendments):
        raise Conflict("amendment_open", "已有未签署完成的变更协议 (an amendment is still being "
                       "signed)")
    current = current_document(contract, amendments)
    if base_sha256 != current:
        raise Conflict("stale_base", "变更须针对现行文件：所引用的 SHA-256 不是现行合同文件 (the "
                       "amendment must refer to the document in force: that SHA-256 is not it)",
                       details={"current_sha256": current})
    facts = await current_facts(session, contract)
    clauses = apply_changes(in_force_clauses(facts, amendments), changes)
    terms = AmendmentTerms(number=len(amendments) + 1, contract_sha256=contract.sha256,
                           base_sha256=current, reason=reason, changes=changes,
                           clauses=clauses)
    return facts, terms


async def prerender_amendment(session: AsyncSession, principal: Principal, contract_id: int, *,
                              base_sha256: str, reason: str, changes: list[Change]
                              ) -> Rendered:
    """The PDF :func:`propose_amendment` would store, rendered in a **read** transaction
    (WeasyPrint takes seconds; ``store.render_draft`` says why); nothing for a request the
    command will refuse (it gives the reason)."""
    contract = await session.get(Contract, contract_id)
    if contract is None:
        return {}
    try:
        facts, terms = await _terms(session, principal, contract, base_sha256=base_sha256,
                                    reason=reason, changes=changes)
    except (Conflict, Forbidden, Invalid, NotFound):
        return {}
    return {_terms_json(terms): await asyncio.to_thread(amendment_pdf, facts, terms)}


async def propose_amendment(session: AsyncSession, principal: Principal, contract_id: int, *,
                            base_sha256: str, reason: str, changes: list[Change],
                            at: datetime, rendered: Rendered | None = None
                            ) -> ContractAmendment:
    """A new amendment of the concluded contract (a party or the host)."""
    contract = await _contract(session, contract_id)
    facts, terms = await _terms(session, principal, contract, base_sha256=base_sha256,
                                reason=reason, changes=changes)
    text = _terms_json(terms)
    pdf = (rendered or {}).get(text)
    if pdf is None:
        pdf = await asyncio.to_thread(amendment_pdf, facts, terms)
    digest = sha256_hex(pdf)
    row = ContractAmendment(contract_id=contract.id, number=terms.number,
                            base_sha256=terms.base_sha256, terms=text, state="proposed",
                            pdf=pdf, sha256=digest, proposed_sha256=digest,
                            created_by=principal.user_id, created_at=at)
    session.add(row)
    await session.flush()
    await append_event(session, actor=principal.actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type="contract.amendment_proposed",
                       payload={"amendment": terms.number, "sha256": digest,
                                "base_sha256": terms.base_sha256,
                                "contract_sha256": terms.contract_sha256,
                                "clauses_changed": [c.clause for c in changes],
                                "terms_sha256": hashlib.sha256(text.encode()).hexdigest()})
    return row


# --- signing -----------------------------------------------------------------------------


async def _signatures(session: AsyncSession, amendment: ContractAmendment
                      ) -> dict[str, AmendmentSignature]:
    return {s.field: s for s in (await session.execute(select(AmendmentSignature).where(
        AmendmentSignature.amendment_id == amendment.id))).scalars().all()}


async def prepare_amendment_signature(session: AsyncSession, authority: Authority,
                                      contract_id: int, number: int, *, user_id: int,
                                      org_id: int, actor: Actor,
                                      at: datetime) -> AmendmentSignature:
    """As ``store.prepare_signature``, over the amendment's file: the first signer certifies,
    preparing again replaces an unfinished preparation."""
    contract = await _contract(session, contract_id)
    field = _field_of(contract, org_id)
    amendment = await amendment_of(session, contract.id, number, lock=True)
    rows = await _signatures(session, amendment)
    mine = rows.get(field)
    if amendment.state == "signed" or (mine is not None and mine.state == "signed"):
        raise Conflict("already_signed", "本方已签署，不能重复签署 (this party has already signed)")
    values, cert_row = await prepared_values(
        session, authority, amendment.pdf, field=field,
        signed=any(s.state == "signed" for s in rows.values()), user_id=user_id, org_id=org_id,
        at=at)
    if mine is None:
        mine = AmendmentSignature(amendment_id=amendment.id, field=field, **values)
        session.add(mine)
    else:
        for name, value in values.items():
            setattr(mine, name, value)
    amendment.state = "signing"
    await session.flush()
    await append_event(session, actor=actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type="contract.amendment_signature_prepared",
                       payload={"amendment": amendment.number, "field": field,
                                "certificate": cert_row.serial,
                                "certify": values["certify"],
                                "base_sha256": amendment.sha256,
                                "signed_attributes_sha256": hashlib.sha256(
                                    values["signed_attributes"]).hexdigest()})
    return mine


async def complete_amendment_signature(
        session: AsyncSession, authority: Authority, contract_id: int, number: int,
        signature: bytes, *, user_id: int, org_id: int, actor: Actor, at: datetime,
        prepare_id: str | None = None) -> ContractAmendment:
    """As ``store.complete_signature``: the signature is checked against the certificate's
    key over the prepared bytes before anything is embedded, timestamped, embedded with the
    validation data (and after the second the document timestamp), validated, stored."""
    contract = await _contract(session, contract_id)
    field = _field_of(contract, org_id)
    amendment = await amendment_of(session, contract.id, number, lock=True)
    rows = await _signatures(session, amendment)
    row = rows.get(field)
    if row is None or row.user_id != user_id:
        raise Conflict("not_prepared", "请先准备签名 (prepare the signature first)")
    if row.state == "signed":
        raise Conflict("already_signed", "本方已签署，不能重复签署 (this party has already signed)")
    last = sum(1 for s in rows.values() if s.field != field and s.state == "signed") \
        == len(FIELDS) - 1
    signed, cert_row, mine = await embed_signature(
        session, authority, row, amendment.pdf, signature, last=last, at=at,
        prepare_id=prepare_id, document=("变更协议", "amendment"))
    digest = sha256_hex(signed)
    row.state, row.signed_sha256, row.signed_at = "signed", digest, at
    amendment.pdf, amendment.sha256 = signed, digest
    await append_event(session, actor=actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type="contract.amendment_signed",
                       payload={"amendment": amendment.number, "field": field,
                                "certificate": cert_row.serial, "sha256": digest,
                                "complete": last,
                                "timestamp": mine.timestamp.isoformat() if mine.timestamp
                                else None})
    if last:
        amendment.state, amendment.concluded_at = "signed", at
        await _amended(session, contract, amendment, actor, at)
    return amendment


async def _amended(session: AsyncSession, contract: Contract, amendment: ContractAmendment,
                   actor: Actor, at: datetime) -> None:
    """``contract.amended``, and the public version on the notices when the contract belongs
    to a project (as its conclusion was published). Not reported to the platform: no data set
    of the data-spec carries an amendment (docs/contracts.md)."""
    terms = AmendmentTerms.model_validate_json(amendment.terms)
    notice_id = None
    if contract.project_id is not None:
        assert actor.user_id is not None, "an amendment is concluded by a signer"
        facts = await current_facts(session, contract)
        notice = await publish_amendment_notice(
            session, facts, number=amendment.number,
            clauses=[c.clause for c in terms.changes], sha256=amendment.sha256,
            base_sha256=amendment.base_sha256, project_id=contract.project_id,
            user_id=actor.user_id, at=at)
        notice_id = notice.id
    await append_event(session, actor=actor, at=at, aggregate_type="contract",
                       aggregate_id=contract.id, project_id=contract.project_id,
                       type="contract.amended",
                       payload={"amendment": amendment.number, "award_id": contract.award_id,
                                "sha256": amendment.sha256, "base_sha256": amendment.base_sha256,
                                "contract_sha256": terms.contract_sha256,
                                "clauses_changed": [c.clause for c in terms.changes],
                                "signed_at": isoformat_utc(at), "notice_id": notice_id})


# --- what a reader sees ------------------------------------------------------------------


async def amendment_json(session: AsyncSession, amendment: ContractAmendment) -> dict[str, Any]:
    terms = json.loads(amendment.terms)
    rows = await _signatures(session, amendment)
    return {
        "contract_id": amendment.contract_id, "number": amendment.number,
        "state": amendment.state, "sha256": amendment.sha256,
        "proposed_sha256": amendment.proposed_sha256, "base_sha256": amendment.base_sha256,
        "contract_sha256": terms["contract_sha256"], "reason": terms["reason"],
        "changes": terms["changes"], "clauses": terms["clauses"],
        "size": len(amendment.pdf), "created_by": amendment.created_by,
        "created_at": isoformat_utc(amendment.created_at),
        "concluded_at": isoformat_utc(amendment.concluded_at) if amendment.concluded_at
        else None,
        "signatures": [{"field": name, "state": rows[name].state,
                        "certifies": rows[name].certify,
                        "signed_at": isoformat_utc(rows[name].signed_at)
                        if rows[name].signed_at else None,
                        "sha256": rows[name].signed_sha256} if name in rows
                       else {"field": name, "state": "unsigned"} for name in FIELDS],
    }


async def prepared_json(session: AsyncSession, row: AmendmentSignature, contract_id: int,
                        number: int) -> dict[str, Any]:
    """What the signer's browser needs, as for the contract (``views.prepared_json``)."""
    certificate = await session.get_one(SignerCertificate, row.certificate_id)
    return {"contract_id": contract_id, "amendment": number,
            "prepare_id": hashlib.sha256(row.signed_attributes).hexdigest(),
            "field": row.field, "certifies": row.certify, "certificate": certificate.serial,
            "key_id": certificate.key_id,
            "signed_attributes": base64.b64encode(row.signed_attributes).decode("ascii"),
            "algorithm": {"name": "ECDSA", "namedCurve": "P-256", "hash": "SHA-256"}}
