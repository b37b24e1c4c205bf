"""Archive retrieval over HTTP (docs/archive.md "Retrieval", docs/api.md): the search, one
version's metadata, one file of its bag, the whole bag as a tar stream.

The route parses the query strictly (every bad parameter is a 400 naming it, never a 500),
then calls ``archive.retrieval``, which decides who may read (everyone else gets the same
``404 archive_not_found`` as for an id that names nothing) and reads the bag.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import date
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response, StreamingResponse

from archive import retrieval
from contracts.timestamps import PkiEvidenceChecks
from tradesys.api.errors import BadRequest
from tradesys.api.pagination import PAGE, cursor_id, decode_cursor, encode_cursor, parse_limit
from tradesys.api.routing import BINARY, Call, Content, Param, Result, Router
from tradesys.identity.credit_code import is_valid_credit_code
from tradesys.identity.principal import Principal

router = Router()

ARCHIVE = "/archives/{archive_id:int}"
#: Project codes are the platform's own (``E<region><year><number>``, 40 characters at most).
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_CREDIT = "0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CODE = Param("code", "query", {"type": "string", "minLength": 1, "maxLength": 40,
                               "pattern": "^[A-Za-z0-9_.-]+$"},
             description="the project's code (项目编号), exactly")
CREDIT_CODE = Param("credit_code", "query", {"type": "string", "minLength": 18,
                                             "maxLength": 18, "pattern": f"^[{_CREDIT}]+$"},
                    description="统一社会信用代码 of a party: the procurer, the agency, a "
                    "bidder or the contract's supplier")
_DAY = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
FROM = Param("from", "query", _DAY,
             description="built on or after this day (YYYY-MM-DD, Beijing time)")
TO = Param("to", "query", _DAY, description="built on or before this day (YYYY-MM-DD, Beijing "
           "time)")
TAR = Content(("application/x-tar",), BINARY)
FILE = Content(("application/octet-stream",), BINARY)


class ArchiveProject(BaseModel):
    id: int
    code: str
    name: str


class ArchiveSummary(BaseModel):
    """One built version of a project's archive (the ``archives`` row)."""

    id: int
    project: ArchiveProject
    version: int = Field(description="1, 2, …: a correction is a new version")
    built_at: str = Field(description="the build's instant, UTC")
    sha256: str = Field(description="the archive's SHA-256: of its tagmanifest-sha256.txt")
    previous_sha256: str | None
    payload_files: int
    payload_octets: int
    retention: dict[str, Any] | None = Field(
        description="保管期限: category (permanent, 30y, 10y) and its Chinese title, as the "
        "archive.built event recorded it (the metadata endpoint adds years and until)")


class ArchivePage(BaseModel):
    items: list[ArchiveSummary]
    next_cursor: str | None


class IndexEntry(BaseModel):
    """What one payload file is (data/index.json)."""

    path: str | None = Field(description="in the bag: data/…; GET …/files/{path}")
    kind: str | None
    title: str | None = Field(description="中文题名")
    date: str | None
    section: str | None
    size: int | None
    sha256: str | None
    original_name: str | None


class ArchiveVerification(BaseModel):
    """What the offline verifier found in the stored bag (``tradesys verify archive``)."""

    ok: bool = Field(description="every check holds")
    archive_sha256: str | None = Field(description="the SHA-256 the bag's seal names (null if "
                                       "the seal cannot be read)")
    checked: dict[str, int] = Field(description="what was checked, counted")
    failures: list[str] = Field(description="each failure, naming the file or event")


class ArchiveDetail(ArchiveSummary):
    tree_size: int
    root_hash: str
    retention: dict[str, Any] | None = Field(description="category, title, years, until")
    parties: dict[str, Any] | None = Field(description="procurer, agency, bidders, suppliers "
                                           "(name, credit_code)")
    sections: list[Any] | None
    dates: dict[str, Any] | None
    files: list[IndexEntry]


def _day(call: Call, name: str) -> date | None:
    raw = call.query(name)
    if raw is None:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"invalid_{name}", f"参数 {name} 须为日期 YYYY-MM-DD（北京时间） ({name} "
                         "must be a calendar date, YYYY-MM-DD, Beijing time)") from None


def _search(call: Call) -> retrieval.Search:
    code = call.query("code")
    if code is not None and not _CODE.fullmatch(code):
        raise BadRequest("invalid_code", "参数 code 须为项目编号 (code must be a project code: "
                         "letters, digits, '_', '.', '-', at most 40)")
    credit = call.query("credit_code")
    if credit is not None:
        credit = credit.upper()
        if not is_valid_credit_code(credit):
            raise BadRequest("invalid_credit_code", "参数 credit_code 须为有效的统一社会信用代码 "
                             "(credit_code must be a valid unified social credit code)")
    first, last = _day(call, "from"), _day(call, "to")
    if first is not None and last is not None and first > last:
        raise BadRequest("invalid_range", "from 不能晚于 to (from must not be after to)")
    lower, upper = retrieval.beijing_days(first, last)
    cursor = decode_cursor(call.query("cursor"))
    before = cursor_id(cursor[0]) if cursor is not None else None
    return retrieval.Search(code=code, credit_code=credit, built_from=lower, built_before=upper,
                            before_id=before, limit=parse_limit(call.query("limit")))


@router.endpoint("GET", "/archives", summary="档案检索 (the archives the caller may read, newest "
                 "first: by project code, party credit code and build date)", tag="archives",
                 params=(CODE, CREDIT_CODE, FROM, TO, *PAGE), response=ArchivePage)
async def list_archives(call: Call) -> Result:
    search = _search(call)
    limit = search.limit

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await retrieval.search_archives(
            session, principal, dataclasses.replace(search, limit=limit + 1))
        more = len(rows) > limit
        shown = rows[:limit]
        retention = await retrieval.retention_categories(session, [row for row, _ in shown])
        return ArchivePage(
            items=[ArchiveSummary.model_validate(retrieval.summary_json(
                row, project, retention.get(row.sha256))) for row, project in shown],
            next_cursor=encode_cursor([rows[limit - 1][0].id]) if more else None)

    return await call.read(work)


async def _readable(call: Call) -> retrieval.Readable:
    archive_id = call.request.path_params["archive_id"]
    if not isinstance(archive_id, int) or not 0 < archive_id <= 2**31 - 1:
        raise retrieval.archive_not_found()
    assert call.principal is not None
    async with call.services.db.reading() as session:
        return await retrieval.readable_archive(session, call.principal, archive_id)


@router.endpoint("GET", ARCHIVE, summary="档案 (one archive version: project, version, build "
                 "time, SHA-256, retention, parties, and every index entry: kind, Chinese title, "
                 "date, file)", tag="archives", response=ArchiveDetail)
async def get_archive(call: Call) -> Result:
    readable = await _readable(call)
    detail: dict[str, Any] = await asyncio.to_thread(
        retrieval.archive_detail, call.services.settings.data_dir, readable)
    try:
        return ArchiveDetail.model_validate(detail)
    except ValidationError as exc:  # the stored index is not as the builder wrote it
        raise retrieval.Damaged("archive_damaged", "档案索引格式不符 (the stored archive's index "
                                "is not as written; run tradesys verify archive)") from exc


@router.endpoint("GET", ARCHIVE + "/files/{path:path}", summary="档案中的一个文件 (one file the "
                 "bag's manifests list, as stored)", tag="archives", produces=FILE)
async def get_archive_file(call: Call) -> Response:
    readable = await _readable(call)
    wanted = call.request.path_params["path"]
    listed = await asyncio.to_thread(retrieval.open_listed_file,
                                     call.services.settings.data_dir, readable.row, wanted)
    name = wanted.rsplit("/", 1)[-1]
    # Served as bytes to save, never rendered (SecurityHeaders adds nosniff): a stored tender
    # document may be any file.
    headers = {"Content-Length": str(listed.size), "ETag": f'"{listed.sha256}"',
               "Cache-Control": "private, no-cache",
               "Content-Disposition": _attachment(name)}
    if call.request.method == "HEAD":
        await asyncio.to_thread(listed.handle.close)
        return Response(b"", media_type="application/octet-stream", headers=headers)
    return StreamingResponse(retrieval.file_chunks(listed.handle, listed.size),
                             media_type="application/octet-stream", headers=headers)


@router.endpoint("GET", ARCHIVE + "/download", summary="下载整个档案 (the whole bag as a tar "
                 "stream, written as it is sent)", tag="archives", produces=TAR)
async def download_archive(call: Call) -> Response:
    readable = await _readable(call)
    root = retrieval.bag_root(call.services.settings.data_dir, readable.row)
    if not await asyncio.to_thread((root / "bagit.txt").is_file):
        raise retrieval.Damaged("archive_damaged", "档案目录缺失 (the stored bag is missing; "
                                "run tradesys verify archive)")
    top = retrieval.download_name(readable.project, readable.row)
    length = await asyncio.to_thread(retrieval.tar_length, root, top, readable.row.built_at)
    headers = {"Cache-Control": "private, no-cache", "ETag": f'"{readable.row.sha256}"',
               "Content-Disposition": _attachment(f"{top}.tar"), "Content-Length": str(length)}
    if call.request.method == "HEAD":  # the headers only: the bag is not read
        return Response(b"", media_type="application/x-tar", headers=headers)
    return StreamingResponse(retrieval.tar_stream(root, top, readable.row.built_at),
                             media_type="application/x-tar", headers=headers)


def _attachment(name: str) -> str:
    """A Content-Disposition naming ``name`` safely: an ASCII fallback with nothing but
    letters, digits and ``._-`` (quoted), and the name itself per RFC 6266 / 8187."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.endpoint("GET", ARCHIVE + "/verification", summary="校验档案 (runs the offline verifier, "
                 "as tradesys verify archive does, over the stored bag, pinned to this "
                 "platform's archive key and to the SHA-256 recorded at the build)",
                 tag="archives", response=ArchiveVerification)
async def verify_archive_version(call: Call) -> Result:
    readable = await _readable(call)
    publisher = call.services.tree_heads
    key = publisher.key.public_key() if publisher is not None else None
    # It reads every byte of the bag (gigabytes for a large project): in a worker thread, so
    # the event loop goes on serving; the verifier's PKI checks run their own loop there.
    result = await asyncio.to_thread(retrieval.verify_stored, call.services.settings.data_dir,
                                     readable.row, key=key, checks=PkiEvidenceChecks())
    return ArchiveVerification.model_validate(result)
