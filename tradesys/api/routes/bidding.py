"""Sealed bidding: key registration, sealing parameters, resumable uploads, receipts."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import PlainTextResponse, Response

from tradesys.api import idempotency
from tradesys.api.errors import BadRequest
from tradesys.api.routing import (
    BINARY,
    PEM,
    Call,
    Content,
    Param,
    Result,
    Router,
    json_response,
    to_json,
)
from tradesys.bids import opening, security, submission
from tradesys.bids.encoding import b64u
from tradesys.bids.envelope import MAX_HEADER_LEN, parse_header
from tradesys.bids.errors import EnvelopeError
from tradesys.bids.keyring import KeyPurpose, keys_of, register_key, revoke_key
from tradesys.bids.models import Bid, BidSecurity, BidUpload, EncryptionKey
from tradesys.bids.opening_keys import holder_candidates, opening_key_of
from tradesys.bids.receipts import receipt_file
from tradesys.bids.released import ReleasedShare
from tradesys.bids.security import Decision, SecurityMethod
from tradesys.errors import Conflict, DomainError, Invalid, NotFound
from tradesys.identity.models import Organisation
from tradesys.identity.principal import Principal
from tradesys.opening import ceremony
from tradesys.procurement.access import Action, authorize_project
from tradesys.procurement.commands import Amount
from tradesys.signatures import public_pem
from tradesys.strict import ONE_LINE, Strict, parse_int

router = Router()


class NewKey(Strict):
    purpose: KeyPurpose
    #: A P-256 uncompressed point (0x04‖x‖y, 65 bytes), base64url without padding: 87
    #: characters, the first ``B``. That the point is on the curve is checked after (422
    #: ``invalid_public_key``): no schema can say it.
    public_key: Annotated[str, Field(min_length=87, max_length=87,
                                     pattern=r"^B[A-Za-z0-9_-]{86}$")]


class KeyOut(BaseModel):
    id: int
    purpose: str
    public_key: str
    key_id: str
    user_id: int
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: EncryptionKey) -> KeyOut:
        return cls(id=key.id, purpose=key.purpose, public_key=key.public_key, key_id=key.key_id,
                   user_id=key.user_id, created_at=key.created_at, revoked_at=key.revoked_at)


class KeyList(BaseModel):
    items: list[KeyOut]


class SealingOut(BaseModel):
    section_id: int
    section_code: str
    section_name: str
    project_id: int
    project_code: str
    project_name: str
    bidder_code: str | None
    opening_public_key: str
    bid_deadline: datetime | None
    max_bid_bytes: int


#: The largest envelope size an upload may declare (the settings cap it lower).
MAX_UPLOAD_SIZE = 2**48


class NewUpload(Strict):
    size: Annotated[int, Field(ge=1, le=MAX_UPLOAD_SIZE)]


class UploadOut(BaseModel):
    id: str
    section_id: int
    size: int
    offset: int
    header_checked: bool
    status: str

    @classmethod
    def of(cls, upload: BidUpload) -> UploadOut:
        return cls(id=upload.id, section_id=upload.section_id, size=upload.size,
                   offset=upload.received, header_checked=upload.header_checked,
                   status=upload.status)


class BidOut(BaseModel):
    #: The bid's opaque public id (random; the internal sequence would count others' bids).
    id: str
    section_id: int
    org_id: int
    bidder_name: str
    status: str
    envelope_sha256: str
    size: int
    received_at: datetime
    withdrawn_at: datetime | None
    #: The log sequence number of the entry the receipt names by ``event_hash``: null until
    #: the bid deadline has passed (before it, the number would count others' activity).
    event_seq: int | None = None


class BidList(BaseModel):
    items: list[BidOut]


@router.endpoint("POST", "/keys", summary="登记加密公钥 (register a bidder or key-holder public "
                 "key)", tag="bidding", body=NewKey, response=KeyOut, status=201)
async def add_key(call: Call) -> Response:
    async def work(session: AsyncSession, principal: Principal) -> Result:
        body: NewKey = call.body
        return KeyOut.of(await register_key(session, principal, body.purpose, body.public_key,
                                            call.now))

    return await call.command(work, status=201)


@router.endpoint("POST", "/keys/{key:int}/revoke", summary="撤销公钥 (revoke a registered key; "
                 "the login is enough, the private half is not needed)", tag="bidding",
                 response=KeyOut)
async def revoke(call: Call) -> Response:
    key = call.path_int("key")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        return KeyOut.of(await revoke_key(session, principal, key, call.now))

    return await call.command(work)


@router.endpoint("GET", "/keys", summary="本机构的公钥 (the organisation's public keys)",
                 tag="bidding", response=KeyList)
async def list_keys(call: Call) -> Result:
    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return KeyList(items=[KeyOut.of(key) for key in await keys_of(session, principal)])

    return await call.read(work)


@router.endpoint("GET", "/sections/{section_id:int}/sealing",
                 summary="封装参数 (what a bidder seals to: codes, opening key, deadline)",
                 tag="bidding", response=SealingOut, confidential=True)
async def sealing(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        section, project = await submission.section_for(session, principal, section_id,
                                                        Action.VIEW)
        opening = await opening_key_of(session, section.id)
        if opening is None:
            raise Invalid("no_opening_key", "该标段尚未生成开标公钥 (the section has no opening "
                          "key yet: it is announced with one)")
        org = await session.get_one(Organisation, principal.org_id)
        return SealingOut(section_id=section.id, section_code=section.code,
                          section_name=section.name, project_id=project.id,
                          project_code=project.code, project_name=project.name,
                          bidder_code=org.credit_code if principal.role == "bidder" else None,
                          opening_public_key=opening.public_key,
                          bid_deadline=section.bid_deadline,
                          max_bid_bytes=call.services.settings.max_bid_bytes)

    return await call.read(work)


@router.endpoint("POST", "/sections/{section_id:int}/uploads",
                 summary="开始上传投标文件 (start a resumable upload of a sealed envelope)",
                 tag="bidding", body=NewUpload, response=UploadOut, status=201, confidential=True)
async def start_upload(call: Call) -> Response:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        body: NewUpload = call.body
        upload = await submission.start_upload(session, principal, section_id, body.size,
                                               call.now, call.services.settings.max_bid_bytes)
        await asyncio.to_thread(call.services.uploads.create, upload.id)
        return UploadOut.of(upload)

    return await call.command(work, status=201)


def _upload_id(call: Call) -> str:
    value = call.request.path_params["upload_id"]
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise BadRequest("bad_upload_id", "上传编号无效 (invalid upload id)")
    return value


@router.endpoint("GET", "/uploads/{upload_id:str}", summary="上传进度 (where an upload stands, "
                 "to resume it)", tag="bidding", response=UploadOut, confidential=True)
async def upload_status(call: Call) -> Result:
    upload_id = _upload_id(call)

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return UploadOut.of(await submission.own_upload(session, principal, upload_id))

    return await call.read(work)


@router.endpoint("PATCH", "/uploads/{upload_id:str}",
                 summary="续传 (append bytes at Upload-Offset; the body is raw envelope bytes)",
                 tag="bidding", response=UploadOut, confidential=True,
                 params=(Param("Upload-Offset", "header",
                               {"type": "integer", "minimum": 0, "maximum": MAX_UPLOAD_SIZE},
                               required=True,
                               description="where these bytes go: the bytes received so far"),),
                 raw_body=Content(("application/octet-stream",), BINARY))
async def append(call: Call) -> Response:
    upload_id = _upload_id(call)
    offset = parse_int(call.request.headers.get("upload-offset"), maximum=MAX_UPLOAD_SIZE)
    if offset is None:
        raise BadRequest("bad_offset", "须提供 Upload-Offset 头，值为非负整数 (an Upload-Offset "
                         "header with a whole number is required)")
    principal = call.principal
    assert principal is not None
    services = call.services
    files = services.uploads
    async with files.lock(upload_id):
        async with services.db.reading() as session:
            upload = await submission.own_upload(session, principal, upload_id)
            submission.require_open_upload(upload)
        if offset != upload.received:
            raise Conflict("offset_mismatch", f"上传位置应为 {upload.received} (the "
                                      f"upload continues at offset {upload.received})",
                                      details={"offset": upload.received})
        new = await files.append(upload_id, offset, call.request.stream(), upload.size)
        checked = upload.header_checked
        try:
            if not checked:
                head = await asyncio.to_thread(files.head, upload_id, min(new, MAX_HEADER_LEN))
                need = submission.header_bytes_needed(head)
                if need is not None and new >= need:
                    async with services.db.reading() as session:
                        await submission.check_header(session, upload, head[:need])
                    checked = True
        except (EnvelopeError, DomainError):
            async with services.db.transaction() as session:
                await submission.abort_upload(session, upload_id, call.now)
            await asyncio.to_thread(files.discard, upload_id)
            raise
        async with services.db.transaction() as session:
            await submission.record_progress(session, upload_id, offset, new, call.now)
            upload = await session.get_one(BidUpload, upload_id)
            upload.header_checked = checked
            out = UploadOut.of(upload)
    return json_response(to_json(out), 200)


@router.endpoint("POST", "/uploads/{upload_id:str}/complete",
                 summary="提交投标文件 (complete the upload: the bid is accepted, or refused "
                 "after the deadline; returns the signed receipt)", tag="bidding", status=201,
                 confidential=True)
async def complete(call: Call) -> Response:
    upload_id = _upload_id(call)
    principal = call.principal
    assert principal is not None
    services = call.services
    files = services.uploads
    # The request is named by its path (the upload id): a retry with the same Idempotency-Key
    # after a lost answer gets the stored receipt, even though the upload is now closed.
    call.raw_body = b""
    key = call.request.headers.get("idempotency-key")
    async with files.lock(upload_id):
        async with services.db.reading() as session:
            upload = await submission.own_upload(session, principal, upload_id)
            if key is not None and upload.status == submission.COMPLETED:
                stored = await idempotency.lookup(
                    session, str(principal.user_id), idempotency.check_key(key),
                    idempotency.request_fingerprint("POST", call.request.url.path, b""))
                if stored is not None:
                    replay = json_response(stored.body.encode(), stored.status_code)
                    replay.headers["Idempotent-Replayed"] = "true"
                    return replay
            submission.require_open_upload(upload)
        if upload.received != upload.size or not upload.header_checked:
            raise Conflict("upload_incomplete", f"尚未收齐：{upload.received}/"
                                      f"{upload.size} 字节 (the upload is not complete)")
        header = parse_header(await asyncio.to_thread(files.head, upload_id, MAX_HEADER_LEN))
        sha256 = await files.digest(upload_id, upload.size)

        created = False

        async def work(session: AsyncSession, principal: Principal) -> Result:
            nonlocal created
            _bid, receipt = await submission.accept_bid(
                session, principal, upload_id, sha256, call.now,
                receipt_key=services.receipt_key, platform_code=services.settings.platform_code,
                header=header)
            created = await files.publish(upload_id, sha256)
            return receipt

        try:
            response = await call.command(work, status=201)
        except BaseException as error:
            if created:  # the bid was not committed: nothing may refer to the stored copy
                await files.unpublish(sha256)
            if isinstance(error, DomainError) and error.code in ("deadline_passed",
                                                                 "not_tendering"):
                async with services.db.transaction() as session:
                    await submission.abort_upload(session, upload_id, call.now)
                await asyncio.to_thread(files.discard, upload_id)
            raise
        await asyncio.to_thread(files.discard, upload_id)
        return response


@router.endpoint("POST", "/sections/{section_id:int}/bids/withdraw",
                 summary="撤回投标文件 (withdraw the current bid before the deadline)",
                 tag="bidding", response=BidList, confidential=True)
async def withdraw(call: Call) -> Response:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        bid = await submission.withdraw(session, principal, section_id, call.now)
        org = await session.get_one(Organisation, bid.org_id)
        return BidList(items=[_bid_out(bid, org)])

    return await call.command(work)


def _bid_public_id(call: Call) -> str:
    return call.path_public_id("bid_id", "bid_not_found", "投标文件不存在 (no such bid of yours)")


def _bid_out(bid: submission.Bid, org: Organisation,
             positions: dict[int, int] | None = None) -> BidOut:
    return BidOut(id=bid.public_id, section_id=bid.section_id, org_id=bid.org_id,
                  bidder_name=org.name, status=bid.status,
                  envelope_sha256=bid.envelope_sha256, size=bid.size,
                  received_at=bid.received_at, withdrawn_at=bid.withdrawn_at,
                  event_seq=(positions or {}).get(bid.id))


@router.endpoint("GET", "/sections/{section_id:int}/bids",
                 summary="投标文件 (a bidder's own bids; everyone's only after the deadline)",
                 tag="bidding", response=BidList, confidential=True)
async def list_bids(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await submission.bids_for(session, principal, section_id, call.now)
        positions = await submission.log_positions(session, section_id,
                                                   [bid for bid, _ in rows], call.now)
        return BidList(items=[_bid_out(bid, org, positions) for bid, org in rows])

    return await call.read(work)


class HolderCandidate(BaseModel):
    user_id: int
    display_name: str
    role: str
    organisation: str


class HolderCandidates(BaseModel):
    items: list[HolderCandidate]


@router.endpoint("GET", "/projects/{project_id:int}/key-holder-candidates",
                 summary="可选的开标密钥持有人 (users who may hold an opening-key share: the "
                 "host's, the owner's and supervisors, each with a registered holder key)",
                 tag="bidding", response=HolderCandidates)
async def key_holder_candidates(call: Call) -> Result:
    project_id = call.path_int("project_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        project = await authorize_project(session, principal, project_id, Action.MANAGE)
        return HolderCandidates(items=[
            HolderCandidate(user_id=user.id, display_name=user.display_name, role=user.role,
                            organisation=org_name)
            for user, org_name in await holder_candidates(session, project)])

    return await call.read(work)


@router.endpoint("GET", "/receipts/key", summary="回执签名公钥 (the Ed25519 key that signs "
                 "receipts, PEM)", tag="bidding", public=True, produces=PEM)
async def receipt_key(call: Call) -> Response:
    return PlainTextResponse(public_pem(call.services.receipt_key))


class HolderShareIn(Strict):
    share: ReleasedShare


class BidderShareIn(Strict):
    share: Annotated[str, Field(min_length=40, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")]


class DecryptIn(Strict):
    finalize: bool = False


class OpenedOut(BaseModel):
    bid_id: str
    outcome: str
    reason: str | None
    summary: dict[str, object] | None


class OpenedList(BaseModel):
    items: list[OpenedOut]


class EnvelopeHeaderOut(BaseModel):
    bid_id: str
    header: str


@router.endpoint("GET", "/sections/{section_id:int}/opening/my-share",
                 summary="我的开标密钥份额（加密） (the caller's wrapped opening-key share)",
                 tag="opening")
async def my_share(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        return await opening.my_wrapped_share(session, principal, section_id)

    return await call.read(work)


@router.endpoint("POST", "/sections/{section_id:int}/opening/holder-share",
                 summary="提交开标密钥份额 (a key holder releases its unwrapped share, after the "
                 "deadline)", tag="opening", body=HolderShareIn)
async def release_holder_share(call: Call) -> Response:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        body: HolderShareIn = call.body
        row = await ceremony.release_holder_share(session, principal, section_id,
                                                  body.share.model_dump(), call.now)
        return {"share_index": row.share_index, "released_at": row.released_at.isoformat()
                if row.released_at else None}

    return await call.command(work)


@router.endpoint("POST", "/sections/{section_id:int}/opening/bidder-share",
                 summary="投标人解密 (a bidder releases its data-key share, after the deadline)",
                 tag="opening", body=BidderShareIn)
async def release_bidder_share(call: Call) -> Response:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        body: BidderShareIn = call.body
        bid = await ceremony.release_bidder_share(session, principal, section_id, body.share,
                                                  call.now, call.services.uploads.store)
        return {"bid_id": bid.public_id, "released_at": bid.share_released_at.isoformat()
                if bid.share_released_at else None}

    return await call.command(work)


@router.endpoint("POST", "/sections/{section_id:int}/opening/decrypt",
                 summary="解密 (the host opens every bid whose two shares are present; "
                 "finalize: end the decryption window early, allowed once every bidder has "
                 "released its share)", tag="opening",
                 body=DecryptIn, response=OpenedList)
async def decrypt(call: Call) -> Response:
    section_id = call.path_int("section_id")
    services = call.services

    async def work(session: AsyncSession, principal: Principal) -> Result:
        body: DecryptIn = call.body
        opened_dir = services.settings.data_dir / "opened"
        if body.finalize:
            await ceremony.end_decryption(session, principal, section_id, call.now,
                                          services.uploads.store, opened_dir)
        else:
            await ceremony.open_released(session, principal, section_id, call.now,
                                         services.uploads.store, opened_dir)
        rows = (await session.execute(
            select(Bid).where(Bid.section_id == section_id, Bid.opened_at == call.now)
            .order_by(Bid.id))).scalars()
        return OpenedList(items=[OpenedOut(
            bid_id=bid.public_id, outcome=bid.outcome or "", reason=bid.outcome_reason,
            summary=json.loads(bid.summary) if bid.summary and bid.outcome == "decrypted"
            else None) for bid in rows])

    return await call.command(work)


@router.endpoint("GET", "/sections/{section_id:int}/bids/{bid_id:str}/header",
                 summary="我的信封头 (the caller's own envelope header, to unwrap its share)",
                 tag="opening", response=EnvelopeHeaderOut, confidential=True)
async def envelope_header(call: Call) -> Result:
    section_id = call.path_int("section_id")
    bid_id = _bid_public_id(call)
    store = call.services.uploads.store

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await submission.bids_for(session, principal, section_id, call.now)
        bid = next((bid for bid, _ in rows if bid.public_id == bid_id
                    and bid.org_id == principal.org_id), None)
        if bid is None:
            raise NotFound("bid_not_found", "投标文件不存在 (no such bid of yours)")
        header = await asyncio.to_thread(opening.header_of, store, bid.envelope_sha256)
        return EnvelopeHeaderOut(bid_id=bid.public_id, header=b64u(header.raw))

    return await call.read(work)


class SecurityIn(Strict):
    method: SecurityMethod
    amount: Amount
    reference: Annotated[str, Field(min_length=1, max_length=100), ONE_LINE]


class DecisionIn(Strict):
    status: Decision


class SecurityOut(BaseModel):
    org_id: int
    #: The declaring bidder, so the host confirming it after the deadline knows whose it is.
    bidder_name: str
    credit_code: str
    status: str
    method: str
    amount: str
    reference: str
    declared_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, row: BidSecurity, org: Organisation) -> SecurityOut:
        return cls(org_id=row.org_id, bidder_name=org.name, credit_code=org.credit_code,
                   status=row.status, method=row.method, amount=row.amount,
                   reference=row.reference, declared_at=row.declared_at,
                   decided_at=row.decided_at)


class SecurityList(BaseModel):
    items: list[SecurityOut]


@router.endpoint("POST", "/sections/{section_id:int}/security",
                 summary="申报投标保证金 (a bidder declares its bid security, before the "
                 "deadline)", tag="bidding", body=SecurityIn, response=SecurityOut,
                 confidential=True)
async def declare_security(call: Call) -> Response:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        body: SecurityIn = call.body
        row = await security.declare(session, principal, section_id, body.method, body.amount,
                                     body.reference, call.now)
        return SecurityOut.of(row, await session.get_one(Organisation, row.org_id))

    return await call.command(work)


@router.endpoint("POST", "/sections/{section_id:int}/security/{org_id:int}/decision",
                 summary="核验保证金 (the host confirms or rejects a declared security, after "
                 "the deadline)", tag="bidding", body=DecisionIn, response=SecurityOut)
async def decide_security(call: Call) -> Response:
    section_id = call.path_int("section_id")
    org_id = call.path_int("org_id")

    async def work(session: AsyncSession, principal: Principal) -> Result:
        body: DecisionIn = call.body
        row = await security.decide(session, principal, section_id, org_id, body.status,
                                    call.now)
        return SecurityOut.of(row, await session.get_one(Organisation, row.org_id))

    return await call.command(work)


@router.endpoint("GET", "/sections/{section_id:int}/security",
                 summary="保证金情况 (a bidder's own; everyone's after the deadline)",
                 tag="bidding", response=SecurityList, confidential=True)
async def list_security(call: Call) -> Result:
    section_id = call.path_int("section_id")

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await security.securities(session, principal, section_id, call.now)
        return SecurityList(items=[SecurityOut.of(row, await session.get_one(Organisation,
                                                                             row.org_id))
                                   for row in rows])

    return await call.read(work)


@router.endpoint("GET", "/sections/{section_id:int}/bids/{bid_id:str}/receipt",
                 summary="再次下载回执 (the receipt of one of the caller's bids, byte for byte "
                 "as issued)", tag="bidding", confidential=True)
async def receipt_again(call: Call) -> Response:
    section_id = call.path_int("section_id")
    bid_id = _bid_public_id(call)
    key = call.services.receipt_key

    async def work(session: AsyncSession, principal: Principal | None) -> Result:
        assert principal is not None
        rows = await submission.bids_for(session, principal, section_id, call.now)
        bid = next((bid for bid, _ in rows if bid.public_id == bid_id
                    and bid.org_id == principal.org_id), None)
        if bid is None:
            raise NotFound("bid_not_found", "投标文件不存在 (no such bid of yours)")
        return receipt_file(key, json.loads(bid.receipt), bid.receipt_signature)

    return await call.read(work)
