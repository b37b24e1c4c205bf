"""A small synchronous hall client (docs/hall-protocol.md) for the demo: one WebSocket per
party, commands answered by ``ack`` or ``error``, room events collected as they come."""

from __future__ import annotations

import json
from contextlib import ExitStack
from itertools import count
from typing import Any

from websockets.sync.client import ClientConnection, connect

TIMEOUT = 30.0


class HallError(Exception):
    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__(f"{reply.get('code')}: {reply.get('message')}")
        self.reply = reply


class HallConnection:
    _ids = count(1)

    def __init__(self, base_url: str, section_id: int, token: str | None = None) -> None:
        url = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._stack = ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(connect(
            f"{url}/hall/{section_id}/ws", additional_headers=headers, open_timeout=TIMEOUT))
        self.events: list[dict[str, Any]] = []
        self.welcome = self._recv()
        if self.welcome.get("type") != "welcome":
            raise HallError(self.welcome)

    def _recv(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.ws.recv(timeout=TIMEOUT))
        if message.get("type") == "event":
            self.events.append(message)
        return message

    def command(self, type: str, **fields: Any) -> dict[str, Any]:
        ident = f"demo-{next(self._ids)}"
        self.ws.send(json.dumps({"type": type, "id": ident, **fields}, ensure_ascii=False))
        while True:
            message = self._recv()
            if message.get("id") == ident and message["type"] in ("ack", "error"):
                if message["type"] == "error":
                    raise HallError(message)
                result: dict[str, Any] = message.get("result") or {}
                return result

    def wait_for(self, event_type: str) -> dict[str, Any]:
        """The first room event of this type (already received, or the next to come)."""
        for message in self.events:
            if message["event"]["type"] == event_type:
                return message
        while True:
            message = self._recv()
            if message.get("type") == "event" and message["event"]["type"] == event_type:
                return message

    def close(self) -> None:
        self._stack.close()
