"""What anyone may read without logging in: server time and the public notices."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from functools import partial

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from tradesys.api.errors import BadRequest
from tradesys.api.pagination import PAGE, cursor_id, decode_cursor, encode_cursor, parse_limit
from tradesys.api.routing import Call, Result, Router, json_response
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
        if not isinstance(when, str):
            raise TypeError(when)
        return datetime.fromisoformat(when), cursor_id(notice_id)
    except (TypeError, ValueError) as exc:
        raise BadRequest("invalid_cursor", "分页游标无效 (invalid cursor)") from exc


# The notice list is the busiest public read (bench/api.py). Its page is serialised by pydantic
# from plain dataclasses with the fields and types of NoticeOut and NoticePage: the same JSON,
# without validating item by item the values the database has just given.
_NoticeItem = dataclasses.make_dataclass(
    "_NoticeItem",
    [(name, field.annotation) for name, field in NoticeOut.model_fields.items()],
    slots=True,
)
_NoticeItems = dataclasses.make_dataclass(
    "_NoticeItems",
    [
        ("items", list[_NoticeItem]),  # type: ignore[valid-type]
        ("next_cursor", NoticePage.model_fields["next_cursor"].annotation),
    ],
    slots=True,
)
_NOTICE_PAGE = TypeAdapter(_NoticeItems)
if tuple(NoticeOut.model_fields) != notices.PUBLIC_NOTICE_FIELDS or tuple(
    NoticePage.model_fields
) != ("items", "next_cursor"):
    raise RuntimeError("the notice list query no longer matches NoticeOut and NoticePage")


@router.endpoint(
    "GET",
    "/notices",
    summary="公告列表 (public notices, newest first)",
    tag="public",
    response=NoticePage,
    public=True,
    params=PAGE,
)
async def list_notices(call: Call) -> Response:
    before = _notice_cursor(call.query("cursor"))
    limit = parse_limit(call.query("limit"))
    cache = call.services.read_cache
    key = ("notices", before, limit)
    body = cache.get(key)
    if body is None:
        generation = cache.generation
        rows = await call.services.db.read_once(
            partial(notices.list_public_notices, before=before, limit=limit + 1))
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor([isoformat_utc(last.published_at), last.id])
        page = _NoticeItems([_NoticeItem(*row) for row in rows[:limit]], next_cursor)
        body = _NOTICE_PAGE.dump_json(page)
        cache.put(key, generation, body)
    return json_response(body, 200)


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
