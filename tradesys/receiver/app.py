"""The receiver's HTTP interface.

``POST /reports``: verify the signature (the sender's platform code selects its public key),
validate the payload (common keys, OCDS release schema), de-duplicate by key (same key and
body → 200, same key and another body → 409), store → 201. Nothing is stored unless every
check passes. ``GET /reports``, ``GET /releases`` (an OCDS release package of what arrived)
and ``GET /stats`` list what was accepted.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradesys.clock import Clock, SystemClock, isoformat_utc
from tradesys.db.database import Database
from tradesys.receiver.store import ReceivedReport, ReceiverBase
from tradesys.reporting.signing import STALE, verify_headers
from tradesys.reporting.validation import release_errors
from tradesys.strict import BadJson, parse_int, parse_json

COMMON_KEYS = ("PLATFORM_CODE", "PUB_SERVICE_PLAT_CODE", "DATA_TIMESTAMP", "UNIFIED_DEAL_CODE",
               "TENDER_PROJECT_CODE", "BID_SECTION_CODES")
DATASETS = {"TENDER_PROJECT", "NOTICE", "TENDER_FILE_CLARI_MODI", "TENDER_LIST",
            "BID_OPENING_RECORD", "EVALUATION_REPORT", "TENDER_CANDIDATE", "WIN_RESULT_ANNO",
            "BID_WINNING_NOTICE", "CONTRACT_PERFORMANCE"}
MAX_BODY = 4 * 1024 * 1024


#: A release id: the SHA-256 (hex) of the reported event's log entry.
RELEASE_ID = re.compile(r"[0-9a-f]{64}")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _payload_problems(document: Any, own_code: str) -> tuple[int, str, str] | None:
    if not isinstance(document, dict):
        return 422, "invalid_payload", "the body is not a JSON object"
    for name in ("id", "platform_code", "pub_service_plat_code", "dataset", "event_seq",
                 "record", "release"):
        if name not in document:
            return 422, "invalid_payload", f"missing {name}"
    if document["pub_service_plat_code"] != own_code:
        return 422, "wrong_platform", "the report is addressed to another public platform"
    if document["dataset"] not in DATASETS:
        return 422, "unknown_dataset", f"unknown data set {document['dataset']!r}"
    seq = document["event_seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq < 2**63:
        return 422, "invalid_payload", "event_seq must be a positive integer"
    record, release = document["record"], document["release"]
    if not isinstance(record, dict) or not isinstance(release, dict):
        return 422, "invalid_payload", "record and release must be objects"
    missing = [key for key in COMMON_KEYS if not record.get(key)]
    if missing:
        return 422, "invalid_record", f"record lacks common keys: {', '.join(missing)}"
    if record["PLATFORM_CODE"] != document["platform_code"]:
        return 422, "invalid_record", "PLATFORM_CODE differs from the sender"
    errors = release_errors(release)
    if errors:
        return 422, "invalid_release", "OCDS: " + "; ".join(errors[:5])
    if f"{release['ocid']}/{release['id']}" != document["id"]:
        return 422, "invalid_payload", "the report id is not ocid/release id"
    if not isinstance(release["id"], str) or not RELEASE_ID.fullmatch(release["id"]):
        # The key names the release by its log entry's hash, never by a sequence number (a
        # number would count the sender's other events between two reports).
        return 422, "invalid_payload", "the release id is not a log entry's SHA-256 hash"
    return None


def create_receiver_app(database_url: str, *, platform_code: str,
                        trusted: dict[str, Ed25519PublicKey], clock: Clock | None = None,
                        tolerance_seconds: int = 300) -> Starlette:
    clock = clock or SystemClock()
    # The same engine set-up as the trading system (WAL, immediate write transactions).
    db = Database(database_url)
    engine = db.engine

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(ReceiverBase.metadata.create_all)
        try:
            yield
        finally:
            await db.dispose()

    async def receive(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "too_large", "report too large")
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            document = parse_json(body)
        except BadJson as error:
            return _error(400, error.code, error.message)
        sender = document.get("platform_code") if isinstance(document, dict) else None
        public = trusted.get(sender) if isinstance(sender, str) else None
        if public is None:
            return _error(403, "unknown_platform", "unknown trading system platform code")
        problem = verify_headers(public, headers, body, clock.now(), tolerance_seconds)
        if problem is not None:
            return _error(401, "stale_signature" if problem == STALE else "bad_signature",
                          problem)
        key = headers.get("idempotency-key", "")
        if not hmac.compare_digest(key.encode(), headers["webhook-id"].encode()):
            return _error(422, "bad_idempotency_key", "Idempotency-Key must equal webhook-id")
        problems = _payload_problems(document, platform_code)
        if problems is not None:
            return _error(*problems)
        if document["id"] != key:
            return _error(422, "bad_idempotency_key", "Idempotency-Key must equal the report id")
        digest = hashlib.sha256(body).hexdigest()
        try:
            async with db.transaction() as session:
                existing = (await session.execute(
                    select(ReceivedReport).where(ReceivedReport.key == key))
                ).scalar_one_or_none()
                if existing is not None:
                    if hmac.compare_digest(existing.body_sha256, digest):
                        return JSONResponse({"key": key, "duplicate": True}, status_code=200)
                    return _error(409, "key_reused", "this key was used with another body")
                session.add(ReceivedReport(
                    key=key, body_sha256=digest, platform_code=sender,
                    dataset=document["dataset"], ocid=document["release"]["ocid"],
                    event_seq=document["event_seq"], body=body.decode("utf-8"),
                    received_at=clock.now()))
        except IntegrityError:  # the same key raced in: the first one won
            return _error(409, "key_in_flight", "the same key arrived concurrently")
        return JSONResponse({"key": key, "duplicate": False}, status_code=201)

    async def list_reports(request: Request) -> Response:
        after = parse_int(request.query_params.get("after") or "0", maximum=2**63 - 1)
        if after is None:
            return _error(400, "bad_after", "after must be a whole number")
        async with db.reading() as session:
            rows = (await session.execute(
                select(ReceivedReport).where(ReceivedReport.arrival > after)
                .order_by(ReceivedReport.arrival).limit(1000))).scalars().all()
        return JSONResponse({"items": [
            {"arrival": row.arrival, "key": row.key, "dataset": row.dataset, "ocid": row.ocid,
             "event_seq": row.event_seq, "received_at": isoformat_utc(row.received_at),
             "report": json.loads(row.body)} for row in rows]})

    async def releases(_request: Request) -> Response:
        async with db.reading() as session:
            rows = (await session.execute(
                select(ReceivedReport.body).order_by(ReceivedReport.arrival))).scalars().all()
        items = [json.loads(body)["release"] for body in rows]
        return JSONResponse({
            "uri": "urn:tradesys:receiver:releases", "version": "1.1",
            "publishedDate": isoformat_utc(clock.now())[:19] + "Z",
            "publisher": {"name": f"reference public service platform {platform_code}"},
            "extensions": [
                "https://raw.githubusercontent.com/open-contracting-extensions/"
                "ocds_bid_extension/v1.1.5/extension.json"],
            "releases": items,
        })

    async def stats(_request: Request) -> Response:
        async with db.reading() as session:
            counts = dict((await session.execute(
                select(ReceivedReport.dataset, func.count())
                .group_by(ReceivedReport.dataset))).all())
        return JSONResponse({"by_dataset": counts, "total": sum(counts.values())})

    return Starlette(routes=[
        Route("/reports", receive, methods=["POST"]),
        Route("/reports", list_reports, methods=["GET"]),
        Route("/releases", releases, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
    ], lifespan=lifespan)
