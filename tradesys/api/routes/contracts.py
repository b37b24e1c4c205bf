"""Contract signing (合同网签) over HTTP, and the built-in CA's public endpoints
(docs/contracts.md, docs/api.md).

Two kinds of endpoint:

- **Public, under ``/contracts/ca``**: what the certificates point at, so that anyone can check
  a signature without an account: the CA certificates, the CRLs (``crl``, ``root.crl``), OCSP
  (RFC 6960, POST and GET) and the time-stamping authority (RFC 3161). The paths are the ones
  ``contracts.services.ca_base_url`` puts into every certificate.
- **Authenticated**: a signer's certificate for the registered signing key; reading a contract
  (its parties and supervisors); negotiating a draft; the interrupted signature (prepare, then
  complete with the signature the browser's WebCrypto made over the prepared bytes); the upload
  of a file signed with other software; the current PDF; the server's verification.

The route only parses, authorizes the caller's identity and calls the domain (``contracts``):
who may sign or negotiate is decided there from the caller's organisation; who may read, in
``contracts.views``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Annotated, Any

from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from contracts import amendments, from_award, responders, securities, store, views
from contracts.cli import signing_request
from contracts.facts import Clause
from contracts.pki import certificate_pem
from contracts.services import CA_PATH, AuthoritySource
from contracts.store import Authority
from contracts.verify import verify_contract_async
from tradesys.api.errors import BadRequest, TooLarge, UnsupportedMediaType
from tradesys.api.pagination import PAGE, cursor_id, decode_cursor, encode_cursor, parse_limit
from tradesys.api.routing import BINARY, Call, Content, Result, Router
from tradesys.clock import isoformat_utc
from tradesys.identity.principal import Principal
from tradesys.procurement.commands import Amount, CreditCode
from tradesys.strict import ONE_LINE, Strict

router = Router()

#: The CA's paths below the API prefix (``/api/v1`` + this = ``contracts.services.CA_PATH``).
CA = CA_PATH.removeprefix(router.prefix)
CONTRACT = "/contracts/{contract_id:int}"
#: An OCSP or time-stamp request is a few hundred bytes; far more is not one.
MAX_PROTOCOL_BYTES = 64 * 1024
#: An uploaded signed file is the stored contract plus a signature revision (tens of KiB):
#: anything larger than the stored file by more than this is not a signature.
MAX_SIGNATURE_GROWTH = 16 * 1024 * 1024

PEM_CERT = Content(("application/x-pem-file",), {"type": "string",
                                                   "pattern": "^-----BEGIN CERTIFICATE-----\\n"})
DER_CERT = Content(("application/pkix-cert",), BINARY)
CRL = Content(("application/pkix-crl",), BINARY)
OCSP_REQUEST = Content(("application/ocsp-request",), BINARY)
OCSP_RESPONSE = Content(("application/ocsp-response",), BINARY)
TSA_QUERY = Content(("application/timestamp-query",), BINARY)
TSA_REPLY = Content(("application/timestamp-reply",), BINARY)
PDF = Content(("application/pdf",), BINARY)

KeyId = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
#: Standard base64 of a P-256 signature: raw r‖s (64 bytes, WebCrypto) or DER (≤ 72 bytes).
#: The pattern admits only decodable base64.
SignatureB64 = Annotated[str, Field(pattern=r"^(?:[A-Za-z0-9+/]{4}){2,50}"
                                    r"(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")]


class CertificateIn(Strict):
    """The registered signing key (``/api/v1/keys``, purpose ``signing``) to certify."""

    key_id: KeyId


class ExternalCertificateIn(Strict):
    """A certificate from an external CA the deployment trusts (PEM), for one of the caller's
    registered signing keys, with the intermediates between it and the trusted root (PEM)."""

    pem: Annotated[str, Field(min_length=1, max_length=20000)]
    intermediates: Annotated[list[Annotated[str, Field(min_length=1, max_length=20000)]],
                             Field(max_length=4, default_factory=list)]


class RevocationIn(Strict):
    reason: Annotated[str, ONE_LINE, Field(min_length=1, max_length=200)]


class DraftIn(Strict):
    """The negotiated clauses of the new draft; price, subject, quality and duration stay as
    awarded (条例 Art. 57)."""

    clauses: Annotated[list[Clause], Field(max_length=200)]


class AmendmentIn(Strict):
    """A proposed amendment: the SHA-256 of the document in force it amends (the signed
    contract's, or the last concluded amendment's), the reason, and the clauses that change
    (old → new text). The fixed terms (subject, price, quality, duration) are no clause."""

    base_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    reason: Annotated[str, Field(min_length=1, max_length=4000)]
    changes: Annotated[list[amendments.Change], Field(min_length=1, max_length=50)]


class SecurityReturnIn(Strict):
    """A bidder's security returned (条例 Art. 57): whose (its credit code), the bank's or the
    guarantor's reference of the return, the interest paid with it, a note."""

    credit_code: CreditCode
    reference: Annotated[str, ONE_LINE, Field(min_length=1, max_length=100)]
    interest: Amount | None = None
    note: Annotated[str, ONE_LINE, Field(min_length=1, max_length=500)] | None = None


class CompleteIn(Strict):
    """The signer's ECDSA P-256 / SHA-256 signature over the prepared ``signed_attributes``,
    base64; ``prepare_id`` from the preparation it answers."""

    prepare_id: KeyId
    signature: SignatureB64


# --- helpers ----------------------------------------------------------------------------


async def _authority(call: Call) -> Authority:
    state = call.request.app.state
    source = getattr(state, "contract_authority", None)
    if source is None:
        source = AuthoritySource(call.services.settings)
        state.contract_authority = source
    authority: Authority = await source.get(call.now)
    return authority


def _binary(data: bytes, media_type: str, *, cache: str = "no-cache",
            filename: str | None = None) -> Response:
    headers = {"Cache-Control": cache}
    if filename is not None:
        headers["Content-Disposition"] = f"attachment; filename={filename}"
    return Response(data, media_type=media_type, headers=headers)


async def _raw_body(call: Call, media_types: tuple[str, ...], limit: int) -> bytes:
    """The body of one of ``media_types``, at most ``limit`` bytes (415 / 413 otherwise)."""
    content_type = call.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in media_types:
        names = ", ".join(media_types)
        raise UnsupportedMediaType("unsupported_media_type",
                                   f"请求体须为 {names} (the body must be {names})")
    data = bytearray()
    async for chunk in call.request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge("body_too_large", "请求体过大 (the request body is too large)")
    if not data:
        raise BadRequest("empty_body", "请求体为空 (the body is empty)")
    return bytes(data)


# --- the CA's public endpoints ------------------------------------------------------------


def _certificate_routes(part: str, label: str) -> None:
    async def pem(call: Call) -> Response:
        cert = getattr((await _authority(call)).ca, part)
        return _binary(certificate_pem(cert).encode("ascii"), "application/x-pem-file",
                       cache="public, max-age=86400", filename=f"{part}.pem")

    async def der(call: Call) -> Response:
        cert = getattr((await _authority(call)).ca, part)
        return _binary(cert.public_bytes(Encoding.DER), "application/pkix-cert",
                       cache="public, max-age=86400", filename=f"{part}.crt")

    pem.__name__, der.__name__ = f"ca_{part}_pem", f"ca_{part}_der"
    router.endpoint("GET", f"{CA}/{part}.pem", summary=f"{label} (PEM)", tag="contracts-ca",
                    public=True, produces=PEM_CERT)(pem)
    router.endpoint("GET", f"{CA}/{part}.crt", summary=f"{label} (DER)", tag="contracts-ca",
                    public=True, produces=DER_CERT)(der)


for _part, _label in (("root", "合同签名根证书 (the contract CA's root certificate: the trust "
                               "anchor)"),
                      ("issuing", "签名证书颁发机构证书 (the issuing CA that signs the signers' "
                                  "certificates)"),
                      ("tsa", "时间戳服务证书 (the time-stamping authority's certificate)")):
    _certificate_routes(_part, _label)


@router.endpoint("GET", f"{CA}/crl", summary="证书吊销列表 (the issuing CA's CRL, current as of "
                 "the server clock)", tag="contracts-ca", public=True, produces=CRL)
async def ca_crl(call: Call) -> Response:
    authority = await _authority(call)
    async with call.services.db.reading() as session:
        data = await responders.crl(session, authority, call.now)
    return _binary(data, "application/pkix-crl")


@router.endpoint("GET", f"{CA}/root.crl", summary="根证书吊销列表 (the root's CRL: it covers "
                 "the issuing CA)", tag="contracts-ca", public=True, produces=CRL)
async def ca_root_crl(call: Call) -> Response:
    return _binary(responders.root_crl(await _authority(call), call.now), "application/pkix-crl")


async def _ocsp(call: Call, request: bytes) -> Response:
    authority = await _authority(call)
    async with call.services.db.reading() as session:
        data = await responders.ocsp_answer(session, authority, request, call.now)
    return _binary(data, "application/ocsp-response", cache="no-store")


@router.endpoint("POST", f"{CA}/ocsp", summary="OCSP (RFC 6960): the status of a certificate "
                 "the issuing CA issued", tag="contracts-ca", public=True,
                 raw_body=OCSP_REQUEST, produces=OCSP_RESPONSE)
async def ca_ocsp(call: Call) -> Response:
    return await _ocsp(call, await _raw_body(call, OCSP_REQUEST.media_types,
                                             MAX_PROTOCOL_BYTES))


@router.endpoint("GET", f"{CA}/ocsp/{{request:path}}", summary="OCSP by GET (RFC 6960 A.1: "
                 "the DER request, base64, URL-encoded)", tag="contracts-ca", public=True,
                 produces=OCSP_RESPONSE)
async def ca_ocsp_get(call: Call) -> Response:
    encoded = call.request.path_params["request"]
    try:
        if len(encoded) > MAX_PROTOCOL_BYTES:
            raise ValueError("too long")
        request = base64.b64decode(encoded, validate=True)
    except ValueError as error:
        raise BadRequest("malformed_ocsp_request", "不是 base64 编码的 OCSP 请求 (not a "
                         "base64-encoded OCSP request)") from error
    return await _ocsp(call, request)


@router.endpoint("POST", f"{CA}/tsa", summary="时间戳服务 (RFC 3161 time-stamping at the server "
                 "clock's time)", tag="contracts-ca", public=True, raw_body=TSA_QUERY,
                 produces=TSA_REPLY)
async def ca_tsa(call: Call) -> Response:
    request = await _raw_body(call, TSA_QUERY.media_types, MAX_PROTOCOL_BYTES)
    reply = responders.timestamp_reply(await _authority(call), request, call.now)
    return _binary(reply, "application/timestamp-reply", cache="no-store")


# --- certificates ---------------------------------------------------------------------------


@router.endpoint("POST", "/contracts/certificates", summary="申请签名证书 (a certificate for "
                 "the caller's registered P-256 signing key; procurer or bidder)",
                 tag="contracts", body=CertificateIn, status=201)
async def request_certificate(call: Call) -> Response:
    body: CertificateIn = call.body
    assert call.principal is not None
    views.require_signer(call.principal)
    authority = await _authority(call)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        row = await store.issue_certificate(session, authority, user_id=principal.user_id,
                                            key_id=body.key_id, actor=principal.actor,
                                            at=call.now)
        return views.certificate_json(row)

    return await call.command(work, status=201)


@router.endpoint("POST", "/contracts/certificates/external", summary="登记外部 CA 签发的签名证书 "
                 "(a certificate an external CA the deployment trusts issued for the caller's "
                 "registered signing key; procurer or bidder)", tag="contracts",
                 body=ExternalCertificateIn, status=201)
async def register_external_certificate(call: Call) -> Response:
    body: ExternalCertificateIn = call.body
    assert call.principal is not None
    views.require_signer(call.principal)
    authority = await _authority(call)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        row = await store.register_external_certificate(
            session, authority, user_id=principal.user_id, pem=body.pem,
            intermediates=body.intermediates, actor=principal.actor, at=call.now)
        return views.certificate_json(row)

    return await call.command(work, status=201)


@router.endpoint("GET", "/contracts/certificates", summary="我的签名证书 (the caller's "
                 "certificates)", tag="contracts")
async def list_certificates(call: Call) -> Result:
    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await views.my_certificates(session, principal)
        return {"items": [views.certificate_json(row) for row in rows]}

    return await call.read(work)


@router.endpoint("POST", "/contracts/certificates/{certificate_id:int}/revocation",
                 summary="吊销签名证书 (its holder or an administrator revokes it: at once in "
                 "the CRL and OCSP)", tag="contracts", body=RevocationIn)
async def revoke_certificate(call: Call) -> Response:
    certificate_id = call.path_int("certificate_id")
    body: RevocationIn = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        row = await views.own_certificate(session, principal, certificate_id)
        row = await store.revoke_certificate(session, certificate_id=row.id, reason=body.reason,
                                             actor=principal.actor, at=call.now)
        return views.certificate_json(row)

    return await call.command(work)


# --- contracts ------------------------------------------------------------------------------


@router.endpoint("GET", "/contracts", summary="合同列表 (the contracts of the caller's "
                 "organisation; supervisors: all)", tag="contracts", params=PAGE)
async def list_contracts(call: Call) -> Result:
    cursor = decode_cursor(call.query("cursor"))
    after = cursor_id(cursor[0]) if cursor is not None else None
    limit = parse_limit(call.query("limit"))

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await views.contracts_of(session, principal, after=after, limit=limit + 1)
        items = [{"id": c.id, "award_id": c.award_id, "project_id": c.project_id,
                  "state": c.state, "draft": c.draft, "sha256": c.sha256} for c in rows[:limit]]
        more = len(rows) > limit
        return {"items": items,
                "next_cursor": encode_cursor([rows[limit - 1].id]) if more else None}

    return await call.read(work)


@router.endpoint("POST", "/sections/{section_id:int}/contract", summary="由中标结果生成合同 "
                 "(draft 1 from the section's standing award: parties, price, subject, duration, "
                 "quality read from the tender, the award and the winning bid; the procurer or "
                 "the host)", tag="contracts", status=201)
async def contract_from_award(call: Call) -> Response:
    section_id = call.path_int("section_id")
    assert call.principal is not None
    # Draft 1 is rendered in a read transaction first (slow: WeasyPrint); the command uses
    # it if the facts still match.
    async with call.services.db.reading() as session:
        rendered = await from_award.prerender_from_award(session, call.principal, section_id,
                                                         call.services.rules)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        contract = await from_award.create_from_award(session, principal, section_id,
                                                      call.services.rules, call.now, rendered)
        # The host is no party and cannot read the contract: the answer is what it may know.
        return {"id": contract.id, "award_id": contract.award_id, "section_id": section_id,
                "project_id": contract.project_id, "state": contract.state,
                "draft": contract.draft, "sha256": contract.sha256}

    return await call.command(work, status=201)


@router.endpoint("GET", CONTRACT, summary="合同 (state, parties, drafts with their SHA-256, "
                 "signatures; parties and supervisors)", tag="contracts")
async def get_contract(call: Call) -> Result:
    contract_id = call.path_int("contract_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        contract = await views.readable_contract(session, principal, contract_id)
        return await views.contract_json(session, principal, contract)

    return await call.read(work)


@router.endpoint("GET", CONTRACT + "/pdf", summary="合同文件 (the current PDF: the latest draft "
                 "or the signed file)", tag="contracts", produces=PDF)
async def contract_pdf(call: Call) -> Response:
    contract_id = call.path_int("contract_id")
    assert call.principal is not None
    async with call.services.db.reading() as session:
        contract = await views.readable_contract(session, call.principal, contract_id)
        data, digest = contract.pdf, contract.sha256
    response = _binary(data, "application/pdf", cache="no-store",
                       filename=f"contract-{contract_id}.pdf")
    response.headers["ETag"] = f'"{digest}"'
    return response


@router.endpoint("GET", CONTRACT + "/drafts/{number:int}/pdf", summary="某一稿的 PDF (one "
                 "draft as it was stored)", tag="contracts", produces=PDF)
async def draft_pdf(call: Call) -> Response:
    contract_id, number = call.path_int("contract_id"), call.path_int("number")
    assert call.principal is not None
    async with call.services.db.reading() as session:
        contract = await views.readable_contract(session, call.principal, contract_id)
        draft = await views.draft_of(session, contract, number)
        data, digest = draft.pdf, draft.sha256
    response = _binary(data, "application/pdf", cache="no-store",
                       filename=f"contract-{contract_id}-draft-{number}.pdf")
    response.headers["ETag"] = f'"{digest}"'
    return response


@router.endpoint("POST", CONTRACT + "/drafts", summary="提出新一稿 (a party proposes new "
                 "negotiable clauses; before the first signature)", tag="contracts",
                 body=DraftIn, status=201)
async def propose_draft(call: Call) -> Response:
    contract_id = call.path_int("contract_id")
    body: DraftIn = call.body

    assert call.principal is not None
    async with call.services.db.reading() as session:  # rendered first, as above
        rendered = await store.prerender_draft(session, contract_id, list(body.clauses),
                                               org_id=call.principal.org_id)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        draft = await store.new_draft(session, contract_id, list(body.clauses),
                                      org_id=principal.org_id, actor=principal.actor,
                                      at=call.now, rendered=rendered)
        return {"contract_id": contract_id, "number": draft.number, "sha256": draft.sha256}

    return await call.command(work, status=201)


@router.endpoint("POST", CONTRACT + "/signatures/prepare", summary="准备签名 (the bytes the "
                 "signer signs: DER signed attributes, base64)", tag="contracts")
async def prepare_signature(call: Call) -> Response:
    contract_id = call.path_int("contract_id")
    authority = await _authority(call)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        row = await store.prepare_signature(session, authority, contract_id,
                                            user_id=principal.user_id, org_id=principal.org_id,
                                            actor=principal.actor, at=call.now)
        return {**await views.prepared_json(session, row),
                "request": signing_request(contract_id, row.field, row.signed_attributes)}

    return await call.command(work)


@router.endpoint("POST", CONTRACT + "/signatures/complete", summary="完成签名 (the signature "
                 "over the prepared bytes: raw r‖s or DER, base64; timestamped, embedded, "
                 "checked)", tag="contracts", body=CompleteIn)
async def complete_signature(call: Call) -> Response:
    contract_id = call.path_int("contract_id")
    body: CompleteIn = call.body
    signature = base64.b64decode(body.signature, validate=True)
    authority = await _authority(call)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        await store.complete_signature(session, authority, contract_id, signature,
                                       user_id=principal.user_id, org_id=principal.org_id,
                                       actor=principal.actor, at=call.now,
                                       prepare_id=body.prepare_id)
        contract = await views.readable_contract(session, principal, contract_id)
        return await views.contract_json(session, principal, contract)

    return await call.command(work)


@router.endpoint("POST", CONTRACT + "/signed-file", summary="上传已签名文件 (the whole file, "
                 "signed with other software: the stored contract with the party's signature "
                 "appended)", tag="contracts", raw_body=PDF)
async def upload_signed_file(call: Call) -> Response:
    contract_id = call.path_int("contract_id")
    assert call.principal is not None
    # Authorize before reading the body, so a stranger cannot make us read megabytes.
    async with call.services.db.reading() as session:
        contract = await views.readable_contract(session, call.principal, contract_id)
        limit = len(contract.pdf) + MAX_SIGNATURE_GROWTH
    data = await _raw_body(call, PDF.media_types, limit)
    # The idempotency fingerprint hashes the upload's SHA-256, not the file.
    call.raw_body = hashlib.sha256(data).hexdigest().encode("ascii")
    authority = await _authority(call)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        await store.accept_signed_file(session, authority, contract_id, data,
                                       user_id=principal.user_id, org_id=principal.org_id,
                                       actor=principal.actor, at=call.now)
        contract = await views.readable_contract(session, principal, contract_id)
        return await views.contract_json(session, principal, contract)

    return await call.command(work)


@router.endpoint("GET", CONTRACT + "/verification", summary="验证合同签名 (the server's PAdES "
                 "check of the current file: signers, credit codes, times, status)",
                 tag="contracts")
async def verify_contract(call: Call) -> Result:
    contract_id = call.path_int("contract_id")
    assert call.principal is not None
    async with call.services.db.reading() as session:
        contract = await views.readable_contract(session, call.principal, contract_id)
        data, state, digest = contract.pdf, contract.state, contract.sha256
    authority = await _authority(call)
    # A signed contract is checked as of its document timestamp (what B-LTA is for, as
    # ``tradesys verify contract`` does); one being signed, as of the server clock.
    report = await verify_contract_async(data, authority.trust_roots,
                                         None if state == "signed" else call.now)
    result: dict[str, Any] = views.report_json(report)
    result.update({"contract_id": contract_id, "state": state, "sha256": digest})
    return result


# --- amendments (合同变更) ----------------------------------------------------------------

AMENDMENT = CONTRACT + "/amendments/{number:int}"


@router.endpoint("POST", CONTRACT + "/amendments", summary="提出合同变更 (a party or the host "
                 "proposes an amendment of the concluded contract: the clauses that change, old "
                 "→ new, the reason, the SHA-256 of the document in force)", tag="contracts",
                 body=AmendmentIn, status=201)
async def propose_amendment(call: Call) -> Response:
    contract_id = call.path_int("contract_id")
    body: AmendmentIn = call.body
    assert call.principal is not None
    changes = list(body.changes)
    async with call.services.db.reading() as session:  # rendered first, as the drafts
        rendered = await amendments.prerender_amendment(
            session, call.principal, contract_id, base_sha256=body.base_sha256,
            reason=body.reason, changes=changes)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        row = await amendments.propose_amendment(
            session, principal, contract_id, base_sha256=body.base_sha256, reason=body.reason,
            changes=changes, at=call.now, rendered=rendered)
        # The host is no party and does not read the contract: the answer is what it may know.
        return {"contract_id": contract_id, "number": row.number, "state": row.state,
                "sha256": row.sha256, "base_sha256": row.base_sha256}

    return await call.command(work, status=201)


@router.endpoint("GET", CONTRACT + "/amendments", summary="合同变更列表 (every amendment with "
                 "its SHA-256, the document it amends, its changes and signatures; as the "
                 "contract)", tag="contracts")
async def list_amendments(call: Call) -> Result:
    contract_id = call.path_int("contract_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        contract = await views.readable_contract(session, principal, contract_id)
        rows = await amendments.amendments_of(session, contract.id)
        return {"contract_id": contract_id, "contract_sha256": contract.sha256,
                "current_sha256": amendments.current_document(contract, rows)
                if contract.state == "signed" else None,
                "items": [await amendments.amendment_json(session, row) for row in rows]}

    return await call.read(work)


@router.endpoint("GET", AMENDMENT, summary="一份合同变更协议 (as the contract)", tag="contracts")
async def get_amendment(call: Call) -> Result:
    contract_id, number = call.path_int("contract_id"), call.path_int("number")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        contract = await views.readable_contract(session, principal, contract_id)
        row = await amendments.amendment_of(session, contract.id, number)
        return await amendments.amendment_json(session, row)

    return await call.read(work)


@router.endpoint("GET", AMENDMENT + "/pdf", summary="合同变更协议文件 (its current PDF: the "
                 "proposal or the signed file)", tag="contracts", produces=PDF)
async def amendment_pdf(call: Call) -> Response:
    contract_id, number = call.path_int("contract_id"), call.path_int("number")
    assert call.principal is not None
    async with call.services.db.reading() as session:
        contract = await views.readable_contract(session, call.principal, contract_id)
        row = await amendments.amendment_of(session, contract.id, number)
        data, digest = row.pdf, row.sha256
    response = _binary(data, "application/pdf", cache="no-store",
                       filename=f"contract-{contract_id}-amendment-{number}.pdf")
    response.headers["ETag"] = f'"{digest}"'
    return response


@router.endpoint("POST", AMENDMENT + "/signatures/prepare", summary="准备变更协议的签名 (as the "
                 "contract's)", tag="contracts")
async def prepare_amendment_signature(call: Call) -> Response:
    contract_id, number = call.path_int("contract_id"), call.path_int("number")
    authority = await _authority(call)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        row = await amendments.prepare_amendment_signature(
            session, authority, contract_id, number, user_id=principal.user_id,
            org_id=principal.org_id, actor=principal.actor, at=call.now)
        return {**await amendments.prepared_json(session, row, contract_id, number),
                "request": signing_request(contract_id, row.field, row.signed_attributes)}

    return await call.command(work)


@router.endpoint("POST", AMENDMENT + "/signatures/complete", summary="完成变更协议的签名 (as "
                 "the contract's)", tag="contracts", body=CompleteIn)
async def complete_amendment_signature(call: Call) -> Response:
    contract_id, number = call.path_int("contract_id"), call.path_int("number")
    body: CompleteIn = call.body
    signature = base64.b64decode(body.signature, validate=True)
    authority = await _authority(call)

    async def work(session: AsyncSession, principal: Principal) -> Result:
        row = await amendments.complete_amendment_signature(
            session, authority, contract_id, number, signature, user_id=principal.user_id,
            org_id=principal.org_id, actor=principal.actor, at=call.now,
            prepare_id=body.prepare_id)
        return await amendments.amendment_json(session, row)

    return await call.command(work)


@router.endpoint("GET", AMENDMENT + "/verification", summary="验证变更协议的签名 (the same "
                 "PAdES check as the contract's)", tag="contracts")
async def verify_amendment(call: Call) -> Result:
    contract_id, number = call.path_int("contract_id"), call.path_int("number")
    assert call.principal is not None
    async with call.services.db.reading() as session:
        contract = await views.readable_contract(session, call.principal, contract_id)
        row = await amendments.amendment_of(session, contract.id, number)
        data, state, digest = row.pdf, row.state, row.sha256
    authority = await _authority(call)
    report = await verify_contract_async(data, authority.trust_roots,
                                         None if state == "signed" else call.now)
    result: dict[str, Any] = views.report_json(report)
    result.update({"contract_id": contract_id, "amendment": number, "state": state,
                   "sha256": digest})
    return result


# --- bid securities after the signing (条例 Art. 57) -------------------------------------------


def _security_json(item: securities.SecurityDue, now: datetime) -> dict[str, Any]:
    state = item.state(now)
    returned = item.returned
    return {"org_id": item.org_id, "name": item.name, "credit_code": item.credit_code,
            "winner": item.winner, "method": item.method, "amount": item.amount,
            "security_status": item.status, "due_at": isoformat_utc(item.due_at),
            "state": state.value, "state_name": securities.STATE_NAMES[state],
            "returned": None if returned is None else {
                key: returned[key] for key in ("returned_at", "interest", "reference", "note",
                                               "late")}}


@router.endpoint("GET", "/sections/{section_id:int}/contract/bid-securities",
                 summary="投标保证金退还情况 (after the contract is signed: each bidder's "
                 "security, its due time and state 待退还/已退还/逾期; the procurer, the host, "
                 "supervisors; a bidder its own)", tag="contracts")
async def list_security_returns(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        ledger = await securities.ledger_for(session, principal, section_id,
                                             call.services.rules)
        return {"section_id": section_id, "contract_id": ledger.conclusion.contract_id,
                "award_id": ledger.conclusion.award_id,
                "concluded_at": isoformat_utc(ledger.conclusion.concluded_at),
                "return_days": ledger.return_days, "due_at": isoformat_utc(ledger.due_at),
                "items": [_security_json(item, call.now) for item in ledger.items]}

    return await call.read(work)


@router.endpoint("POST", "/sections/{section_id:int}/contract/bid-securities/returns",
                 summary="登记退还投标保证金 (the procurer or the host records one bidder's "
                 "security as returned, with interest; once per bidder)", tag="contracts",
                 body=SecurityReturnIn, status=201)
async def record_security_return(call: Call) -> Response:
    section_id = call.path_int("section_id")
    body: SecurityReturnIn = call.body

    async def work(session: AsyncSession, principal: Principal) -> Result:
        payload = await securities.record_return(
            session, principal, section_id, call.services.rules, credit_code=body.credit_code,
            interest=body.interest, reference=body.reference, note=body.note, at=call.now)
        return {"section_id": section_id, **payload}

    return await call.command(work, status=201)
