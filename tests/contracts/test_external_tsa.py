"""An external time-stamping authority (``TRADESYS_TSA_URL``), reached over real HTTP.

The external TSA is another installation: a second app with its own data folder (so its own
CA and TSA) served by uvicorn on a loopback port, whose RFC 3161 endpoint
(``/api/v1/contracts/ca/tsa``) and CRLs the app under test uses. The contract's signatures and
its document timestamp are then that TSA's tokens: the file verifies with both roots trusted,
and not with only our own; the archive's time stamps come from it too. Once the TSA is gone,
completing a signature is 503 ``tsa_unavailable`` and nothing is stored.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader

from contracts.store import create_contract
from contracts.timestamps import AuthorityStamps, check_timestamp
from contracts.verify import verify_contract_async
from tests.contracts.conftest import facts_for
from tests.contracts.test_http import complete, http_signer, prepare, refused, sign, stored
from tests.support import Seed
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.events.log import Actor
from tradesys.services import Services
from tradesys.settings import Settings

CA = "/api/v1/contracts/ca"


@pytest.fixture
def external(db_url: str, tmp_path: Path, clock: AdjustableClock) -> Iterator[InProcessServer]:
    """Another installation's app (its own CA and TSA) under uvicorn, at the address its
    certificates name."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    other = Settings(data_dir=tmp_path / "tsa-data", database_url=db_url,
                     scheduler_interval=3600, public_url=url)
    server = InProcessServer(create_app(other, clock=clock, run_scheduler=False), sock=sock)
    with server:
        yield server
    sock.close()


@pytest.fixture
def external_root(external: InProcessServer, tmp_path: Path) -> Path:
    path = tmp_path / "tsa-root.pem"
    path.write_bytes(httpx.get(f"{external.url}{CA}/root.pem", timeout=30).content)
    return path


@pytest.fixture
def settings(db_url: str, tmp_path: Path, external: InProcessServer,
             external_root: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, scheduler_interval=3600,
                    tsa_url=f"{external.url}{CA}/tsa", contract_trust_roots=str(external_root))


async def _contract(services: Services, seed: Seed, clock: AdjustableClock,
                    award_id: str) -> int:
    async with services.db.transaction() as session:
        return (await create_contract(
            session, facts_for(seed.procurer, seed.bidder1, award_id=award_id), project_id=None,
            actor=Actor(user_id=seed.procurer.user_id), at=clock.now())).id


async def test_signatures_and_document_timestamps_come_from_the_external_tsa(
        client: httpx.AsyncClient, services: Services, seed: Seed, clock: AdjustableClock,
        settings: Settings, external: InProcessServer, external_root: Path) -> None:
    procurer = await http_signer(client, seed.procurer)
    supplier = await http_signer(client, seed.bidder1)
    contract_id = await _contract(services, seed, clock, "AWD-2026-0001")
    await sign(client, contract_id, procurer, raw=True)
    done = await sign(client, contract_id, supplier, raw=False)
    assert done["state"] == "signed"
    pdf = (await client.get(f"/api/v1/contracts/{contract_id}/pdf",
                            headers=seed.procurer.auth)).content
    report = (await client.get(f"/api/v1/contracts/{contract_id}/verification",
                               headers=seed.procurer.auth)).json()
    assert report["ok"], report["reasons"]

    # every token is the external TSA's, not ours
    ours = x509.load_pem_x509_certificate((await client.get(f"{CA}/root.pem")).content)
    theirs = x509.load_pem_x509_certificate(external_root.read_bytes())
    assert ours != theirs
    async with httpx.AsyncClient() as other:
        external_tsa = x509.load_pem_x509_certificate(
            (await other.get(f"{external.url}{CA}/tsa.pem")).content)
    our_tsa = x509.load_pem_x509_certificate((await client.get(f"{CA}/tsa.pem")).content)
    reader = PdfFileReader(BytesIO(pdf))
    [document_stamp] = reader.embedded_timestamp_signatures
    assert document_stamp.signer_cert.dump() == external_tsa.public_bytes(Encoding.DER)
    for signature in reader.embedded_regular_signatures:
        [token] = [attribute["values"][0] for attribute in signature.signer_info["unsigned_attrs"]
                   if attribute["type"].native == "signature_time_stamp_token"]
        serials = {info["sid"].chosen["serial_number"].native
                   for info in token["content"]["signer_infos"]}
        assert serials == {external_tsa.serial_number} != {our_tsa.serial_number}

    # offline: both roots trusted, it holds; only our own root, the timestamps are not trusted
    both = await verify_contract_async(pdf, [ours, theirs])
    assert both.ok, both.reasons
    alone = await verify_contract_async(pdf, [ours])
    assert not alone.ok
    assert any("document timestamp" in reason for reason in alone.reasons), alone.reasons
    assert any("signature timestamp" in reason for reason in alone.reasons), alone.reasons

    # the archive's time stamps come from it too
    digest = hashlib.sha256(b"archive seal").digest()
    token = await asyncio.to_thread(AuthorityStamps(settings).stamp, digest, clock.now())
    assert (await asyncio.to_thread(check_timestamp, token, digest, [theirs])).ok
    assert not (await asyncio.to_thread(check_timestamp, token, digest, [ours])).ok

    # the TSA goes away: completing a signature is 503, nothing stored
    second = await _contract(services, seed, clock, "AWD-2026-0002")
    prepared = (await prepare(client, second, seed.procurer)).json()
    external.__exit__(None, None, None)
    attributes = base64.b64decode(prepared["signed_attributes"])
    await refused(services, second, 503, "tsa_unavailable", complete(
        client, second, seed.procurer, prepared["prepare_id"], procurer.sign(attributes)))
    assert (await stored(services, second))[0] == "signing"
