"""The demo's contract (合同网签, docs/contracts.md), through the public HTTP API: the
procurer makes it from the award; both parties — the procurer (甲方) and the winner (乙方) —
get certificates for their own registered P-256 signing keys and sign the prepared bytes on
their side, the procurer first (certifying); the signed PDF and the CA's root certificate are
kept, so that ``tradesys verify contract contract.pdf --trust contract-root.pem`` checks it
without the platform.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tradesys.demo.award import bidder, section_path
from tradesys.demo.scenario import DemoFailure, Party, Scenario, check


def _certificate(sc: Scenario, party: Party) -> None:
    """The party's registered signing key certified by the platform's contract CA."""
    _key, key_id = sc.signing_key_of(party)
    check("contract", sc.client.post("/api/v1/contracts/certificates", headers=party.headers(),
                                     json={"key_id": key_id}), 201)


def _sign(sc: Scenario, contract_id: int, party: Party) -> dict[str, object]:
    """Prepare on the server, sign the prepared bytes on the party's side (WebCrypto's raw
    r‖s), complete on the server."""
    key, _key_id = sc.signing_key_of(party)
    base = f"/api/v1/contracts/{contract_id}/signatures"
    prepared = check("contract", sc.client.post(f"{base}/prepare", headers=party.headers()),
                     200)
    der = key.sign(base64.b64decode(prepared["signed_attributes"]), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return check("contract", sc.client.post(f"{base}/complete", headers=party.headers(), json={
        "prepare_id": prepared["prepare_id"],
        "signature": base64.b64encode(raw).decode("ascii")}), 200)


def contract(sc: Scenario) -> None:
    """The procurer makes the contract from the award; both parties get certificates for
    their signing keys and sign (the procurer first, certifying); the signed PDF and the
    contract CA's root certificate are downloaded as artifacts."""
    assert sc.clock is not None
    # The parties sign today: the server clock, behind while the tender's periods ran, catches
    # up with the real time (never backwards), so the signatures and their timestamps are of
    # the real day and validate at the real time (pyhanko's AdES validation uses it).
    sc.clock.set(datetime.now(UTC))
    procurer = sc.party("procurer")
    winner = bidder(sc, sc.state.results["winner"])
    made = check("contract", sc.client.post(f"{section_path(sc)}/contract",
                                            headers=procurer.headers()), 201)
    for party in (procurer, winner):
        _certificate(sc, party)
    _sign(sc, made["id"], procurer)
    done = _sign(sc, made["id"], winner)
    if done.get("state") != "signed":
        raise DemoFailure("contract", f"the contract is {done.get('state')!r} after both signed")
    pdf = sc.client.get(f"/api/v1/contracts/{made['id']}/pdf", headers=winner.headers())
    check("contract", pdf, 200)
    root = sc.client.get("/api/v1/contracts/ca/root.pem")
    check("contract", root, 200)
    out = sc.state.out_dir
    (out / "contract.pdf").write_bytes(pdf.content)
    (out / "contract-root.pem").write_bytes(root.content)
    sc.state.artifacts["contract"] = str((out / "contract.pdf").resolve())
    sc.state.artifacts["trust_root"] = str((out / "contract-root.pem").resolve())
    sc.state.results.update(contract=sc.state.artifacts["contract"],
                            trust_root=sc.state.artifacts["trust_root"],
                            contract_id=made["id"])
