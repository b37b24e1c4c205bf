"""The opening over HTTP: its public state, the published record, and the same commands the
hall takes over WebSocket (for the CLI and automation; the hall is where people take part)."""

from __future__ import annotations

from typing import Any

from pydantic import RootModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import FileResponse, Response

from tradesys.api.routing import Call, Content, Result, Router
from tradesys.errors import NotFound
from tradesys.identity.principal import Principal
from tradesys.opening import ceremony
from tradesys.opening.audience import visible_to_public
from tradesys.opening.messages import AnyHttpCommand

router = Router()


class OpeningCommandIn(RootModel[AnyHttpCommand]):
    """One hall command (docs/hall-protocol.md), e.g. ``{"type": "start_decryption"}``; not
    ``ping``, which only a hall connection answers (GET /time is the clock over HTTP)."""


async def _public_context(session: AsyncSession, section_id: int) -> ceremony.Context:
    ctx = await ceremony.load(session, section_id, lock=False)
    if not visible_to_public(ctx.project):
        raise NotFound("section_not_found", "标段不存在 (no such section)")
    return ctx


@router.endpoint("GET", "/sections/{section_id:int}/opening",
                 summary="开标状态 (the opening's public state, as the hall shows it)",
                 tag="opening", public=True)
async def opening_state(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        ctx = await _public_context(session, section_id)
        snapshot: dict[str, Any] = ctx.state.snapshot()
        return snapshot

    return await call.read(work)


@router.endpoint("POST", "/sections/{section_id:int}/opening/commands",
                 summary="开标指令 (run one hall command: the same rules as over WebSocket)",
                 tag="opening", body=OpeningCommandIn)
async def opening_command(call: Call) -> Response:
    section_id = call.path_int("section_id")
    commands = call.services.opening

    async def work(session: AsyncSession, principal: Principal) -> Result:
        body: OpeningCommandIn = call.body
        result: dict[str, Any] = await commands.run(session, principal, section_id, body.root)
        return result

    return await call.command(work)


def _record_route(suffix: str, media_type: str) -> Any:
    async def download(call: Call) -> Response:
        section_id = call.path_int("section_id")

        async def work(session: AsyncSession, _principal: Principal | None) -> Result:
            ctx = await _public_context(session, section_id)
            if ctx.state.closed is None or not ctx.state.closed.get("record_sha256"):
                raise NotFound("record_not_published", "开标记录尚未发布 (the opening record "
                               "is not published yet)")
            return {"sha256": ctx.state.closed["record_sha256"]}

        sha = (await call.read(work))["sha256"]
        records = call.services.opening.records
        path = records.json_path(sha) if suffix == "json" else records.pdf_path(sha)
        return FileResponse(path, media_type=media_type, headers={
            "Content-Disposition": f"inline; filename=opening-record-{section_id}.{suffix}",
            "X-Record-SHA256": sha})
    download.__name__ = f"opening_record_{suffix}"
    return download


router.endpoint("GET", "/sections/{section_id:int}/opening/record.json",
                summary="开标记录 JSON (the published opening record, canonical JSON)",
                tag="opening", public=True)(_record_route("json", "application/json"))
router.endpoint("GET", "/sections/{section_id:int}/opening/record.pdf",
                summary="开标记录 PDF (the published opening record)", tag="opening",
                public=True, produces=Content(("application/pdf",)))(
                    _record_route("pdf", "application/pdf"))
