"""uvicorn's WebSocket protocol, with one fix: a refused handshake is not an error.

The hall refuses a handshake with an HTTP status and a JSON body (the ASGI denial response).
uvicorn 0.54's sans-io protocol writes that response but never marks the handshake settled, so
it then logs "ASGI callable returned without completing handshake." at ERROR for every refusal
(noise an attacker could flood the logs with). Marking it settled once the body is written
keeps the logs for real faults.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

#: The hall's frame limit at the transport: larger frames close the connection (1009).
WS_MAX_SIZE = 1024 * 1024


class WebSocketProtocol(WebSocketsSansIOProtocol):
    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get(
                "more_body", False):
            self.handshake_complete = True
