"""A contract between the seeded procurer (甲方) and bidder1 (乙方), both with registered P-256
signing keys (through the real API) and certificates from a built-in CA, on the test clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import func, select

from contracts.facts import ContractFacts
from contracts.models import ContractSignature
from contracts.pki import CertificateAuthority
from contracts.store import Authority, issue_certificate
from tests.support import T0, Party, Seed
from tradesys.bids.keys import generate_private_key, key_id, public_key_text
from tradesys.clock import AdjustableClock
from tradesys.events.log import Actor
from tradesys.events.models import Event
from tradesys.services import Services


@pytest.fixture
def clock() -> AdjustableClock:
    """Frozen, but at today's time (to the second), not at T0: ``pyhanko sign adesverify``
    validates at the real time and needs the CRLs in the file to be current then (our own
    verifier validates as of the document timestamp and passes either way)."""
    return AdjustableClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10),
                           frozen=True)


@pytest.fixture(scope="session")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create(T0, base_url="http://testserver/api/v1/contracts/ca")


@pytest.fixture
def authority(ca: CertificateAuthority) -> Authority:
    return Authority(ca)


def facts_for(purchaser: Party, supplier: Party, **extra: object) -> ContractFacts:
    value = {
        "award_id": "AWD-2026-0001", "trade_type": "works",
        "project": {"code": "GC-2026-001", "name": "滨江大道改造工程"},
        "section": {"code": "GC-2026-001-01", "name": "第一标段"},
        "purchaser": {"name": f"{purchaser.key} 有限公司", "credit_code": purchaser.credit_code},
        "supplier": {"name": f"{supplier.key} 有限公司", "credit_code": supplier.credit_code},
        "subject": "滨江大道（一期）道路、排水及照明工程施工，详见招标文件第五章。",
        "price": "35200000.00", "duration_days": 365,
        "quality": "符合国家现行验收规范，一次验收合格。",
        "clauses": [{"title": "工程款支付", "text": "按月计量，按已完工程量的 80% 支付。"}],
        "awarded_at": "2026-03-01T01:00:00Z",
        **extra,
    }
    return ContractFacts.model_validate_json(__import__("json").dumps(value))


@dataclass
class Signer:
    party: Party
    key: ec.EllipticCurvePrivateKey
    certificate_id: int = 0

    def actor(self) -> Actor:
        return Actor(user_id=self.party.user_id, org_id=self.party.org_id, ip="127.0.0.1")

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def sign_raw(self, data: bytes) -> bytes:
        """As WebCrypto gives it: r ‖ s, 32 bytes each."""
        r, s = decode_dss_signature(self.sign(data))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


async def register_signer(client: httpx.AsyncClient, services: Services, authority: Authority,
                          party: Party, at: datetime) -> Signer:
    key = generate_private_key()
    response = await client.post("/api/v1/keys", headers=party.auth, json={
        "purpose": "signing", "public_key": public_key_text(key)})
    assert response.status_code == 201, response.text
    signer = Signer(party, key)
    async with services.db.transaction() as session:
        row = await issue_certificate(session, authority, user_id=party.user_id,
                                      key_id=key_id(key), actor=Actor(user_id=1), at=at)
        signer.certificate_id = row.id
    return signer


@pytest.fixture
async def signers(client: httpx.AsyncClient, services: Services, authority: Authority,
                  seed: Seed, clock: AdjustableClock) -> dict[str, Signer]:
    return {name: await register_signer(client, services, authority, seed.parties[name],
                                        clock.now())
            for name in ("procurer", "bidder1", "bidder2")}


async def event_count(services: Services) -> int:
    async with services.db.reading() as session:
        return (await session.execute(select(func.count()).select_from(Event))).scalar_one()


async def signature_rows(services: Services) -> list[ContractSignature]:
    async with services.db.reading() as session:
        return list((await session.execute(select(ContractSignature))).scalars().all())
