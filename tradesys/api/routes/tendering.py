"""The tendering period: documents, questions and answers, clarifications."""

from __future__ import annotations

import json
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import FileResponse, Response

from tradesys.api.errors import BadRequest
from tradesys.api.routing import BINARY, Call, Content, Param, Result, Router
from tradesys.api.schemas import (
    ClarificationList,
    ClarificationOut,
    DocumentList,
    DocumentOut,
    DownloadList,
    DownloadOut,
    QuestionList,
    QuestionOut,
)
from tradesys.identity.principal import Principal
from tradesys.procurement import clarifications, documents, questions
from tradesys.procurement.access import Action, authorize_project
from tradesys.procurement.commands import AnswerQuestion, AskQuestion, Clarify

router = Router()


@router.endpoint(
    "POST",
    "/projects/{project_id:int}/documents",
    summary="上传招标文件 (upload a tender document: the raw file is the body, "
    "?filename= names it)",
    tag="tendering",
    response=DocumentOut,
    status=201,
    params=(Param("filename", "query", {"type": "string", "minLength": 1, "maxLength": 255,
                                        "pattern": documents.FILENAME_PATTERN},
                  required=True),),
    # Any media type is stored as given (it is served back with the document); these two are
    # the usual ones.
    raw_body=Content(("application/pdf", "application/octet-stream"), BINARY),
)
async def upload_document(call: Call) -> Response:
    project_id = call.path_int("project_id")
    filename = documents.check_filename(call.query("filename") or "")
    content_type = call.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type:
        raise BadRequest("content_type_required", "须提供 Content-Type (Content-Type required)")
    # Authorize before reading the body, so a stranger cannot make us store anything.
    async with call.services.db.reading() as session:
        assert call.principal is not None
        await authorize_project(session, call.principal, project_id, Action.MANAGE)
    stored = await documents.store_upload(
        call.services.documents, call.request.stream(), call.services.settings.max_document_bytes
    )
    call.raw_body = f"{stored.sha256}\0{filename}\0{content_type}".encode()

    async def work(session: AsyncSession, principal: Principal) -> Result:
        document = await documents.add_document(
            session,
            principal,
            project_id,
            filename=filename,
            content_type=content_type,
            stored=stored,
            now=call.now,
        )
        return DocumentOut.of(document)

    return await call.command(work, status=201)


@router.endpoint(
    "GET",
    "/projects/{project_id:int}/documents",
    summary="招标文件列表 (the project's documents)",
    tag="tendering",
    response=DocumentList,
)
async def list_documents(call: Call) -> Result:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        project = await authorize_project(session, principal, project_id, Action.VIEW)
        items = await documents.list_documents(session, project.id)
        return DocumentList(items=[DocumentOut.of(document) for document in items])

    return await call.read(work)


@router.endpoint(
    "GET",
    "/projects/{project_id:int}/documents/{document_id:int}/content",
    summary="获取招标文件 (obtain a document; the obtaining is logged)",
    tag="tendering",
    confidential=True,
    # Served with the media type it was uploaded with.
    produces=Content(("*/*",), BINARY),
)
async def obtain_document(call: Call) -> Response:
    project_id = call.path_int("project_id")
    document_id = call.path_int("document_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        document = await documents.obtain_document(
            session, principal, project_id, document_id, call.now
        )
        return {
            "sha256": document.sha256,
            "filename": document.filename,
            "content_type": document.content_type,
        }

    # Obtaining is recorded in a transaction of its own, committed before the file is sent.
    meta = json.loads((await call.command(work)).body)
    path = call.services.documents.open(meta["sha256"])
    return FileResponse(
        path,
        media_type=meta["content_type"],
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(meta['filename'])}",
            "X-Content-SHA256": meta["sha256"],
            "Cache-Control": "no-store",
        },
    )


@router.endpoint(
    "GET",
    "/projects/{project_id:int}/downloads",
    summary="获取招标文件记录 (the document-download log: a bidder its own, the parties all)",
    tag="tendering",
    response=DownloadList,
    confidential=True,
)
async def list_downloads(call: Call) -> Result:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await documents.download_log(session, principal, project_id)
        return DownloadList(items=[
            DownloadOut(document_id=document.id, filename=document.filename, org_name=org.name,
                        credit_code=org.credit_code, obtained_at=obtain.obtained_at)
            for obtain, document, org in rows])

    return await call.read(work)


@router.endpoint(
    "POST",
    "/projects/{project_id:int}/questions",
    summary="提出问题 (ask a question on the documents; bidders)",
    tag="tendering",
    body=AskQuestion,
    response=QuestionOut,
    status=201,
    confidential=True,
)
async def ask(call: Call) -> Response:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        question = await questions.ask(session, principal, project_id, call.body, call.now)
        return QuestionOut.of(question, True)

    return await call.command(work, status=201)


@router.endpoint(
    "GET",
    "/projects/{project_id:int}/questions",
    summary="问题与答复 (questions and answers; askers are not named)",
    tag="tendering",
    response=QuestionList,
)
async def list_questions(call: Call) -> Result:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await questions.list_questions(session, principal, project_id)
        return QuestionList(items=[QuestionOut.of(question, mine) for question, mine in rows])

    return await call.read(work)


@router.endpoint(
    "POST",
    "/projects/{project_id:int}/questions/{question_id:str}/answer",
    summary="答复问题 (answer a question)",
    tag="tendering",
    body=AnswerQuestion,
    response=QuestionOut,
)
async def answer(call: Call) -> Response:
    project_id = call.path_int("project_id")
    question_id = call.path_public_id("question_id", "question_not_found",
                                      "问题不存在 (no such question)")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        question = await questions.answer(
            session, principal, project_id, question_id, call.body, call.now
        )
        return QuestionOut.of(question, False)

    return await call.command(work)


@router.endpoint(
    "POST",
    "/projects/{project_id:int}/clarifications",
    summary="发布澄清/修改 (publish a clarification or amendment)",
    tag="tendering",
    body=Clarify,
    response=ClarificationOut,
    status=201,
)
async def clarify(call: Call) -> Response:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        item = await clarifications.clarify(
            session, principal, project_id, call.body, call.now, call.services.rules
        )
        return ClarificationOut.of(item)

    return await call.command(work, status=201)


@router.endpoint(
    "GET",
    "/projects/{project_id:int}/clarifications",
    summary="澄清/修改列表 (the project's clarifications)",
    tag="tendering",
    response=ClarificationList,
)
async def list_clarifications(call: Call) -> Result:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        project = await authorize_project(session, principal, project_id, Action.VIEW)
        items = await clarifications.list_clarifications(session, project.id)
        return ClarificationList(items=[ClarificationOut.of(item) for item in items])

    return await call.read(work)
