"""Signers' certificates from an external CA the deployment trusts
(``TRADESYS_CONTRACT_TRUST_ROOTS``), reached over real HTTP.

The external CA is another installation: a second app with its own data folder (so its own
built-in CA) and its own database, served by uvicorn on a loopback port, at the address its
certificates' CRL distribution points name. Its CA issues certificates directly
(``CertificateAuthority.issue``) for our user's registered key with our organisation's credit
code; the user registers one at ``POST /api/v1/contracts/certificates/external`` and signs with
it, the other party with a built-in certificate. The signed file verifies with both roots
trusted (our verifier and ``pyhanko sign validate`` online). A certificate the external CA has
revoked is refused at signing; once the external CA is gone, signing is 503
``ca_unavailable`` and nothing is stored. Every bad registration is a clear 4xx, no row
changed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore
from sqlalchemy import select

from contracts.external_ca import credit_code_of
from contracts.pki import (
    CertificateAuthority,
    SignerName,
    _leaf_usage,
    _name,
    certificate_pem,
)
from contracts.services import ca_base_url, ca_folder
from contracts.store import create_contract
from contracts.verify import verify_contract_async
from tests.conftest import _pg_admin, _pg_url
from tests.contracts.conftest import facts_for
from tests.contracts.test_http import (
    PYHANKO,
    Signer,
    complete,
    http_signer,
    prepare,
    refused,
    sign,
    stored,
)
from tests.support import T0, Party, Seed, assert_error, table_counts
from tradesys.app import create_app
from tradesys.bids.keys import generate_private_key, public_key_text
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.events.log import Actor
from tradesys.events.models import Event
from tradesys.services import Services
from tradesys.settings import Settings

CA = "/api/v1/contracts/ca"
EXTERNAL = "/api/v1/contracts/certificates/external"


@dataclass
class External:
    server: InProcessServer
    settings: Settings
    ca: CertificateAuthority
    root: Path


@pytest.fixture
def external_db(backend: str, templates: dict[str, tuple[str, Seed]],
                tmp_path: Path) -> Iterator[str]:
    """The external installation's own database (a copy of the seeded template)."""
    source, _seed = templates[backend]
    if backend == "sqlite":
        target = tmp_path / "external.db"
        shutil.copyfile(source, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    name = f"tradesys_x_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def external(external_db: str, tmp_path: Path, clock: AdjustableClock) -> Iterator[External]:
    """Another installation (its own CA and database) under uvicorn, at the address its
    certificates name; its CA made here first, so the served app loads the same one."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    other = Settings(data_dir=tmp_path / "external-data", database_url=external_db,
                     scheduler_interval=3600, public_url=url)
    ca = CertificateAuthority.load_or_create(ca_folder(other), clock.now(),
                                             base_url=ca_base_url(other))
    root = tmp_path / "external-root.pem"
    root.write_text(certificate_pem(ca.root))
    server = InProcessServer(create_app(other, clock=clock, run_scheduler=False), sock=sock)
    with server:
        yield External(server, other, ca, root)
    sock.close()


@pytest.fixture
def ca_socket() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    yield sock
    sock.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, external: External,
             ca_socket: socket.socket) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, scheduler_interval=3600,
                    public_url=f"http://127.0.0.1:{ca_socket.getsockname()[1]}",
                    contract_trust_roots=str(external.root))


async def signing_key(client: httpx.AsyncClient, party: Party) -> ec.EllipticCurvePrivateKey:
    key = generate_private_key()
    registered = await client.post("/api/v1/keys", headers=party.auth, json={
        "purpose": "signing", "public_key": public_key_text(key)})
    assert registered.status_code == 201, registered.text
    return key


def issued(external: External, key: ec.EllipticCurvePrivateKey, party: Party,
           clock: AdjustableClock, **kwargs: Any) -> x509.Certificate:
    return external.ca.issue(key.public_key(), SignerName(
        party.key, f"{party.key} 有限公司", kwargs.pop("credit_code", party.credit_code)),
        kwargs.pop("at", clock.now()), **kwargs)


def body(cert: x509.Certificate | str, external: External) -> dict[str, Any]:
    pem = cert if isinstance(cert, str) else certificate_pem(cert)
    return {"pem": pem, "intermediates": [certificate_pem(external.ca.issuing)]}


async def register(client: httpx.AsyncClient, party: Party, key: ec.EllipticCurvePrivateKey,
                   cert: x509.Certificate, external: External) -> Signer:
    response = await client.post(EXTERNAL, headers=party.auth, json=body(cert, external))
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["external"] is True and data["serial"] == format(cert.serial_number, "x")
    return Signer(party, key, data["id"], data["pem"])


async def new_contract(services: Services, seed: Seed, clock: AdjustableClock,
                       award_id: str) -> int:
    async with services.db.transaction() as session:
        return (await create_contract(
            session, facts_for(seed.procurer, seed.bidder1, award_id=award_id), project_id=None,
            actor=Actor(user_id=seed.procurer.user_id), at=clock.now())).id


def test_credit_code_is_compared_without_case_or_the_etsi_prefix() -> None:
    ca = CertificateAuthority.create(T0, base_url="http://x/ca")
    key = generate_private_key()
    for given in ("91110000600037341L", "91110000600037341l", "NTRCN-91110000600037341L",
                  "ntrcn-91110000600037341l"):
        cert = ca.issue(key.public_key(), SignerName("u", "o", given), T0)
        assert credit_code_of(cert) == "91110000600037341L"
    cert = ca.issue(key.public_key(), SignerName("u", "o", "VATCN-91110000600037341L"), T0)
    assert credit_code_of(cert) == "VATCN-91110000600037341L"


async def test_external_and_builtin_signers_and_pyhanko_validates(
        client: httpx.AsyncClient, services: Services, seed: Seed, clock: AdjustableClock,
        settings: Settings, external: External, ca_socket: socket.socket,
        tmp_path: Path) -> None:
    procurer = await http_signer(client, seed.procurer)
    key = await signing_key(client, seed.bidder1)
    supplier = await register(client, seed.bidder1, key,
                              issued(external, key, seed.bidder1, clock), external)
    async with services.db.reading() as session:
        [event] = (await session.execute(select(Event).where(
            Event.type == "contract.certificate_registered"))).scalars().all()
    payload = json.loads(event.payload)
    mine = (await client.get("/api/v1/contracts/certificates", headers=seed.bidder1.auth)).json()
    assert payload["serial"] == mine["items"][-1]["serial"] and mine["items"][-1]["external"]
    assert payload["credit_code"] == seed.bidder1.credit_code and "pem" not in payload

    contract_id = await new_contract(services, seed, clock, "AWD-2026-0001")
    clock.advance(timedelta(minutes=1))
    await sign(client, contract_id, procurer, raw=True)
    clock.advance(timedelta(minutes=1))
    done = await sign(client, contract_id, supplier, raw=False)
    assert done["state"] == "signed"
    pdf = (await client.get(f"/api/v1/contracts/{contract_id}/pdf",
                            headers=seed.procurer.auth)).content
    report = (await client.get(f"/api/v1/contracts/{contract_id}/verification",
                               headers=seed.procurer.auth)).json()
    assert report["ok"], report["reasons"]

    ours = x509.load_pem_x509_certificate((await client.get(f"{CA}/root.pem")).content)
    theirs = external.ca.root
    both = await verify_contract_async(pdf, [ours, theirs])
    assert both.ok, both.reasons
    by_field = {s.field: s for s in both.signers}
    assert by_field["supplier"].credit_code == seed.bidder1.credit_code
    alone = await verify_contract_async(pdf, [ours])
    assert not alone.ok
    # B-LT: the external CA's CRL (fetched at signing) is in the file's DSS, and ours
    dss = DocumentSecurityStore.read_dss(PdfFileReader(BytesIO(pdf)))
    issuers = {x509.load_der_x509_crl(crl.get_object().data).issuer for crl in dss.crls}
    assert {external.ca.issuing.subject, external.ca.root.subject} <= issuers
    assert (await client.get(f"{CA}/crl")).status_code == 200

    # pyhanko sign validate, online: our CA served at TRADESYS_PUBLIC_URL, theirs by the
    # external app at the URLs its certificates name
    (tmp_path / "ours.pem").write_text(certificate_pem(ours))
    (tmp_path / "contract.pdf").write_bytes(pdf)
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False),
                         sock=ca_socket):
        result = await asyncio.to_thread(subprocess.run, [
            str(PYHANKO), "sign", "validate", "--force-revinfo", "--trust",
            str(tmp_path / "ours.pem"), "--trust", str(external.root), "--trust-replace",
            "--pretty-print", str(tmp_path / "contract.pdf")],
            capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.count("The signature is judged VALID.") == 2, output
    assert output.count("The signer's certificate is trusted.") == 2, output


async def test_revoked_at_the_external_ca_is_refused_and_an_unreachable_ca_is_503(
        client: httpx.AsyncClient, services: Services, seed: Seed, clock: AdjustableClock,
        external: External) -> None:
    """The external installation issues and revokes through its own API (its CRL is what it
    serves); then it goes away."""
    key = await signing_key(client, seed.bidder1)
    async with httpx.AsyncClient(base_url=external.server.url, timeout=30) as other:
        registered = await other.post("/api/v1/keys", headers=seed.bidder1.auth, json={
            "purpose": "signing", "public_key": public_key_text(key)})
        assert registered.status_code == 201, registered.text
        theirs = await other.post("/api/v1/contracts/certificates", headers=seed.bidder1.auth,
                                  json={"key_id": registered.json()["key_id"]})
        assert theirs.status_code == 201, theirs.text
    cert = x509.load_pem_x509_certificate(theirs.json()["pem"].encode())
    supplier = await register(client, seed.bidder1, key, cert, external)
    procurer = await http_signer(client, seed.procurer)
    contract_id = await new_contract(services, seed, clock, "AWD-2026-0001")
    await sign(client, contract_id, procurer, raw=True)

    async with httpx.AsyncClient(base_url=external.server.url, timeout=30) as other:
        revoked = await other.post(
            f"/api/v1/contracts/certificates/{theirs.json()['id']}/revocation",
            headers=seed.bidder1.auth, json={"reason": "私钥泄露"})
        assert revoked.status_code == 200, revoked.text
    clock.advance(timedelta(minutes=1))
    prepared = (await prepare(client, contract_id, seed.bidder1)).json()
    attributes = base64.b64decode(prepared["signed_attributes"])
    await refused(services, contract_id, 422, "certificate_revoked", complete(
        client, contract_id, seed.bidder1, prepared["prepare_id"], supplier.sign(attributes)))

    # another certificate for the same key, unrevoked: the newest is used; the CA goes away
    fresh = await register(client, seed.bidder1, key, issued(external, key, seed.bidder1, clock),
                           external)
    prepared = (await prepare(client, contract_id, seed.bidder1)).json()
    external.server.__exit__(None, None, None)
    attributes = base64.b64decode(prepared["signed_attributes"])
    await refused(services, contract_id, 503, "ca_unavailable", complete(
        client, contract_id, seed.bidder1, prepared["prepare_id"], fresh.sign(attributes)))
    assert (await stored(services, contract_id))[0] == "signing"


async def test_every_bad_registration_is_refused_and_changes_nothing(
        client: httpx.AsyncClient, services: Services, seed: Seed, clock: AdjustableClock,
        external: External) -> None:
    party = seed.bidder1
    key = await signing_key(client, party)
    now = clock.now()
    ca = external.ca

    def leaf(subject: x509.Name, usage: x509.KeyUsage | None) -> x509.Certificate:
        builder = ca._leaf(key.public_key(), subject, now, timedelta(days=30))
        if usage is not None:
            builder = builder.add_extension(usage, critical=True)
        return builder.sign(ca.issuing_key, hashes.SHA256())

    signature_only = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False)
    stranger = CertificateAuthority.create(now, base_url="http://127.0.0.1:9/ca")
    builtin = await http_signer(client, party)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"pem": "not a certificate"}, 422, "not_pem"),
        ({"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, 422,
         "not_pem"),
        (body(stranger.issue(key.public_key(), SignerName(party.key, "o", party.credit_code),
                             now), external) | {"intermediates": [
            certificate_pem(stranger.issuing)]}, 422, "untrusted_chain"),
        ({"pem": certificate_pem(issued(external, key, party, clock))}, 422, "untrusted_chain"),
        (body(issued(external, key, party, clock, at=now - timedelta(days=40), days=30),
              external), 422, "certificate_expired"),
        (body(issued(external, key, party, clock, at=now + timedelta(days=1)), external), 422,
         "certificate_not_yet_valid"),
        (body(leaf(_name(party.key, "o", party.credit_code), signature_only), external), 422,
         "wrong_key_usage"),
        (body(leaf(_name(party.key, "o", party.credit_code), None), external), 422,
         "wrong_key_usage"),
        (body(issued(external, generate_private_key(), party, clock), external), 422,
         "not_registered_key"),
        (body(issued(external, key, party, clock, credit_code=seed.bidder2.credit_code),
              external), 422, "credit_code_mismatch"),
        (body(leaf(_name(party.key, "o"), _leaf_usage()), external), 422, "no_credit_code"),
        ({"pem": builtin.pem}, 422, "builtin_certificate"),
    ]
    for request, status, code in cases:
        before = await table_counts(services)
        response = await client.post(EXTERNAL, headers=party.auth, json=request)
        assert_error(response, status, code)
        assert await table_counts(services) == before, code

    # another user's registered key is not this user's
    other_key = await signing_key(client, seed.bidder2)
    before = await table_counts(services)
    response = await client.post(EXTERNAL, headers=party.auth,
                                 json=body(issued(external, other_key, party, clock), external))
    assert_error(response, 422, "not_registered_key")
    assert await table_counts(services) == before

    # the ETSI prefix and lower case are accepted; the same certificate twice is 409
    good = issued(external, key, party, clock, credit_code=f"NTRCN-{party.credit_code.lower()}")
    await register(client, party, key, good, external)
    before = await table_counts(services)
    assert_error(await client.post(EXTERNAL, headers=party.auth, json=body(good, external)),
                 409, "certificate_registered")
    assert await table_counts(services) == before
