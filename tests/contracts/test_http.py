"""Contract signing over HTTP: certificates, drafts, the interrupted signature, the upload of a
file signed elsewhere, verification, and the built-in CA's public endpoints.

The signers' keys are real P-256 keys (``cryptography``) standing in for the browser's
WebCrypto keys: they sign the prepared bytes on the client side, as the browser does, and the
server never holds them. Only the contract's creation goes through the domain command
(``create_contract``), from made-up facts: its creation from an award over HTTP is
tests/contracts/test_from_award.py.

The fully signed contract is checked by ``pyhanko sign validate``, which fetches the CRLs and
OCSP answers online from the URLs in the certificates: a second app on the same database is
served on the loopback port that ``TRADESYS_PUBLIC_URL`` names, so those URLs are the served
ones, exactly.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509 import ocsp
from sqlalchemy import func, select

from contracts import signing
from contracts.models import Contract
from contracts.pki import CertificateAuthority, SignerName, load_certificate
from contracts.store import create_contract, revocation_data
from tests.contracts.conftest import facts_for
from tests.support import T0, Flow, Party, Seed, assert_error, table_counts
from tradesys.app import create_app
from tradesys.bids.keys import generate_private_key, key_id, public_key_text
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.events.log import Actor
from tradesys.events.models import Event
from tradesys.identity.models import User
from tradesys.services import Services
from tradesys.settings import Settings

PYHANKO = Path(sys.executable).with_name("pyhanko")
CA = "/api/v1/contracts/ca"
PENALTY = "逾期一日按合同价的万分之五支付违约金。"


class TimeStampResp(core.Sequence):
    """RFC 3161 §2.4.2 as written: the token is OPTIONAL (absent from a rejection), which
    asn1crypto's own class does not allow."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [("status", tsp.PKIStatusInfo),
               ("time_stamp_token", cms.ContentInfo, {"optional": True})]


@pytest.fixture
def ca_socket() -> Iterator[socket.socket]:
    """The loopback port the certificates' URLs name, bound before the CA exists."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    yield sock
    sock.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, ca_socket: socket.socket) -> Settings:
    port = ca_socket.getsockname()[1]
    return Settings(data_dir=tmp_path / "data", database_url=db_url, scheduler_interval=3600,
                    public_url=f"http://127.0.0.1:{port}")


@dataclass
class Signer:
    party: Party
    key: ec.EllipticCurvePrivateKey
    certificate_id: int
    pem: str

    def sign(self, data: bytes) -> bytes:
        """DER, as ``tradesys contract sign`` gives it."""
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def sign_raw(self, data: bytes) -> bytes:
        """As WebCrypto's ``subtle.sign({name: "ECDSA", hash: "SHA-256"}, …)`` gives it."""
        r, s = decode_dss_signature(self.sign(data))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


async def http_signer(client: httpx.AsyncClient, party: Party) -> Signer:
    """Register a signing key (as keys.html does) and ask for its certificate."""
    key = generate_private_key()
    registered = await client.post("/api/v1/keys", headers=party.auth, json={
        "purpose": "signing", "public_key": public_key_text(key)})
    assert registered.status_code == 201, registered.text
    issued = await client.post("/api/v1/contracts/certificates", headers=party.auth,
                               json={"key_id": key_id(key)})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["key_id"] == key_id(key) and body["revoked_at"] is None
    return Signer(party, key, body["id"], body["pem"])


async def new_contract(services: Services, seed: Seed, clock: AdjustableClock) -> int:
    """The award step's part (issue 11): the contract from the award's facts."""
    facts = facts_for(seed.procurer, seed.bidder1)
    async with services.db.transaction() as session:
        contract = await create_contract(session, facts, project_id=None,
                                         actor=Actor(user_id=seed.procurer.user_id),
                                         at=clock.now())
        return contract.id


async def prepare(client: httpx.AsyncClient, contract_id: int, party: Party) -> httpx.Response:
    return await client.post(f"/api/v1/contracts/{contract_id}/signatures/prepare",
                             headers=party.auth)


async def complete(client: httpx.AsyncClient, contract_id: int, party: Party,
                   prepare_id: str, signature: bytes) -> httpx.Response:
    return await client.post(f"/api/v1/contracts/{contract_id}/signatures/complete",
                             headers=party.auth, json={
                                 "prepare_id": prepare_id,
                                 "signature": base64.b64encode(signature).decode("ascii")})


async def sign(client: httpx.AsyncClient, contract_id: int, signer: Signer, *,
               raw: bool) -> dict[str, Any]:
    prepared = await prepare(client, contract_id, signer.party)
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    attributes = base64.b64decode(body["signed_attributes"])
    assert body["prepare_id"] == hashlib.sha256(attributes).hexdigest()
    assert body["request"]["signed_attributes"] == body["signed_attributes"]
    signature = signer.sign_raw(attributes) if raw else signer.sign(attributes)
    done = await complete(client, contract_id, signer.party, body["prepare_id"], signature)
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


async def stored(services: Services, contract_id: int) -> tuple[str, str, bytes]:
    async with services.db.reading() as session:
        contract = await session.get(Contract, contract_id)
        assert contract is not None
        return contract.state, contract.sha256, contract.pdf


async def events(services: Services) -> int:
    async with services.db.reading() as session:
        return (await session.execute(select(func.count()).select_from(Event))).scalar_one()


async def refused(services: Services, contract_id: int, status: int, code: str,
                  request: Any) -> None:
    """The request is refused with ``status``/``code`` and changes no row, no event and not
    the stored file."""
    before = (await table_counts(services), await stored(services, contract_id))
    response = await request
    assert_error(response, status, code)
    assert (await table_counts(services), await stored(services, contract_id)) == before


async def test_two_parties_sign_over_http_and_pyhanko_validates_online(
        client: httpx.AsyncClient, services: Services, seed: Seed, clock: AdjustableClock,
        settings: Settings, ca_socket: socket.socket, tmp_path: Path) -> None:
    procurer = await http_signer(client, seed.procurer)
    supplier = await http_signer(client, seed.bidder1)
    contract_id = await new_contract(services, seed, clock)

    # both parties and a supervisor read it; the draft's hash is the served file's
    view = await client.get(f"/api/v1/contracts/{contract_id}", headers=seed.bidder1.auth)
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["state"] == "drafting" and body["your_field"] == "supplier"
    assert body["parties"]["purchaser"]["credit_code"] == seed.procurer.credit_code
    draft1 = await client.get(f"/api/v1/contracts/{contract_id}/drafts/1/pdf",
                              headers=seed.procurer.auth)
    assert draft1.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(draft1.content).hexdigest() == body["drafts"][0]["sha256"]
    supervised = await client.get(f"/api/v1/contracts/{contract_id}", headers=seed.supervisor.auth)
    assert supervised.status_code == 200 and supervised.json()["your_field"] is None
    listed = await client.get("/api/v1/contracts", headers=seed.bidder1.auth)
    assert [c["id"] for c in listed.json()["items"]] == [contract_id]
    assert (await client.get("/api/v1/contracts", headers=seed.bidder2.auth)).json()["items"] == []

    # the supplier proposes other clauses: draft 2, one event naming its hash
    before = await events(services)
    drafted = await client.post(f"/api/v1/contracts/{contract_id}/drafts",
                                headers=seed.bidder1.auth,
                                json={"clauses": [{"title": "违约责任", "text": PENALTY}]})
    assert drafted.status_code == 201, drafted.text
    assert drafted.json()["number"] == 2 and await events(services) == before + 1
    body = (await client.get(f"/api/v1/contracts/{contract_id}", headers=seed.bidder1.auth)).json()
    assert [d["number"] for d in body["drafts"]] == [1, 2]
    assert body["sha256"] == body["drafts"][1]["sha256"] == drafted.json()["sha256"]
    assert body["facts"]["clauses"] == [{"title": "违约责任", "text": PENALTY}]
    assert body["facts"]["price"] == "35200000.00"

    # the purchaser signs first (certifies), the supplier second; WebCrypto's raw r‖s and DER
    clock.advance(timedelta(minutes=1))
    first = await sign(client, contract_id, procurer, raw=True)
    assert first["state"] == "signing"
    assert first["signatures"][0]["certifies"] and first["signatures"][1]["state"] == "unsigned"
    clock.advance(timedelta(minutes=1))
    done = await sign(client, contract_id, supplier, raw=False)
    assert done["state"] == "signed"
    assert [s["state"] for s in done["signatures"]] == ["signed", "signed"]

    pdf = await client.get(f"/api/v1/contracts/{contract_id}/pdf", headers=seed.supervisor.auth)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == done["sha256"]
    assert pdf.headers["etag"] == f'"{done["sha256"]}"'

    verified = await client.get(f"/api/v1/contracts/{contract_id}/verification",
                                headers=seed.procurer.auth)
    assert verified.status_code == 200, verified.text
    report = verified.json()
    assert report["ok"] and report["covers_whole_file"] and report["reasons"] == []
    by_field = {s["field"]: s for s in report["signers"]}
    assert by_field["purchaser"]["credit_code"] == seed.procurer.credit_code
    assert by_field["supplier"]["credit_code"] == seed.bidder1.credit_code
    assert by_field["purchaser"]["certifies"] and not by_field["supplier"]["certifies"]
    assert datetime.fromisoformat(by_field["supplier"]["timestamp"]) == clock.now()
    assert all(s["intact"] and s["trusted"] and s["bottom_line"] for s in report["signers"])

    # pyhanko sign validate, online: revocation information from the certificates' URLs,
    # served by a second app on the same database at TRADESYS_PUBLIC_URL
    root = await client.get(f"{CA}/root.pem")
    assert root.status_code == 200 and root.text.startswith("-----BEGIN CERTIFICATE-----")
    (tmp_path / "root.pem").write_bytes(root.content)
    (tmp_path / "contract.pdf").write_bytes(pdf.content)
    served = create_app(settings, clock=clock, run_scheduler=False)

    async def pyhanko_validate() -> str:
        result = await asyncio.to_thread(subprocess.run, [
            str(PYHANKO), "sign", "validate", "--force-revinfo", "--trust",
            str(tmp_path / "root.pem"), "--trust-replace", "--pretty-print",
            str(tmp_path / "contract.pdf")], capture_output=True, text=True, timeout=180)
        output = result.stdout + result.stderr
        assert (result.returncode == 0) == ("judged INVALID" not in output), output
        return output

    with InProcessServer(served, sock=ca_socket) as server:
        assert server.url == settings.public_url
        output = await pyhanko_validate()
        assert output.count("The signature is judged VALID.") == 2, output
        assert output.count("The signature is cryptographically sound.") == 2, output
        assert output.count("The signer's certificate is trusted.") == 2, output
        assert "Field 1: purchaser" in output and "Field 2: supplier" in output
        # the answers are fetched live: once the supplier's certificate is revoked, the same
        # file's supplier signature is no longer trusted (the file's own OCSP answer said good)
        clock.advance(timedelta(minutes=1))
        revoked = await client.post(
            f"/api/v1/contracts/certificates/{supplier.certificate_id}/revocation",
            headers=seed.bidder1.auth, json={"reason": "私钥泄露"})
        assert revoked.status_code == 200, revoked.text
        output = await pyhanko_validate()
    purchaser_part, supplier_part = output.split("Field 2: supplier")
    assert "The signature is judged VALID." in purchaser_part, output
    assert "The signature is judged INVALID." in supplier_part, output
    assert "revoked" in supplier_part.lower(), output


#: OCSP clients name the certificate by SHA-1 hashes (RFC 5019 §2.1.1 requires SHA-1 in the
#: CertID; it identifies, it does not protect): the responder must answer them.
CERT_ID_HASH = hashes.SHA1()  # noqa: S303


def _ocsp_request(cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes) -> bytes:
    return (ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, CERT_ID_HASH)
            .add_extension(x509.OCSPNonce(nonce), critical=False).build()
            .public_bytes(serialization.Encoding.DER))


def _path(url: str, settings: Settings) -> str:
    assert url.startswith(settings.public_url + CA), url
    return url.removeprefix(settings.public_url)


async def test_crl_ocsp_and_tsa_answer_for_good_and_revoked_certificates(
        client: httpx.AsyncClient, services: Services, seed: Seed, clock: AdjustableClock,
        settings: Settings) -> None:
    good = await http_signer(client, seed.procurer)
    bad = await http_signer(client, seed.bidder1)
    issuing = x509.load_pem_x509_certificate((await client.get(f"{CA}/issuing.pem")).content)
    root = x509.load_der_x509_certificate((await client.get(f"{CA}/root.crt")).content)
    tsa_cert = x509.load_pem_x509_certificate((await client.get(f"{CA}/tsa.pem")).content)
    good_cert, bad_cert = load_certificate(good.pem), load_certificate(bad.pem)
    issuing.verify_directly_issued_by(root)
    good_cert.verify_directly_issued_by(issuing)

    # the URLs in the certificates are the served ones
    crl_url = good_cert.extensions.get_extension_for_class(
        x509.CRLDistributionPoints).value[0].full_name[0].value
    ocsp_url = good_cert.extensions.get_extension_for_class(
        x509.AuthorityInformationAccess).value[0].access_location.value
    root_crl_url = issuing.extensions.get_extension_for_class(
        x509.CRLDistributionPoints).value[0].full_name[0].value
    assert _path(crl_url, settings) == f"{CA}/crl"
    assert _path(ocsp_url, settings) == f"{CA}/ocsp"
    assert _path(root_crl_url, settings) == f"{CA}/root.crl"

    revoked = await client.post(f"/api/v1/contracts/certificates/{bad.certificate_id}/revocation",
                                headers=seed.bidder1.auth, json={"reason": "私钥泄露"})
    assert revoked.status_code == 200, revoked.text
    assert datetime.fromisoformat(revoked.json()["revoked_at"]) == clock.now()
    # another user cannot revoke (or see) it
    assert_error(await client.post(
        f"/api/v1/contracts/certificates/{good.certificate_id}/revocation",
        headers=seed.bidder1.auth, json={"reason": "x"}), 404, "certificate_not_found")
    before = await table_counts(services)

    crl_response = await client.get(_path(crl_url, settings))
    assert crl_response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_response.content)
    assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(bad_cert.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(good_cert.serial_number) is None
    assert crl.last_update_utc == clock.now()
    root_crl = x509.load_der_x509_crl((await client.get(_path(root_crl_url, settings))).content)
    assert root_crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert len(list(root_crl)) == 0

    async def ask(cert: x509.Certificate, issuer: x509.Certificate,
                  nonce: bytes) -> ocsp.OCSPResponse:
        response = await client.post(_path(ocsp_url, settings),
                                     content=_ocsp_request(cert, issuer, nonce),
                                     headers={"Content-Type": "application/ocsp-request"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/ocsp-response"
        return ocsp.load_der_ocsp_response(response.content)

    answer = await ask(good_cert, issuing, b"nonce-good-0001")
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == good_cert.serial_number
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == \
        b"nonce-good-0001"
    issuing.public_key().verify(  # type: ignore[union-attr,call-arg]
        answer.signature, answer.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))
    answer = await ask(bad_cert, issuing, b"nonce-bad-00001")
    assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_time_utc == clock.now()
    assert (await ask(tsa_cert, issuing, b"n" * 16)).certificate_status is \
        ocsp.OCSPCertStatus.GOOD
    # GET form (RFC 6960 A.1.1): the same answer
    encoded = base64.b64encode(_ocsp_request(bad_cert, issuing, b"get-nonce-00001")).decode()
    got = await client.get(f"{CA}/ocsp/{encoded}")
    assert got.status_code == 200, got.text
    assert ocsp.load_der_ocsp_response(got.content).certificate_status is \
        ocsp.OCSPCertStatus.REVOKED
    # a certificate of another CA: unauthorized (RFC 6960 §2.3); one we never issued: unknown
    other = CertificateAuthority.create(T0, base_url="http://elsewhere.invalid/ca")
    foreign = other.issue(ec.generate_private_key(ec.SECP256R1()).public_key(),
                          SignerName("x", "y", seed.bidder2.credit_code), T0)
    assert (await ask(foreign, other.issuing, b"f" * 16)).response_status is \
        ocsp.OCSPResponseStatus.UNAUTHORIZED
    never = ocsp.load_der_ocsp_response((await client.post(
        f"{CA}/ocsp", headers={"Content-Type": "application/ocsp-request"},
        content=ocsp.OCSPRequestBuilder().add_certificate_by_hash(
            *_hashes(issuing), 123456789, CERT_ID_HASH).build().public_bytes(
            serialization.Encoding.DER))).content)
    assert never.certificate_status is ocsp.OCSPCertStatus.UNKNOWN

    # the TSA: a token over the imprint at the server clock's time, signed by the TSA key
    digest = hashlib.sha256(b"contract bytes").digest()
    query = tsp.TimeStampReq({"version": "v1", "nonce": 987654321, "cert_req": True,
                              "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                                  "hashed_message": digest}}).dump()
    reply = await client.post(f"{CA}/tsa", content=query,
                              headers={"Content-Type": "application/timestamp-query"})
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/timestamp-reply"
    parsed = TimeStampResp.load(reply.content)
    assert parsed["status"]["status"].native == "granted"
    signed_data = parsed["time_stamp_token"]["content"]
    tst = signed_data["encap_content_info"]["content"].parsed
    assert tst["message_imprint"]["hashed_message"].native == digest
    assert tst["nonce"].native == 987654321 and tst["gen_time"].native == clock.now()
    signer_info = signed_data["signer_infos"][0]
    assert signer_info["sid"].chosen["serial_number"].native == tsa_cert.serial_number
    tsa_cert.public_key().verify(  # type: ignore[union-attr,call-arg]
        signer_info["signature"].native, signer_info["signed_attrs"].untag().dump(),
        padding.PKCS1v15(), hashes.SHA256())
    # a well-formed query the TSA will not serve: the protocol's own rejection
    weak = tsp.TimeStampReq({"version": "v1", "message_imprint": {
        "hash_algorithm": {"algorithm": "md5"}, "hashed_message": b"\0" * 16}}).dump()
    rejected = TimeStampResp.load((await client.post(
        f"{CA}/tsa", content=weak, headers={"Content-Type": "application/timestamp-query"}
    )).content)
    assert rejected["status"]["status"].native == "rejection"
    assert rejected["status"]["fail_info"].native == {"bad_alg"}
    assert rejected["time_stamp_token"].native is None

    # malformed bodies: 400 with the API's error, never a 500; a wrong type: 415
    for path, media, code in ((f"{CA}/ocsp", "application/ocsp-request",
                               "malformed_ocsp_request"),
                              (f"{CA}/tsa", "application/timestamp-query",
                               "malformed_timestamp_request")):
        for junk in (b"\x30\x03\x02\x01", b"not DER at all", query[:-3] if "tsa" in path
                     else _ocsp_request(good_cert, issuing, b"n" * 16)[:-2], b"\x30\x00"):
            assert_error(await client.post(path, content=junk, headers={"Content-Type": media}),
                         400, code)
        assert_error(await client.post(path, content=b"x", headers={
            "Content-Type": "application/json"}), 415, "unsupported_media_type")
        assert_error(await client.post(path, content=b"", headers={"Content-Type": media}),
                     400, "empty_body")
        assert_error(await client.post(path, content=b"\x30" * (65 * 1024),
                                       headers={"Content-Type": media}), 413, "body_too_large")
    for junk in ("!!!", "MAMCAQ==", "%00"):
        assert_error(await client.get(f"{CA}/ocsp/{junk}"), 400, "malformed_ocsp_request")
    # answering changes nothing
    assert await table_counts(services) == before


def _hashes(issuer: x509.Certificate) -> tuple[bytes, bytes]:
    name = hashes.Hash(CERT_ID_HASH)
    name.update(issuer.subject.public_bytes())
    key = hashes.Hash(CERT_ID_HASH)
    key.update(issuer.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint))
    return name.finalize(), key.finalize()


async def test_bad_signing_over_http_is_refused_and_changes_nothing(
        client: httpx.AsyncClient, services: Services, seed: Seed,
        clock: AdjustableClock) -> None:
    procurer = await http_signer(client, seed.procurer)
    supplier = await http_signer(client, seed.bidder1)
    stranger = await http_signer(client, seed.bidder2)
    contract_id = await new_contract(services, seed, clock)
    url = f"/api/v1/contracts/{contract_id}"

    # not a party: no reading, no drafting, no signing; a supervisor reads only
    await refused(services, contract_id, 403, "not_contract_reader",
                  client.get(url, headers=seed.bidder2.auth))
    await refused(services, contract_id, 403, "not_contract_reader",
                  client.get(url + "/pdf", headers=seed.bidder2.auth))
    await refused(services, contract_id, 403, "not_a_party", prepare(client, contract_id,
                                                                     stranger.party))
    await refused(services, contract_id, 403, "not_a_party", client.post(
        url + "/drafts", headers=seed.supervisor.auth, json={"clauses": []}))
    await refused(services, contract_id, 403, "not_a_party",
                  prepare(client, contract_id, seed.supervisor))
    await refused(services, contract_id, 403, "role_forbidden", client.post(
        "/api/v1/contracts/certificates", headers=seed.supervisor.auth,
        json={"key_id": "0" * 64}))
    await refused(services, contract_id, 422, "no_signing_key", client.post(
        "/api/v1/contracts/certificates", headers=seed.bidder3.auth, json={"key_id": "0" * 64}))
    await refused(services, contract_id, 404, "contract_not_found",
                  prepare(client, contract_id + 1000, procurer.party))
    # a draft that tries to change the price: only clauses are accepted
    await refused(services, contract_id, 422, "validation_failed", client.post(
        url + "/drafts", headers=seed.bidder1.auth,
        json={"clauses": [], "price": "1.00"}))

    prepared = (await prepare(client, contract_id, procurer.party)).json()
    attributes = base64.b64decode(prepared["signed_attributes"])
    pid = prepared["prepare_id"]
    # a signature over other bytes than the prepared ones; another key; garbage; wrong id
    await refused(services, contract_id, 422, "bad_signature", complete(
        client, contract_id, procurer.party, pid, procurer.sign_raw(attributes + b"\0")))
    await refused(services, contract_id, 422, "bad_signature", complete(
        client, contract_id, procurer.party, pid, stranger.sign(attributes)))
    await refused(services, contract_id, 422, "bad_signature", complete(
        client, contract_id, procurer.party, pid, b"\x01" * 48))
    await refused(services, contract_id, 409, "stale_preparation", complete(
        client, contract_id, procurer.party, "0" * 64, procurer.sign(attributes)))
    await refused(services, contract_id, 422, "validation_failed", client.post(
        url + "/signatures/complete", headers=seed.procurer.auth,
        json={"prepare_id": pid, "signature": "not base64!"}))
    # the other party cannot complete the purchaser's preparation; a stranger cannot either
    await refused(services, contract_id, 409, "not_prepared", complete(
        client, contract_id, supplier.party, pid, supplier.sign(attributes)))
    await refused(services, contract_id, 403, "not_a_party", complete(
        client, contract_id, stranger.party, pid, stranger.sign(attributes)))

    done = await complete(client, contract_id, procurer.party, pid, procurer.sign(attributes))
    assert done.status_code == 200, done.text
    # signing twice; new drafts once signing began
    await refused(services, contract_id, 409, "already_signed",
                  prepare(client, contract_id, procurer.party))
    await refused(services, contract_id, 409, "already_signed", complete(
        client, contract_id, procurer.party, pid, procurer.sign(attributes)))
    await refused(services, contract_id, 409, "contract_signing", client.post(
        url + "/drafts", headers=seed.bidder1.auth, json={"clauses": []}))

    # a certificate revoked between prepare and complete is refused at once
    prepared = (await prepare(client, contract_id, supplier.party)).json()
    attributes = base64.b64decode(prepared["signed_attributes"])
    clock.advance(timedelta(minutes=1))
    revoked = await client.post(
        f"/api/v1/contracts/certificates/{supplier.certificate_id}/revocation",
        headers=seed.bidder1.auth, json={"reason": "私钥泄露"})
    assert revoked.status_code == 200, revoked.text
    await refused(services, contract_id, 422, "certificate_revoked", complete(
        client, contract_id, supplier.party, prepared["prepare_id"], supplier.sign(attributes)))
    await refused(services, contract_id, 422, "no_certificate",
                  prepare(client, contract_id, supplier.party))
    await refused(services, contract_id, 409, "certificate_revoked", client.post(
        f"/api/v1/contracts/certificates/{supplier.certificate_id}/revocation",
        headers=seed.bidder1.auth, json={"reason": "again"}))
    assert (await stored(services, contract_id))[0] == "signing"


async def test_a_file_signed_elsewhere_is_uploaded_unless_altered(
        app: Any, client: httpx.AsyncClient, services: Services, seed: Seed,
        clock: AdjustableClock) -> None:
    """The supplier signs the stored file with its own software (here: the same library,
    outside the platform, with its own key) and uploads the whole file."""
    procurer = await http_signer(client, seed.procurer)
    supplier = await http_signer(client, seed.bidder1)
    contract_id = await new_contract(services, seed, clock)
    url = f"/api/v1/contracts/{contract_id}"
    await sign(client, contract_id, procurer, raw=True)
    first = (await client.get(url + "/pdf", headers=seed.bidder1.auth)).content

    authority = await app.state.contract_authority.get(clock.now())
    cert = load_certificate(supplier.pem)
    prepared = await asyncio.to_thread(
        signing.prepare, first, field="supplier", cert=cert, chain=authority.chain,
        certify=False, signer_name="bidder1", organization="bidder1 有限公司", at=clock.now())
    async with services.db.reading() as session:
        validation = await revocation_data(session, authority, clock.now(), [cert])
    own = await signing.complete_async(
        prepared, supplier.sign(prepared.signed_attributes), cert=cert, chain=authority.chain,
        timestamper=authority.timestamper(clock.now()), validation=validation,
        trust_roots=authority.trust_roots, last=False, at=clock.now())

    def upload(party: Party, data: bytes, media: str = "application/pdf") -> Any:
        return client.post(url + "/signed-file", headers={**party.auth, "Content-Type": media},
                           content=data)

    altered = bytearray(own)
    altered[first.index(b"stream", 2000) + 40] ^= 0x01
    await refused(services, contract_id, 422, "altered_document",
                  upload(seed.bidder1, bytes(altered)))
    await refused(services, contract_id, 422, "altered_document",
                  upload(seed.bidder1, first))
    await refused(services, contract_id, 422, "altered_document",
                  upload(seed.bidder1, b"%PDF-1.7 not the contract"))
    await refused(services, contract_id, 403, "not_contract_reader", upload(seed.bidder2, own))
    await refused(services, contract_id, 403, "not_a_party", upload(seed.supervisor, own))
    await refused(services, contract_id, 409, "already_signed", upload(seed.procurer, own))
    await refused(services, contract_id, 415, "unsupported_media_type",
                  upload(seed.bidder1, own, "text/plain"))
    await refused(services, contract_id, 400, "empty_body", upload(seed.bidder1, b""))

    accepted = await upload(seed.bidder1, own)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["state"] == "signed"
    final = (await client.get(url + "/pdf", headers=seed.bidder1.auth)).content
    assert final.startswith(own) and hashlib.sha256(final).hexdigest() == body["sha256"]
    report = (await client.get(url + "/verification", headers=seed.supervisor.auth)).json()
    assert report["ok"], report["reasons"]
    assert json.dumps(report, ensure_ascii=False).count(seed.bidder1.credit_code) == 1


async def test_a_concluded_contract_is_reported_as_contract_performance(
        client: httpx.AsyncClient, services: Services, seed: Seed, clock: AdjustableClock,
        flow: Flow) -> None:
    """Both signatures in: ``contract.concluded`` → CONTRACT_PERFORMANCE and an OCDS
    ``contract`` release (valid, the winner's award signed)."""
    from tradesys.events.models import OutboxRow
    from tradesys.reporting.report import report_for
    from tradesys.reporting.validation import release_errors

    project = await flow.register()
    facts = facts_for(seed.procurer, seed.bidder1)
    async with services.db.transaction() as session:
        contract_id = (await create_contract(
            session, facts, project_id=project["id"], actor=Actor(user_id=seed.procurer.user_id),
            at=clock.now())).id
    purchaser = await http_signer(client, seed.procurer)
    await sign(client, contract_id, purchaser, raw=True)
    async with services.db.reading() as session:  # one signature: nothing reported yet
        assert (await session.execute(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.topic == "CONTRACT_PERFORMANCE"))).scalar_one() == 0
    await sign(client, contract_id, await http_signer(client, seed.bidder1), raw=False)
    sha256 = (await stored(services, contract_id))[1]
    async with services.db.reading() as session:
        [row] = (await session.execute(select(OutboxRow).where(
            OutboxRow.topic == "CONTRACT_PERFORMANCE"))).scalars().all()
        report = await report_for(session, row, services.reporting)
    record, release = report.document["record"], report.document["release"]
    assert (record["CONTRACT_CODE"], record["CONTRACT_PRICE"]) == (facts.award_id, facts.price)
    assert (record["TENDERER_CODE"], record["BIDDER_CODE"]) == (
        seed.procurer.credit_code, seed.bidder1.credit_code)
    assert record["LIMITE_TIME"] == facts.duration_days and record["CONTRACT_SHA256"] == sha256
    assert record["CONTRACT_SIGN_TIME"]
    assert release_errors(release) == [] and release["tag"] == ["contract"]
    [signed] = release["contracts"]
    assert signed["status"] == "active" and signed["awardID"].endswith(seed.bidder1.credit_code)

    # Its public version (合同公告) is on the public notices, for anyone: the facts, both
    # organisations' credit codes and the signed file's SHA-256, and no person's name.
    listed = (await client.get("/api/v1/notices")).json()["items"]
    [public] = [n for n in listed if n["kind"] == "contract"]
    assert public["title"].endswith("合同公告") and facts.section.code in public["title"]
    notice = (await client.get(f"/api/v1/notices/{public['id']}")).json()
    for fact in (facts.award_id, facts.purchaser.credit_code, facts.supplier.credit_code,
                 "35,200,000.00", "叁仟伍佰贰拾万元整", f"{facts.duration_days} 日历天", sha256):
        assert fact in notice["content"], fact
    async with services.db.reading() as session:
        people = (await session.execute(select(User.display_name))).scalars().all()
        concluded = (await session.execute(select(Event.payload).where(
            Event.type == "contract.concluded"))).scalar_one()
    text = notice["content"] + notice["title"]
    for organisation in (facts.purchaser.name, facts.supplier.name):  # named after the users here
        text = text.replace(organisation, "")
    assert not [name for name in people if name in text]
    assert json.loads(concluded)["notice_id"] == public["id"]
