"""The public service platform's pull interface, our public key, and delivery status."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import PlainTextResponse, Response

from tradesys.api.errors import BadRequest
from tradesys.api.pagination import LIMIT, parse_limit
from tradesys.api.routing import PEM, Call, Param, Result, Router
from tradesys.errors import NotFound
from tradesys.events.models import OutboxRow
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.reporting.feed import compile_record, releases_after, releases_of_project
from tradesys.reporting.ocds import release_package
from tradesys.signatures import public_pem
from tradesys.strict import parse_int

router = Router()
#: Here the cursor is the public sequence number of the last release seen (a whole number:
#: outbox.public_seq, which counts public releases only).
RELEASE_CURSOR = Param("cursor", "query", {"type": "integer", "minimum": 0,
                                           "maximum": 2**63 - 1},
                       description="next_cursor of the previous page")


def _cursor(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    cursor = parse_int(raw, maximum=2**63 - 1)
    if cursor is None:
        raise BadRequest("invalid_cursor", "分页游标无效 (invalid cursor)")
    return cursor


@router.endpoint("GET", "/platform/releases",
                 summary="OCDS 发布包 (OCDS release package in commit order; ?cursor=)",
                 tag="platform", public=True, params=(RELEASE_CURSOR, LIMIT))
async def releases(call: Call) -> Result:
    cursor = _cursor(call.query("cursor"))
    limit = parse_limit(call.query("limit"))
    reporting = call.services.reporting

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        items, last = await releases_after(session, reporting, cursor, limit)
        base = f"{reporting.public_base_url}/api/v1/platform/releases"
        package: dict[str, Any] = release_package(items, reporting, call.now,
                                                  f"{base}?cursor={cursor}")
        next_cursor = last if last is not None else cursor
        package["links"] = {"next": f"{base}?cursor={next_cursor}&limit={limit}"}
        package["next_cursor"] = str(next_cursor)
        return package

    return await call.read(work)


@router.endpoint("GET", "/platform/records/{ocid:str}",
                 summary="OCDS 记录 (the record of one ocid: its releases and the compiled "
                 "release)", tag="platform", public=True)
async def record(call: Call) -> Result:
    ocid = call.request.path_params["ocid"]
    reporting = call.services.reporting
    prefix = reporting.ocid_prefix + "-"
    if not ocid.startswith(prefix):
        raise NotFound("record_not_found", "记录不存在 (no such record)")

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        items = await releases_of_project(session, reporting, ocid[len(prefix):])
        if not items:
            raise NotFound("record_not_found", "记录不存在 (no such record)")
        return {
            "uri": f"{reporting.public_base_url}/api/v1/platform/records/{ocid}",
            "version": "1.1",
            "publishedDate": items[-1]["date"],
            "publisher": {"name": reporting.publisher_name},
            "records": [compile_record(ocid, items)],
        }

    return await call.read(work)


@router.endpoint("GET", "/platform/key",
                 summary="报送签名公钥 (the Ed25519 public key that signs our reports, PEM)",
                 tag="platform", public=True, produces=PEM)
async def signing_key(call: Call) -> Response:
    return PlainTextResponse(public_pem(call.services.report_key))


@router.endpoint("GET", "/platform/status",
                 summary="报送状态 (delivery backlog, lag and dead letters; admin, supervisor)",
                 tag="platform")
async def status(call: Call) -> Result:
    assert call.principal is not None
    call.principal.require_role(Role.ADMIN, Role.SUPERVISOR)
    now = call.now

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        counts = dict((await session.execute(
            select(OutboxRow.status, func.count()).group_by(OutboxRow.status))).all())
        oldest = (await session.execute(
            select(func.min(OutboxRow.created_at)).where(OutboxRow.status != "delivered")
        )).scalar_one()
        dead = (await session.execute(
            select(OutboxRow).where(OutboxRow.status == "dead").order_by(OutboxRow.id)
            .limit(100))).scalars().all()
        return {
            "counts": {s: counts.get(s, 0) for s in ("pending", "delivered", "dead")},
            "oldest_undelivered_age_seconds": (
                None if oldest is None else (now - oldest).total_seconds()),
            "endpoint_configured": bool(call.services.settings.platform_url),
            "dead": [{"id": row.id, "project_id": row.project_id, "dataset": row.topic,
                      "attempts": row.attempts, "last_error": row.last_error} for row in dead],
        }

    return await call.read(work)
