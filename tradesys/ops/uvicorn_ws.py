"""uvicorn's WebSocket protocol, with one fix and one extension.

The fix: a refused handshake is not an error.

The hall refuses a handshake with an HTTP status and a JSON body (the ASGI denial response).
uvicorn 0.54's sans-io protocol writes that response but never marks the handshake settled, so
it then logs "ASGI callable returned without completing handshake." at ERROR for every refusal
(noise an attacker could flood the logs with). Marking it settled once the body is written
keeps the logs for real faults.

The extension (ASGI scope ``extensions["tradesys.send_now"]``): a synchronous "write this text
frame now if the socket can take it". The hall's broadcast uses it to write to thousands of
clients in one pass, with no task switch per client (measured: bench/hall.py); when the socket
is backed up it answers False and the hall queues the message for the connection's writer,
which keeps the order and the back-pressure of the normal path.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

SEND_NOW = "tradesys.send_now"

#: The hall's frame limit at the transport: larger frames close the connection (1009).
WS_MAX_SIZE = 1024 * 1024


class WebSocketProtocol(WebSocketsSansIOProtocol):
    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get(
                "more_body", False):
            self.handshake_complete = True

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        self.scope["extensions"][SEND_NOW] = self.send_text_now

    def send_text_now(self, text: str) -> bool:
        """Writes one text frame at once, or returns False having written nothing."""
        if (not self.handshake_complete or self.close_sent or self.disconnected
                or not self.writable.is_set() or self.transport.is_closing()):
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True


#: How every server of ours runs WebSockets (uvicorn options). No per-message compression: the
#: hall's messages are small JSON, and a deflate context per connection would cost memory and a
#: compression per client per broadcast.
#: No proxy headers at the server either: the application believes ``X-Forwarded-For`` only
#: from ``TRADESYS_TRUSTED_PROXIES`` (tradesys/app.py); uvicorn's own default would believe it
#: from 127.0.0.1, so any local client could claim any address.
WS_OPTIONS: dict[str, Any] = {"ws": WebSocketProtocol, "ws_max_size": WS_MAX_SIZE,
                              "ws_per_message_deflate": False, "proxy_headers": False}
