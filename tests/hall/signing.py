"""Bidders' signing keys for confirming opening records, made and used as a bidder's tool would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support import Party
from tradesys.bids.keys import public_key_text
from tradesys.opening import confirmation


@dataclass(frozen=True)
class SigningKey:
    party: Party
    private_key: ec.EllipticCurvePrivateKey
    key_id: str

    def confirm(self, section_code: str, record_sha256: str) -> dict[str, Any]:
        """The fields of a ``confirm_record`` command signed with this key."""
        signed = confirmation.message(section_code, record_sha256, self.party.credit_code)
        return {"record_sha256": record_sha256, "key_id": self.key_id,
                "signature": confirmation.sign(self.private_key, signed)}


async def register_signing_key(client: httpx.AsyncClient, party: Party) -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    response = await client.post("/api/v1/keys", headers=party.auth, json={
        "purpose": "signing", "public_key": public_key_text(private_key)})
    assert response.status_code == 201, response.text
    return SigningKey(party, private_key, response.json()["key_id"])
