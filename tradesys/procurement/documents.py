"""Tender documents: uploaded by the agency, obtained by bidders (who and when is logged)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Conflict, Forbidden, Invalid, NotFound
from tradesys.events.log import append_event
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.procurement.access import Action, authorize_project
from tradesys.procurement.kinds import ProjectState
from tradesys.procurement.models import DocumentObtain, TenderDocument
from tradesys.procurement.notices import tender_notice
from tradesys.storage import FileStore, StoredFile
from tradesys.strict import text_problem

ALLOWED_TYPES = {
    "application/pdf",
    "application/zip",
    "application/octet-stream",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/plain",
}


_NOT_IN_NAME = r"/\\\x00-\x1f\x7f-\x9f\u2028\u2029"
#: What a file name may be, in JSON Schema (the OpenAPI document states it): one line of text
#: (tradesys/strict.py), no path separators, and something besides dots and spaces.
FILENAME_PATTERN = rf"^[^{_NOT_IN_NAME}]*[^.\s{_NOT_IN_NAME}][^{_NOT_IN_NAME}]*$"
_FILENAME = re.compile(FILENAME_PATTERN)


def check_filename(name: str) -> str:
    # One line of text (tradesys/strict.py): the name goes into Content-Disposition headers.
    if len(name) > 255 or not _FILENAME.fullmatch(name):
        raise Invalid("invalid_filename", "文件名无效 (invalid file name)")
    name = name.strip()
    if (not name or any(ch in name for ch in "/\\") or name in (".", "..")
            or text_problem(name, multiline=False) is not None):
        raise Invalid("invalid_filename", "文件名无效 (invalid file name)")
    return name


async def store_upload(
    store: FileStore, chunks: AsyncIterator[bytes], max_bytes: int
) -> StoredFile:
    """Stream the body to storage before the transaction: the file is content-addressed, so a
    refused command leaves at most an unreferenced blob, never a half-written record."""
    return await store.put_stream(chunks, max_bytes=max_bytes)


async def add_document(
    session: AsyncSession,
    principal: Principal,
    project_id: int,
    *,
    filename: str,
    content_type: str,
    stored: StoredFile,
    now: datetime,
) -> TenderDocument:
    project = await authorize_project(
        session, principal, project_id, Action.MANAGE, for_update=True
    )
    if project.state == ProjectState.CANCELLED:
        raise Conflict("project_cancelled", "项目已终止 (the project is cancelled)")
    notice = await tender_notice(session, project.id)
    if notice is not None and notice.bid_deadline is not None and now >= notice.bid_deadline:
        raise Conflict(
            "deadline_passed", "投标已截止，不能再上传招标文件 (the bid deadline has passed)"
        )
    if content_type not in ALLOWED_TYPES:
        raise Invalid(
            "unsupported_type", f"不支持的文件类型 {content_type} (unsupported file type)"
        )
    document = TenderDocument(
        project_id=project.id,
        filename=check_filename(filename),
        content_type=content_type,
        sha256=stored.sha256,
        size=stored.size,
        uploaded_by=principal.user_id,
        uploaded_at=now,
    )
    session.add(document)
    await session.flush()
    await append_event(
        session,
        actor=principal.actor,
        at=now,
        aggregate_type="project",
        aggregate_id=project.id,
        project_id=project.id,
        type="document.uploaded",
        payload={
            "document_id": document.id,
            "filename": document.filename,
            "sha256": document.sha256,
            "size": document.size,
        },
    )
    return document


async def list_documents(session: AsyncSession, project_id: int) -> list[TenderDocument]:
    return list(
        (
            await session.execute(
                select(TenderDocument)
                .where(TenderDocument.project_id == project_id)
                .order_by(TenderDocument.id)
            )
        ).scalars()
    )


async def obtain_document(
    session: AsyncSession,
    principal: Principal,
    project_id: int,
    document_id: int,
    now: datetime,
) -> TenderDocument:
    """A bidder obtains a document within the document period; managers may always read."""
    project = await authorize_project(session, principal, project_id, Action.VIEW)
    document = await session.get(TenderDocument, document_id)
    if document is None or document.project_id != project.id:
        raise NotFound("document_not_found", "文件不存在 (no such document)")
    if principal.role is not Role.BIDDER:
        return document
    notice = await tender_notice(session, project.id)
    if project.state != ProjectState.ANNOUNCED or notice is None:
        raise Forbidden(
            "documents_unavailable", "当前不可获取招标文件 (the documents are not available now)"
        )
    assert notice.doc_start is not None and notice.doc_end is not None
    if not notice.doc_start <= now <= notice.doc_end:
        raise Forbidden(
            "outside_document_period", "不在招标文件获取期内 (outside the document period)"
        )
    session.add(
        DocumentObtain(
            project_id=project.id,
            document_id=document.id,
            org_id=principal.org_id,
            user_id=principal.user_id,
            obtained_at=now,
        )
    )
    await session.flush()
    await append_event(
        session,
        actor=principal.actor,
        at=now,
        aggregate_type="project",
        aggregate_id=project.id,
        project_id=project.id,
        type="document.obtained",
        payload={"document_id": document.id, "org_id": principal.org_id, "sha256": document.sha256},
    )
    return document


async def has_obtained(session: AsyncSession, project_id: int, org_id: int) -> bool:
    found = (
        await session.execute(
            select(DocumentObtain.id)
            .where(DocumentObtain.project_id == project_id, DocumentObtain.org_id == org_id)
            .limit(1)
        )
    ).scalar_one_or_none()
    return found is not None


async def obtained_projects(session: AsyncSession, org_id: int, project_ids: list[int]) -> set[int]:
    """Which of these projects the organisation has obtained documents for."""
    if not project_ids:
        return set()
    rows = await session.execute(
        select(DocumentObtain.project_id).distinct().where(
            DocumentObtain.org_id == org_id, DocumentObtain.project_id.in_(project_ids)))
    return set(rows.scalars())


async def download_log(
    session: AsyncSession, principal: Principal, project_id: int
) -> list[tuple[DocumentObtain, TenderDocument, Organisation]]:
    """The document-download log (获取招标文件记录), oldest first.

    Who obtained the documents must not be disclosed to the other bidders (招标投标法 Art. 22):
    a bidder sees only its own downloads; the project's parties and supervisors see them all."""
    project = await authorize_project(session, principal, project_id, Action.VIEW)
    query = (
        select(DocumentObtain, TenderDocument, Organisation)
        .join(TenderDocument, TenderDocument.id == DocumentObtain.document_id)
        .join(Organisation, Organisation.id == DocumentObtain.org_id)
        .where(DocumentObtain.project_id == project.id)
        .order_by(DocumentObtain.id)
    )
    if principal.role is Role.BIDDER:
        query = query.where(DocumentObtain.org_id == principal.org_id)
    return [(obtain, document, org) for obtain, document, org in
            (await session.execute(query)).all()]
