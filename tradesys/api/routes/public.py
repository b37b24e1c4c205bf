"""What anyone may read without logging in: server time and the public notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.api.errors import BadRequest
from tradesys.api.pagination import decode_cursor, encode_cursor, parse_limit
from tradesys.api.routing import Call, Result, Router
from tradesys.api.schemas import NoticeDetail, NoticeOut, NoticePage, ServerTime
from tradesys.clock import DISPLAY_TZ, isoformat_utc
from tradesys.identity.principal import Principal
from tradesys.procurement import notices

router = Router()


@router.endpoint(
    "GET",
    "/time",
    summary="服务器时间 (server time, the only time)",
    tag="public",
    response=ServerTime,
    public=True,
)
async def server_time(call: Call) -> Result:
    now = call.now
    return ServerTime(
        now=now,
        timezone=str(DISPLAY_TZ),
        display=now.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M:%S"),
    )


def _notice_cursor(raw: str | None) -> tuple[datetime, int] | None:
    cursor = decode_cursor(raw)
    if cursor is None:
        return None
    try:
        when, notice_id = cursor
        return datetime.fromisoformat(when), int(notice_id)
    except (TypeError, ValueError) as exc:
        raise BadRequest("invalid_cursor", "分页游标无效 (invalid cursor)") from exc


@router.endpoint(
    "GET",
    "/notices",
    summary="公告列表 (public notices, newest first)",
    tag="public",
    response=NoticePage,
    public=True,
    query=("cursor", "limit"),
)
async def list_notices(call: Call) -> Result:
    before = _notice_cursor(call.query("cursor"))
    limit = parse_limit(call.query("limit"))

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        rows = await notices.list_public_notices(session, before=before, limit=limit + 1)
        items = [
            NoticeOut(
                id=row.id,
                project_id=row.project_id,
                project_code=row.project_code,
                project_name=row.project_name,
                kind=row.kind,
                title=row.title,
                published_at=row.published_at,
                bid_deadline=row.bid_deadline,
            )
            for row in rows[:limit]
        ]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor([isoformat_utc(last.published_at), last.id])
        return NoticePage(items=items, next_cursor=next_cursor)

    return await call.read(work)


@router.endpoint(
    "GET",
    "/notices/{notice_id:int}",
    summary="公告详情 (one public notice)",
    tag="public",
    response=NoticeDetail,
    public=True,
)
async def get_notice(call: Call) -> Result:
    notice_id = call.path_int("notice_id")

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        return NoticeDetail.of(*await notices.public_notice(session, notice_id))

    return await call.read(work)
