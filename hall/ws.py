"""The WebSocket endpoint ``/hall/{section_id}/ws``: authenticate, join the room, then read
commands and write the room's messages, each side on its own task.

The reader validates every frame at the edge and runs the command in one database transaction;
after the commit the rooms are woken (and, for share releases, the scheduler that opens bids).
The writer drains this connection's bounded queue; if the room finds the queue full it drops
the connection with 4008 and the client resumes with ``after=N``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from hall.access import ACCESS_REVOKED, AccessWatch
from hall.limits import AddressLimit
from hall.room import DROP, REVOKED, SLOW_CONSUMER, Connection, SendNow
from hall.rooms import Rooms
from hall.views import view_class
from tradesys.clock import isoformat_utc
from tradesys.errors import (
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
from tradesys.identity.models import Organisation, User
from tradesys.identity.principal import Principal
from tradesys.identity.service import principal_from_session, principal_from_token
from tradesys.opening import ceremony, messages
from tradesys.opening.audience import Audience, audience_of, visible_to_public
from tradesys.opening.commands import WAKES_SCHEDULER, OpeningCommands
from tradesys.ops.uvicorn_ws import SEND_NOW
from tradesys.procurement.models import Project, Section
from tradesys.services import Services
from tradesys.strict import BadJson, dumps, parse_command, parse_int

log = logging.getLogger("hall.ws")

SESSION_COOKIE = "tradesys_session"
QUEUE_SIZE = 512
#: Text frames up to this size are read as commands; larger ones are refused (bad_frame).
MAX_FRAME = 16 * 1024
#: Commands open to every signed-in user: the domain decides (a key holder may be a
#: supervisor, who otherwise only watches).
ANYONE_SIGNED_IN = frozenset({"release_holder_share"})


@dataclass
class Hall:
    """What the endpoint needs, given by the composition root."""

    services: Services
    rooms: Rooms
    commands: OpeningCommands
    #: Wakes the scheduler (a released share may let bids open now).
    wake_scheduler: Callable[[], None] = lambda: None
    queue_size: int = QUEUE_SIZE
    #: Closes a connection with 4003 when its session or token ends (hall/access.py).
    access: AccessWatch | None = None
    #: Open connections per client address (TRADESYS_HALL_MAX_CONNECTIONS_PER_ADDRESS).
    addresses: AddressLimit = field(default_factory=AddressLimit)

    def __post_init__(self) -> None:
        self.addresses.limit = self.services.settings.hall_max_connections_per_address


def _dumps(message: dict[str, Any]) -> str:
    return dumps(message)


async def _principal(websocket: WebSocket, hall: Hall) -> Principal | None:
    services = hall.services
    ip = websocket.client.host if websocket.client else "unknown"
    agent = (websocket.headers.get("user-agent") or "")[:512] or None
    authorization = websocket.headers.get("authorization")
    cookie = websocket.cookies.get(SESSION_COOKIE)
    if authorization is None and not cookie:
        return None
    async with services.db.reading() as session:
        now = services.clock.now()
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("bad_authorization", "Authorization 须为 Bearer 令牌")
            return await principal_from_token(session, token=token.strip(), at=now, ip=ip,
                                              user_agent=agent)
        # A cookie rides along with any page's request: only our own pages may use it here
        # (cross-site WebSocket hijacking).
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host")
        if origin is None or host is None or origin not in (f"http://{host}", f"https://{host}"):
            raise Forbidden("bad_origin", "来源不符 (the page's origin is not this site)")
        principal, _ = await principal_from_session(session, token=cookie or "", at=now, ip=ip,
                                                    user_agent=agent)
        return principal


async def _room_of(hall: Hall, section_id: int, principal: Principal | None
                   ) -> tuple[Section, Project, Audience, dict[str, Any] | None]:
    async with hall.services.db.reading() as session:
        section = await session.get(Section, section_id)
        project = await session.get(Project, section.project_id) if section else None
        if section is None or project is None or not visible_to_public(project):
            raise NotFound("section_not_found", "标段不存在 (no such section)")
        audience = await audience_of(session, principal, section, project)
        you = None
        if principal is not None:
            user = await session.get_one(User, principal.user_id)
            org = await session.get_one(Organisation, principal.org_id)
            you = {"user_id": principal.user_id, "org_id": principal.org_id,
                   "role": principal.role.value, "name": user.display_name,
                   "organisation": org.name, "credit_code": org.credit_code,
                   # A sign-in before the deadline is private: only its bidder is told.
                   "signed_in": audience.kind == "bidder" and await ceremony.signed_in(
                       session, section_id, principal.org_id)}
        return section, project, audience, you


def _welcome(section: Section, project: Project, audience: Audience,
             you: dict[str, Any] | None, hall: Hall) -> Callable[[int, str], str]:
    """The welcome, made from plain values (no database object outlives the handshake) and
    the room's state JSON, which the room makes once per head for every joining client."""
    about = {
        "id": section.id, "code": section.code, "name": section.name,
        "project_code": project.code, "project_name": project.name,
        "bid_deadline": isoformat_utc(section.bid_deadline) if section.bid_deadline else None,
        "ceiling_price": None if section.ceiling_price is None
        else f"{section.ceiling_price:.2f}"}
    clock = hall.services.clock

    def build(head: int, state_json: str) -> str:
        head_part = _dumps({"type": "welcome", "seq": head,
                            "server_time": isoformat_utc(clock.now()),
                            "audience": audience.kind, "you": you, "section": about})
        return f'{head_part[:-1]},"state":{state_json}}}'
    return build


async def hall_endpoint(websocket: WebSocket) -> None:
    """Admits the connection if its address has a free slot (else HTTP 429 at the handshake),
    then serves it; the slot is held until the connection ends."""
    hall: Hall = websocket.app.state.hall
    address = websocket.client.host if websocket.client else "unknown"
    if not hall.addresses.admit(address):
        await websocket.send_denial_response(_denial(429, TooManyRequests(
            "too_many_connections", f"来自同一地址的连接过多（上限 {hall.addresses.limit}） (too "
            "many hall connections from this address)")))
        return
    try:
        await _serve(websocket, hall)
    finally:
        hall.addresses.release(address)


async def _serve(websocket: WebSocket, hall: Hall) -> None:
    try:
        section_id = int(websocket.path_params["section_id"])
        after = parse_int(websocket.query_params.get("after", "0"), maximum=2**31 - 1)
        if after is None:
            raise Invalid("bad_after", "after 须为非负整数 (after must be a whole number)")
        principal = await _principal(websocket, hall)
        section, project, audience, you = await _room_of(hall, section_id, principal)
    except DomainError as error:
        status = {"invalid": 400, "not_found": 404, "unauthenticated": 401,
                  "forbidden": 403}.get(error.kind, 403)
        await websocket.send_denial_response(_denial(status, error))
        return
    welcome = _welcome(section, project, audience, you, hall)
    del section, project
    await websocket.accept()
    room = hall.rooms.room(section_id)
    connection = Connection(view_class(audience.participant), hall.queue_size,
                            direct_sender(websocket))
    session_state = _Session(hall, websocket, section_id, principal, audience, connection)
    writer = asyncio.create_task(session_state.write())
    watched = hall.access.watch(principal, connection.revoke) if hall.access else None
    try:
        await room.join(connection, after, welcome)
        await session_state.read()
    finally:
        if hall.access is not None:
            hall.access.unwatch(watched)
        room.leave(connection)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        hall.rooms.release(section_id)


def direct_sender(websocket: WebSocket) -> SendNow | None:
    """The server's synchronous send, when it offers one (tradesys.ops.uvicorn_ws)."""
    send_now = websocket.scope.get("extensions", {}).get(SEND_NOW)
    return send_now if callable(send_now) else None


def _denial(status: int, error: DomainError) -> JSONResponse:
    return JSONResponse({"error": {"code": error.code, "message": error.message}},
                        status_code=status)


@dataclass
class _Session:
    hall: Hall
    websocket: WebSocket
    section_id: int
    principal: Principal | None
    audience: Audience
    connection: Connection

    def _head(self) -> int:
        room = self.hall.rooms.rooms.get(self.section_id)
        return room.head if room is not None else 0

    def _reply(self, message: dict[str, Any]) -> None:
        self.connection.offer(_dumps({**message, "seq": self._head()}))

    def _error(self, command_id: str | None, code: str, message: str) -> None:
        self._reply({"type": "error", "id": command_id, "code": code, "message": message})

    async def write(self) -> None:
        """Drains what could not be sent at once; closes with 4008 when told to drop."""
        connection = self.connection
        while True:
            text = await connection.next_text()
            if text is DROP:
                await self.websocket.close(SLOW_CONSUMER, "slow_consumer")
                return
            if text is REVOKED:
                await self.websocket.close(ACCESS_REVOKED, "access_revoked")
                return
            connection.sending = True
            try:
                await self.websocket.send_text(text)
            finally:
                connection.sending = False

    async def read(self) -> None:
        while True:
            try:
                message = await self.websocket.receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self._error(None, "bad_frame", "只接受文本帧 (text frames only)")
                continue
            if self.connection.dropped:
                continue  # closing (4008, 4003): no command runs on a dropped connection
            if len(text) > MAX_FRAME:
                self._error(None, "bad_frame", f"消息超过 {MAX_FRAME} 字节 (frame too "
                            "large)")
                continue
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            # The same reading as an HTTP body's: 3.0 where an integer is due is 3.
            raw, _converted = parse_command(text)
        except BadJson as error:
            if error.code == "malformed_json":
                self._error(None, "bad_json", "消息不是 JSON (not JSON)")
            else:
                self._error(None, error.code, error.message)
            return
        command_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(command_id, str) or len(command_id) > 64:
            command_id = None
        if not isinstance(raw, dict) or raw.get("type") not in messages.TYPES:
            self._error(command_id, "unknown_type", "未知的消息类型 (unknown message type)")
            return
        try:
            command = messages.COMMAND.validate_python(raw)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"][1:])
            self._error(command_id, "bad_command", f"消息字段有误 (invalid field {where}: "
                        f"{first['msg']})")
            return
        if command.type == "ping":
            self._reply({"type": "time", "id": command_id, "t": command.t,
                         "server_time": isoformat_utc(self.hall.services.clock.now())})
            return
        if self.principal is None or (self.audience.kind in ("observer", "supervisor")
                                      and command.type not in ANYONE_SIGNED_IN):
            self._refused(command_id, command.type)
            return
        try:
            async with self.hall.services.db.transaction() as session:
                result = await self.hall.commands.run(session, self.principal, self.section_id,
                                                      command)
        except DomainError as error:
            if isinstance(error, Forbidden):
                self._refused(command_id, command.type, error)
                return
            self._error(command_id, error.code, error.message)
            return
        self.hall.services.committed()
        if command.type in WAKES_SCHEDULER:
            self.hall.wake_scheduler()
        self._reply({"type": "ack", "id": command_id, "result": result})

    def _refused(self, command_id: str | None, type: str,
                 error: DomainError | None = None) -> None:
        log.warning("hall command refused", extra={
            "section_id": self.section_id, "command": type, "audience": self.audience.kind,
            "user_id": self.principal.user_id if self.principal else None})
        if error is not None:
            self._error(command_id, error.code, error.message)
        else:
            self._error(command_id, "forbidden", "您在本开标大厅无权执行此操作 (your role in "
                        "this opening does not allow this)")
