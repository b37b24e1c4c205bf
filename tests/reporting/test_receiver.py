"""The reference receiver refuses what it must, and stores nothing when it does."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from tests.reporting.conftest import Receiver
from tests.support import Flow
from tradesys.clock import AdjustableClock
from tradesys.events.models import OutboxRow
from tradesys.reporting.facts import ReportingSettings
from tradesys.reporting.report import Report, report_for
from tradesys.reporting.signing import sign_headers
from tradesys.services import Services


async def _first_report(flow: Flow, services: Services,
                        settings: ReportingSettings | None = None) -> Report:
    await flow.announced()
    async with services.db.reading() as session:
        row = (await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars().first()
        assert row is not None
        return await report_for(session, row, settings or services.reporting)


def _post(receiver: Receiver, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{receiver.url}/reports", content=body,
                      headers={"content-type": "application/json", **headers})


def _signed(services: Services, clock: AdjustableClock, key: str, body: bytes,
            signer: Ed25519PrivateKey | None = None) -> dict[str, str]:
    return {"idempotency-key": key,
            **sign_headers(signer or services.report_key, key, clock.now(), body)}


async def test_genuine_report_is_stored_once(flow: Flow, services: Services,
                                             clock: AdjustableClock,
                                             receiver: Receiver) -> None:
    report = await _first_report(flow, services)
    headers = _signed(services, clock, report.key, report.body)
    first = _post(receiver, report.body, headers)
    assert first.status_code == 201, first.text
    again = _post(receiver, report.body, _signed(services, clock, report.key, report.body))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(receiver.reports()) == 1


def _mutated(report: Report, change: Any) -> bytes:
    document = json.loads(report.body)
    change(document)
    return json.dumps(document, ensure_ascii=False).encode()


def _ocds_broken(document: dict[str, Any]) -> None:
    document["release"]["tag"] = ["bogus"]


def _common_key_missing(document: dict[str, Any]) -> None:
    del document["record"]["TENDER_PROJECT_CODE"]


def _other_platform(document: dict[str, Any]) -> None:
    document["pub_service_plat_code"] = "PSP9999999999"


@pytest.mark.parametrize("case, status, code", [
    ("bad_signature", 401, "bad_signature"),
    ("stale_signature", 401, "stale_signature"),
    ("no_signature", 401, "bad_signature"),
    ("superscript_timestamp", 401, "bad_signature"),
    ("unknown_platform", 403, "unknown_platform"),
    ("invalid_release", 422, "invalid_release"),
    ("missing_common_key", 422, "invalid_record"),
    ("wrong_platform", 422, "wrong_platform"),
    ("key_mismatch", 422, "bad_idempotency_key"),
    ("sequence_release_id", 422, "invalid_payload"),
    ("reused_key", 409, "key_reused"),
    ("not_json", 400, "malformed_json"),
])
async def test_bad_reports_are_refused_and_nothing_stored(flow: Flow, services: Services,
                                                         clock: AdjustableClock,
                                                         receiver: Receiver, case: str,
                                                         status: int, code: str) -> None:
    report = await _first_report(flow, services)
    body, headers = report.body, _signed(services, clock, report.key, report.body)
    if case == "bad_signature":
        headers = _signed(services, clock, report.key, body, Ed25519PrivateKey.generate())
    elif case == "stale_signature":
        headers = {"idempotency-key": report.key,
                   **sign_headers(services.report_key, report.key,
                                  clock.now() - timedelta(hours=1), body)}
    elif case == "no_signature":
        headers = {"idempotency-key": report.key}
    elif case == "superscript_timestamp":
        # '²' passes str.isdigit() and then fails int(): once a 500.
        headers = {**headers,
                   "webhook-timestamp": (headers["webhook-timestamp"] + "²").encode("latin-1")}
    elif case == "unknown_platform":
        body = _mutated(report, lambda d: d.update(platform_code="TS9999999999"))
        headers = _signed(services, clock, report.key, body)
    elif case == "invalid_release":
        body = _mutated(report, _ocds_broken)
        headers = _signed(services, clock, report.key, body)
    elif case == "missing_common_key":
        body = _mutated(report, _common_key_missing)
        headers = _signed(services, clock, report.key, body)
    elif case == "wrong_platform":
        body = _mutated(report, _other_platform)
        headers = _signed(services, clock, report.key, body)
    elif case == "key_mismatch":
        headers = _signed(services, clock, report.key + "x", body)
    elif case == "sequence_release_id":
        # The old key, ocid/<event seq>: consistent, signed, and refused (a sequence number
        # would count the sender's other events between two reports).
        key = f"{report.document['release']['ocid']}/000000000012"

        def renumber(document: dict[str, Any]) -> None:
            document["id"] = key
            document["release"]["id"] = "000000000012"
        body = _mutated(report, renumber)
        headers = _signed(services, clock, key, body)
    elif case == "reused_key":
        assert _post(receiver, body, headers).status_code == 201
        body = _mutated(report, lambda d: d["record"].update(TENDER_CONTENT="改过的内容"))
        headers = _signed(services, clock, report.key, body)
    elif case == "not_json":
        body = b"{not json"
        headers = _signed(services, clock, report.key, body)
    before = len(receiver.reports())
    response = _post(receiver, body, headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert len(receiver.reports()) == before
