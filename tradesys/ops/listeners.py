"""Listening sockets bound before the server starts.

``tradesys serve`` binds its ports itself and hands the sockets to uvicorn: a port that is taken
is then known before any migration or demo seeding runs, is reported in one line naming the
option that moves it, and there is no window between a check and the bind for another program
to take the port.
"""

from __future__ import annotations

import errno
import socket


class ListenError(Exception):
    """A port could not be bound; ``str()`` is the one line to show the operator."""


def bind_tcp(host: str, port: int, *, option: str) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not yet listening: the event loop's server does
    that). ``option`` is the command-line option that chooses the port, for the message."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a restarted server may bind while old connections are in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ListenError(f"{where} is in use: choose another with {option}") from None
        reason = error.strerror or str(error)
        raise ListenError(f"cannot listen on {where}: {reason} (choose another with {option})"
                          ) from None
    return sock

