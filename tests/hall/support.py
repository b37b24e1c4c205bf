"""A hall client over a real WebSocket (the ``websockets`` library), and a served app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import count
from typing import Any

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect

from hall.ws import HARD_MAX_FRAME
from tradesys.demo.server import free_port

TIMEOUT = 15.0


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serves an app (already in its lifespan) on a loopback port, in this event loop."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            access_log=False, lifespan="off", ws_max_size=HARD_MAX_FRAME)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class HallClient:
    """One connection: collects every message; ``command`` waits for its ack or error."""

    _ids = count(1)

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.welcome: dict[str, Any] = {}

    @classmethod
    async def open(cls, base: str, section_id: int, *, token: str | None = None,
                   after: int = 0, headers: dict[str, str] | None = None) -> HallClient:
        extra = dict(headers or {})
        if token is not None:
            extra["Authorization"] = f"Bearer {token}"
        ws = await connect(f"{base}/hall/{section_id}/ws?after={after}",
                           additional_headers=extra, max_size=None)
        client = cls(ws)
        client.welcome = await client.recv()
        assert client.welcome["type"] == "welcome", client.welcome
        return client

    async def recv(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
        self.messages.append(message)
        return message

    @property
    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "event"]

    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.events]

    def types(self) -> list[str]:
        return [m["event"]["type"] for m in self.events]

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def command(self, type: str, **fields: Any) -> dict[str, Any]:
        ident = f"c{next(self._ids)}"
        await self.ws.send(json.dumps({"type": type, "id": ident, **fields}))
        return await self.reply(ident)

    async def reply(self, ident: str | None) -> dict[str, Any]:
        while True:
            message = await self.recv()
            if message["type"] in ("ack", "error") and message.get("id") == ident:
                return message

    async def until(self, event_type: str) -> dict[str, Any]:
        for message in self.events:
            if message["event"]["type"] == event_type:
                return message
        while True:
            message = await self.recv()
            if message["type"] == "event" and message["event"]["type"] == event_type:
                return message

    async def until_seq(self, seq: int) -> None:
        while not self.events or self.events[-1]["seq"] < seq:
            await self.recv()

    async def close(self) -> None:
        await self.ws.close()
