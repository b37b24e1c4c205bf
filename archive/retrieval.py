"""Retrieval of built archives: who may read one, the search, one version's metadata, one file
of its bag, and the whole bag as a tar stream (docs/archive.md "Retrieval").

**Who reads an archive.** The project's owner (the procurer's organisation, grant ``owner``),
its host (the entrusted agency, grant ``host``), the supervising departments granted the project
(grant ``supervisor``), each through a user of the matching role and an *active* grant, exactly
as ``tradesys.procurement.access`` decides who sees a project; and the archive administrator,
which today is the platform's ``admin`` (平台运维): it already sees every project and has no
trading function, and the archive holds nothing it could act on (the project has ended). Bidders
and experts do not: an archive holds every bidder's bid and every expert's scores. Anyone else
is told ``404 archive_not_found``, the same answer as for an id that names nothing, so that an
archive's existence is never revealed.

**What is served by file.** Exactly the files the bag's manifests list: the payload files of
``manifest-sha256.txt`` (``data/…``) and the tag files of ``tagmanifest-sha256.txt``
(``bagit.txt``, ``bag-info.txt``, the two payload manifests). A requested path is only ever
*compared* with those lines, never joined to a folder first, so ``..``, absolute paths, encoded
separators and anything unlisted are simply not found. The tag manifests and the seal
(``archive-signature.json``) are listed nowhere and come with the download: they seal the
whole bag, which is the unit a verifier checks; a single file is checked against the SHA-256
the metadata (the index) names, which is also its ``ETag``.

**The download** is a POSIX (pax) tar of every regular file and folder of the bag under one
top folder ``<code>-v<N>``, written as it is sent: each header from ``tarfile.TarInfo``, each
file in chunks of 1 MiB read in a worker thread, so memory stays at one chunk whatever the
bag's size and nothing is copied to disk first. Symbolic links and other special files, which a
bag never holds, are left out, so a link planted in a bag's folder cannot serve a file outside
it.

Plain async Python, no Starlette: the route (``tradesys/api/routes/archives.py``) parses,
then calls this module.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import tarfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from archive.builder import folder_name
from archive.ending import CONTRACTS
from archive.models import ArchiveVersion
from archive.verify import verify_archive
from archive.verify_pki import PkiChecks
from tradesys.bids.models import Bid
from tradesys.clock import DISPLAY_TZ, isoformat_utc
from tradesys.errors import DomainError, NotFound, TooManyRequests
from tradesys.events.models import Event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import ROLE_GRANTS, Grant, Role
from tradesys.procurement.access import grants_of
from tradesys.procurement.entrustment import GrantStatus
from tradesys.procurement.models import Project, ProjectGrant, Section
from tradesys.procurement.rules import RETENTION_TITLES

#: The project grants that let their holders read the project's archive.
READER_GRANTS = frozenset({Grant.OWNER, Grant.HOST, Grant.SUPERVISOR})
#: Bytes read and sent at a time.
CHUNK = 1024 * 1024
PAYLOAD_MANIFEST, TAG_MANIFEST = "manifest-sha256.txt", "tagmanifest-sha256.txt"
INDEX_FILE, METADATA_FILE = "data/index.json", "data/archive.json"
_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE


class Damaged(DomainError):
    """A stored bag is not as the builder left it (a listed file missing, an unreadable index):
    not the caller's fault, never a 500; the operator runs ``tradesys verify archive``."""

    kind = "unavailable"


def archive_not_found() -> NotFound:
    return NotFound("archive_not_found", "档案不存在 (no such archive)")


def file_not_found() -> NotFound:
    return NotFound("archive_file_not_found", "档案中没有该文件（仅提供清单所列文件） "
                    "(the archive lists no such file; only files its manifests list are "
                    "served)")


# --- who may read ------------------------------------------------------------------------


def reader_grants(principal: Principal) -> frozenset[Grant]:
    """The grants through which this caller's role reads archives (none for bidders and
    experts; the admin reads every archive without one)."""
    return ROLE_GRANTS[principal.role] & READER_GRANTS


async def may_read(session: AsyncSession, principal: Principal, project_id: int) -> bool:
    if principal.role is Role.ADMIN:
        return True
    usable = reader_grants(principal)
    return bool(usable and usable & await grants_of(session, project_id, principal.org_id))


@dataclass(frozen=True)
class Readable:
    row: ArchiveVersion
    project: Project


async def readable_archive(session: AsyncSession, principal: Principal,
                           archive_id: int) -> Readable:
    """The archive version, for a reader; ``404 archive_not_found`` for everyone else, the same
    as for an id that names nothing."""
    row = await session.get(ArchiveVersion, archive_id)
    if row is None or not await may_read(session, principal, row.project_id):
        raise archive_not_found()
    project = await session.get(Project, row.project_id)
    assert project is not None  # a foreign key
    return Readable(row, project)


# --- the search --------------------------------------------------------------------------


def beijing_days(first: date | None, last: date | None) -> tuple[datetime | None,
                                                                  datetime | None]:
    """Calendar days in Beijing time (the dates users see everywhere) as UTC instants:
    ``[start of first, start of the day after last)``; None for an open end. A bound beyond
    what ``datetime`` holds (0001-01-01's start is in year 0 in UTC) is no bound: nothing lies
    beyond it."""

    def start(day: date) -> datetime | None:
        try:
            return datetime.combine(day, time(0), DISPLAY_TZ).astimezone(UTC)
        except OverflowError:
            return None

    lower = None if first is None else start(first)
    upper = None
    if last is not None and last < date.max:
        upper = start(last + timedelta(days=1))
    return lower, upper


@dataclass(frozen=True)
class Search:
    """What a search asks for; every field narrows it (None: no condition)."""

    code: str | None = None
    credit_code: str | None = None
    #: Built at or after (UTC).
    built_from: datetime | None = None
    #: Built before (UTC).
    built_before: datetime | None = None
    #: Keyset: only ids below this (the list is newest first).
    before_id: int | None = None
    limit: int = 50


def _party_projects(credit_code: str) -> ColumnElement[bool]:
    """The projects whose archives name the organisation as a party: the same rows the builder
    read for the metadata (archive/builder.py: the procurer, the agency, every bidder of every
    section, the supplier of a signed contract). They no longer change once a project has
    ended, so the search answers for the metadata without opening a bag."""
    org = select(Organisation.id).where(Organisation.credit_code == credit_code)
    bidders = select(Section.project_id).join(Bid, Bid.section_id == Section.id).where(
        Bid.org_id.in_(org))
    suppliers = select(CONTRACTS.c.project_id).where(CONTRACTS.c.state == "signed",
                                                     CONTRACTS.c.supplier_org_id.in_(org))
    return or_(Project.procurer_org_id.in_(org), Project.agency_org_id.in_(org),
               Project.id.in_(bidders), Project.id.in_(suppliers))


async def search_archives(session: AsyncSession, principal: Principal,
                          search: Search) -> list[tuple[ArchiveVersion, Project]]:
    """The archive versions the caller may read that match, newest first, at most
    ``search.limit``."""
    query = (select(ArchiveVersion, Project).join(Project, Project.id == ArchiveVersion.project_id)
             .order_by(ArchiveVersion.id.desc()).limit(search.limit))
    if principal.role is not Role.ADMIN:
        usable = reader_grants(principal)
        if not usable:
            return []
        query = query.where(ArchiveVersion.project_id.in_(select(ProjectGrant.project_id).where(
            ProjectGrant.org_id == principal.org_id,
            ProjectGrant.grant.in_([g.value for g in usable]),
            ProjectGrant.status == GrantStatus.ACTIVE.value)))
    if search.code is not None:
        query = query.where(Project.code == search.code)
    if search.credit_code is not None:
        query = query.where(_party_projects(search.credit_code))
    if search.built_from is not None:
        query = query.where(ArchiveVersion.built_at >= search.built_from)
    if search.built_before is not None:
        query = query.where(ArchiveVersion.built_at < search.built_before)
    if search.before_id is not None:
        query = query.where(ArchiveVersion.id < search.before_id)
    return [(row, project) for row, project in (await session.execute(query)).all()]


async def retention_categories(session: AsyncSession,
                               rows: list[ArchiveVersion]) -> dict[str, str]:
    """Each listed version's retention category, by its SHA-256, as its ``archive.built``
    event recorded it (the event is the truth; the row has no column for it, and a list must
    not open a bag per line). One query over the projects' archive events."""
    projects = sorted({str(row.project_id) for row in rows})
    if not projects:
        return {}
    payloads = (await session.execute(select(Event.payload).where(
        Event.aggregate_type == "archive", Event.aggregate_id.in_(projects),
        Event.type == "archive.built"))).scalars().all()
    found: dict[str, str] = {}
    for text in payloads:
        payload = json.loads(text)
        if isinstance(payload, dict) and isinstance(payload.get("retention"), str):
            found[str(payload.get("sha256"))] = payload["retention"]
    return found


def retention_json(category: str | None) -> dict[str, str] | None:
    if category is None:
        return None
    return {"category": category, "title": RETENTION_TITLES.get(category, category)}


def summary_json(row: ArchiveVersion, project: Project,
                 retention: str | None = None) -> dict[str, Any]:
    return {"id": row.id, "project": {"id": project.id, "code": project.code,
                                      "name": project.name},
            "version": row.version, "built_at": isoformat_utc(row.built_at),
            "sha256": row.sha256, "previous_sha256": row.previous_sha256,
            "payload_files": row.payload_files, "payload_octets": row.payload_octets,
            "retention": retention_json(retention)}


# --- one version -------------------------------------------------------------------------


def bag_root(data_dir: Path, row: ArchiveVersion) -> Path:
    return data_dir / row.path


def _json_file(root: Path, name: str) -> Any:
    try:
        with (root / name).open("rb") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise Damaged("archive_damaged", f"档案文件不可读：{name} (the stored archive's {name} "
                      "cannot be read; run tradesys verify archive)") from exc


def archive_detail(data_dir: Path, readable: Readable) -> dict[str, Any]:
    """One version's metadata: the row, the descriptive metadata's retention, parties,
    sections and dates (``data/archive.json``) and every index entry (``data/index.json``).
    Reads two files of the bag: call it in a worker thread."""
    row = readable.row
    root = bag_root(data_dir, row)
    metadata = _json_file(root, METADATA_FILE)
    index = _json_file(root, INDEX_FILE)
    if not isinstance(metadata, dict) or not isinstance(index, dict) or not isinstance(
            index.get("files"), list):
        raise Damaged("archive_damaged", "档案元数据格式不符 (the stored archive's metadata is "
                      "not as written; run tradesys verify archive)")
    keys = ("path", "kind", "title", "date", "section", "size", "sha256", "original_name")
    files = [{key: entry.get(key) for key in keys} for entry in index["files"]
             if isinstance(entry, dict)]
    retention = metadata.get("retention")
    return {**summary_json(row, readable.project),
            "tree_size": row.tree_size, "root_hash": row.root_hash,
            "retention": retention, "parties": metadata.get("parties"),
            "sections": metadata.get("sections"), "dates": metadata.get("dates"),
            "files": files}


# --- one file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedFile:
    path: str
    sha256: str
    size: int
    handle: BinaryIO


def _listed(root: Path, manifest: str, wanted: str) -> str | None:
    """The SHA-256 the manifest gives ``wanted``, None if it lists no such path. Read line by
    line: a manifest has a line per file, never read whole."""
    try:
        with (root / manifest).open("r", encoding="utf-8", newline="\n") as lines:
            for line in lines:
                digest, _, path = line.rstrip("\n").partition(" ")
                if path.lstrip(" ") == wanted:
                    return digest
    except (OSError, UnicodeDecodeError) as exc:
        raise Damaged("archive_damaged", f"档案清单不可读：{manifest} (the stored archive's "
                      f"{manifest} cannot be read)") from exc
    return None


def open_listed_file(data_dir: Path, row: ArchiveVersion, wanted: str) -> ListedFile:
    """Opens one file the bag's manifests list (see the module's docstring); ``404
    archive_file_not_found`` for any other path. Blocking: call it in a worker thread."""
    if not wanted or "\x00" in wanted or len(wanted) > 4096:
        raise file_not_found()
    root = bag_root(data_dir, row)
    if wanted.startswith("data/"):
        digest = _listed(root, PAYLOAD_MANIFEST, wanted)
    else:
        digest = _listed(root, TAG_MANIFEST, wanted)
    if digest is None:
        raise file_not_found()
    # What is listed was checked when the bag was written (archive/bag.py); still, open only a
    # regular file inside the bag's folder, never through a link.
    target = root / wanted
    try:
        inside = target.resolve(strict=True).is_relative_to(root.resolve(strict=True))
        handle = open(target, "rb", opener=_no_follow)  # closed by the stream
    except OSError as exc:
        raise Damaged("archive_damaged", f"档案文件缺失：{wanted} (a file the archive lists is "
                      "missing from the stored bag; run tradesys verify archive)") from exc
    info = os.fstat(handle.fileno())
    if not inside or not stat.S_ISREG(info.st_mode):
        handle.close()
        raise file_not_found()
    return ListedFile(wanted, digest, info.st_size, handle)


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))


async def file_chunks(handle: BinaryIO, size: int | None = None) -> AsyncIterator[bytes]:
    """The file's bytes in chunks read in a worker thread; closes it at the end. With
    ``size``: exactly that many bytes, or an error (a file that shrank under a tar header would
    corrupt the rest of the stream)."""
    try:
        left = size
        while left is None or left > 0:
            chunk = await asyncio.to_thread(handle.read, CHUNK if left is None
                                            else min(CHUNK, left))
            if not chunk:
                if left:
                    raise Damaged("archive_damaged", "档案文件在发送中变短 (a stored file "
                                  "shrank while it was sent)")
                return
            if left is not None:
                left -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


# --- the whole bag -----------------------------------------------------------------------


def download_name(project: Project, row: ArchiveVersion) -> str:
    """The top folder in the tar and the download's file name: ASCII letters, digits, ``_``,
    ``.`` and ``-`` only (archive/builder.py's folder name), so no header needs quoting."""
    return f"{folder_name(project.code)}-v{row.version}"


def _members(root: Path, relative: str = "") -> Iterator[tuple[str, Path, os.stat_result]]:
    """(path in the bag, path on disk, lstat) of every folder and regular file below
    ``root``, sorted, folders before their contents; links and special files left out."""
    folder = root / relative if relative else root
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        info = entry.stat(follow_symlinks=False)
        name = f"{relative}/{entry.name}" if relative else entry.name
        if stat.S_ISDIR(info.st_mode):
            yield name, Path(entry.path), info
            yield from _members(root, name)
        elif stat.S_ISREG(info.st_mode):
            yield name, Path(entry.path), info


def _header(name: str, *, size: int, mtime: int, folder: bool) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if folder else tarfile.REGTYPE
    info.mode = 0o755 if folder else 0o644
    info.size = 0 if folder else size
    info.mtime = mtime
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict")


def _end_blocks(sent: int) -> int:
    """The end of the archive: two zero blocks, then zeros to a whole record (as tarfile
    writes it)."""
    end = 2 * _BLOCK
    return end + -(sent + end) % _RECORD


def tar_length(root: Path, top: str, built_at: datetime) -> int:
    """The exact length of :func:`tar_stream`'s bytes, from one walk of the bag's folder (sizes
    and headers, no file read): the download's ``Content-Length``, so that a client (or the
    server, which refuses to send more) sees a stream cut short. Blocking: call it in a worker
    thread."""
    mtime = int(built_at.timestamp())
    sent = len(_header(top, size=0, mtime=mtime, folder=True))
    try:
        for name, _path, info in _members(root):
            folder = stat.S_ISDIR(info.st_mode)
            sent += len(_header(f"{top}/{name}", size=info.st_size, mtime=mtime,
                                folder=folder))
            if not folder:
                sent += info.st_size + -info.st_size % _BLOCK
    except OSError as exc:
        raise Damaged("archive_damaged", "档案目录不可读 (the stored bag's folder cannot be "
                      "read; run tradesys verify archive)") from exc
    return sent + _end_blocks(sent)


async def tar_stream(root: Path, top: str, built_at: datetime) -> AsyncIterator[bytes]:
    """The bag under ``root`` as a tar stream with every member below ``top/``; every member's
    time is the build's (so the same bag always gives the same bytes)."""
    mtime = int(built_at.timestamp())
    members = await asyncio.to_thread(lambda: iter(_members(root)))
    sent = 0
    header = _header(top, size=0, mtime=mtime, folder=True)
    sent += len(header)
    yield header
    while True:
        member = await asyncio.to_thread(next, members, None)
        if member is None:
            break
        name, path, info = member
        folder = stat.S_ISDIR(info.st_mode)
        header = _header(f"{top}/{name}", size=info.st_size, mtime=mtime, folder=folder)
        sent += len(header)
        yield header
        if folder:
            continue
        handle = await asyncio.to_thread(open, path, "rb", opener=_no_follow)
        async for chunk in file_chunks(handle, info.st_size):
            sent += len(chunk)
            yield chunk
        padding = -info.st_size % _BLOCK
        if padding:
            sent += padding
            yield b"\0" * padding
    yield b"\0" * _end_blocks(sent)


# --- the verifier's result ---------------------------------------------------------------


#: Verifications running at once in this process. Each reads a whole bag (gigabytes for a large
#: project) on a worker thread; unbounded, a few repeated clicks would hold every thread of the
#: pool that also streams downloads and files. One more is told to come back (429), never
#: queued on a thread.
VERIFICATIONS = threading.BoundedSemaphore(2)
VERIFICATION_RETRY_SECONDS = 30


def verify_stored(data_dir: Path, row: ArchiveVersion, *, key: Ed25519PublicKey | None,
                  checks: PkiChecks) -> dict[str, Any]:
    """The offline verifier (archive/verify.py, as ``tradesys verify archive`` runs it) over
    the stored bag: ``{ok, archive_sha256, checked, failures}``. Blocking, and it reads every
    file of the bag: call it in a worker thread.

    Two things beyond the command line, because the platform knows them: ``key`` pins the
    platform's own archive key (a bag re-sealed with another key fails), and the bag's
    SHA-256 must be the one recorded when it was built (a whole bag swapped for another that
    verifies on its own — another version, another project's — fails). A missing folder is
    ``503 archive_damaged``, as for the download: the failure would name a server path. At
    most ``VERIFICATIONS`` at a time; another is ``429 archive_verification_busy``."""
    root = bag_root(data_dir, row)
    if not (root / "bagit.txt").is_file():
        raise Damaged("archive_damaged", "档案目录缺失 (the stored bag is missing; run tradesys "
                      "verify archive)")
    if not VERIFICATIONS.acquire(blocking=False):
        raise TooManyRequests("archive_verification_busy", "正在校验其他档案，请稍后再试 (other "
                              "archives are being verified; try again shortly)",
                              {"retry_after": VERIFICATION_RETRY_SECONDS})
    try:
        report = verify_archive(root, key=key, checks=checks)
    finally:
        VERIFICATIONS.release()
    failures = list(report.failures)
    if report.archive_sha256 is not None and report.archive_sha256 != row.sha256:
        failures.append(f"{TAG_MANIFEST}: the archive's SHA-256 {report.archive_sha256} is not "
                        f"the {row.sha256} recorded when version {row.version} was built (another "
                        "bag)")
    return {"ok": not failures, "archive_sha256": report.archive_sha256,
            "checked": dict(report.checked), "failures": failures}
