"""The verifier's result through HTTP, on both back ends (``GET /api/v1/archives/{id}/
verification``, docs/archive.md "Retrieval"): the offline verifier over the stored bag, as
``tradesys verify archive`` runs it. A built archive is ok; a byte flipped in a payload file on
disk is a failure naming the file (and ok again once restored); a bag swapped for another
version's, which verifies on its own, fails against the SHA-256 recorded at the build; one
verification beyond the process's bound is a 429; a missing bag is a 503; everyone who may not
read the archive gets the same 404 as an id that names nothing.

The archives are the ones tests/archive/test_retrieval.py builds (a failed tender archived
twice), through its helper: no new project flow.
"""

from __future__ import annotations

import json
import shutil

import httpx
from starlette.applications import Starlette

from archive import retrieval
from tests.archive.test_retrieval import archived, row_ids
from tests.evaluation.conftest import Pool, pool  # noqa: F401  (the fixture)
from tests.support import Flow, Seed
from tradesys.clock import AdjustableClock
from tradesys.services import Services


async def test_the_verification_of_the_stored_bag(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette) -> None:
    _project_id, first, second = await archived(client, flow, seed, services, pool, clock, app)
    v1, v2 = await row_ids(services)
    url = f"/api/v1/archives/{v1}/verification"

    # Every reader gets the verifier's result: all checks hold.
    for party in (seed.procurer, seed.agency, seed.supervisor, seed.admin):
        response = await client.get(url, headers=party.auth)
        assert response.status_code == 200, (party.key, response.text)
        body = response.json()
        assert body["ok"] is True and body["failures"] == [], body
        assert body["archive_sha256"] == first.sha256
        assert body["checked"]["payload files"] == first.payload_files
        assert set(body["checked"]) >= {"payload files", "events", "inclusion proofs", "seal",
                                         "time stamps"}, body
        assert all(isinstance(n, int) and n > 0 for n in body["checked"].values())

    # Everyone else: the same 404 as an id that names nothing; no credential, 401.
    nothing = {"code": "archive_not_found", "message": "档案不存在 (no such archive)"}
    for party in (seed.procurer2, seed.agency2, seed.bidder1, seed.expert):
        response = await client.get(url, headers=party.auth)
        assert response.status_code == 404 and response.json()["error"] == nothing, party.key
    for missing in (999999, 0, 2**31, 10**30):
        response = await client.get(f"/api/v1/archives/{missing}/verification",
                                    headers=seed.admin.auth)
        assert response.status_code == 404 and response.json()["error"] == nothing
    assert (await client.get(url)).status_code == 401

    # One byte flipped in a payload file of the stored bag (same size): named, not ok.
    index = json.loads((first.path / "data/index.json").read_bytes())["files"]
    target = next(e["path"] for e in index if e["kind"] == "bid_envelope")
    stored = first.path / target
    kept = stored.read_bytes()
    stored.write_bytes(bytes([kept[0] ^ 0x01]) + kept[1:])
    body = (await client.get(url, headers=seed.procurer.auth)).json()
    assert body["ok"] is False
    assert f"{target}: SHA256 differs from manifest-sha256.txt (the file was changed)" in (
        body["failures"])
    assert all(target in failure for failure in body["failures"]), body["failures"]
    stored.write_bytes(kept)
    assert (await client.get(url, headers=seed.procurer.auth)).json()["ok"] is True

    # Version 2's bag in version 1's folder: it verifies on its own, but it is not the bag
    # recorded for version 1.
    shutil.move(first.path, first.path.with_name("kept"))
    shutil.copytree(second.path, first.path)
    body = (await client.get(url, headers=seed.admin.auth)).json()
    assert body["ok"] is False and body["archive_sha256"] == second.sha256
    assert body["failures"] == [
        f"tagmanifest-sha256.txt: the archive's SHA-256 {second.sha256} is not the "
        f"{first.sha256} recorded when version 1 was built (another bag)"]
    assert (await client.get(f"/api/v1/archives/{v2}/verification",
                             headers=seed.admin.auth)).json()["ok"] is True

    # While as many verifications run as the process allows, one more is told to come back.
    held = [retrieval.VERIFICATIONS.acquire(blocking=False) for _ in range(2)]
    try:
        assert held == [True, True]
        response = await client.get(f"/api/v1/archives/{v2}/verification",
                                    headers=seed.admin.auth)
    finally:
        for _ in held:
            retrieval.VERIFICATIONS.release()
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "archive_verification_busy"
    assert response.headers["retry-after"] == "30"
    assert (await client.get(f"/api/v1/archives/{v2}/verification",
                             headers=seed.admin.auth)).json()["ok"] is True

    # No bag at all: 503 archive_damaged (never a failure naming a server path, never a 500).
    shutil.rmtree(first.path)
    response = await client.get(url, headers=seed.admin.auth)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "archive_damaged"
