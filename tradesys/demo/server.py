"""An in-process uvicorn server on a free loopback port, in a thread of its own.

The demo talks to it over real HTTP, exactly as any client would, and moves its clock.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from tradesys.ops.uvicorn_ws import WS_OPTIONS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class InProcessServer:
    """``sock``: a socket already bound on loopback (``tradesys serve`` binds its ports first,
    so a port in use is reported before anything starts); else ``port`` or a free one."""

    def __init__(self, app: Starlette, *, port: int | None = None,
                 sock: socket.socket | None = None) -> None:
        self.port = sock.getsockname()[1] if sock is not None else port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                access_log=False, lifespan="on", **WS_OPTIONS)
        self.server = uvicorn.Server(config)
        sockets = [sock] if sock is not None else None
        self.thread = threading.Thread(target=self.server.run, args=(sockets,),
                                       name="tradesys-demo-server", daemon=True)

    def __enter__(self) -> InProcessServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the in-process server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
