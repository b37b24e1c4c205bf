"""A hall client over a real WebSocket (the ``websockets`` library), and a served app."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from hall.views import PARTICIPANT, PUBLIC, render
from tradesys.demo.server import free_port
from tradesys.opening.state import OpeningState
from tradesys.ops.uvicorn_ws import WS_OPTIONS

TIMEOUT = 15.0


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serves an app (already in its lifespan) on a loopback port, in this event loop."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            access_log=False, lifespan="off", **WS_OPTIONS)
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
            if message["type"] in ("ack", "error", "time") and message.get("id") == ident:
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


def rendered_log(logged: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The room's ``event`` messages for participants and for the public, rendered from the
    logged ``(seq, type, payload, at)`` rows as a room does (folding the state as it goes, which
    names bids by their public ids)."""
    state = OpeningState()
    participant, public = [], []
    for seq, type_, payload, at in logged:
        data = json.loads(payload)
        state.apply(seq, type_, data, at)
        texts = render(seq, type_, data, at, state.public_bid_id)
        participant.append(json.loads(texts[PARTICIPANT] or ""))
        if texts[PUBLIC] is not None:
            public.append(json.loads(texts[PUBLIC]))
    return participant, public


REPO = Path(__file__).resolve().parents[2]
SERVER_STARTUP = 30.0


class ServerProcess:
    """A real ``tradesys serve`` process (its own interpreter, the system clock) on a database
    and data directory; its log goes to ``log_path``. ``kill`` is SIGKILL: nothing runs after."""

    def __init__(self, database_url: str, data_dir: Path, log_path: Path, *,
                 scheduler_interval: float = 0.2) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.log_path = log_path
        self.scheduler_interval = scheduler_interval
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def start(self) -> ServerProcess:
        env = serve_env(self.data_dir, self.database_url, self.scheduler_interval)
        self.port = free_port()
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *serve_argv(self.port), cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log)
        deadline = time.monotonic() + SERVER_STARTUP
        async with httpx.AsyncClient(base_url=self.http, timeout=2.0) as client:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"tradesys serve exited ({self.process.returncode}):\n"
                                       f"{self.log()[-4000:]}")
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    await self.kill()
                    raise RuntimeError(f"tradesys serve did not answer /healthz:\n"
                                       f"{self.log()[-4000:]}")
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL (idempotent): the process dies wherever it is, mid-transaction or not."""
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    def errors(self) -> list[dict[str, Any]]:
        """The error-level records (and anything with a traceback) in the server's log."""
        return log_errors(self.log())


def serve_env(data_dir: Path, database_url: str | None = None,
              scheduler_interval: float = 0.2) -> dict[str, str]:
    """The environment of a ``tradesys serve`` under test: none of ours inherited, the data
    directory (and its embedded SQLite file unless ``database_url``) and a quick scheduler."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRADESYS_")}
    env.update(TRADESYS_DATA_DIR=str(data_dir),
               TRADESYS_SCHEDULER_INTERVAL=str(scheduler_interval))
    if database_url:
        env["TRADESYS_DATABASE_URL"] = database_url
    return env


def serve_argv(port: int, *extra: str) -> list[str]:
    """``tradesys serve`` on a loopback port, without the reference platform receiver."""
    return [sys.executable, "-m", "tradesys.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--receiver-port", "0", *extra]


def log_errors(log: str) -> list[dict[str, Any]]:
    """The error-level records (and anything with a traceback) in a server's JSON log."""
    found = []
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and (entry.get("level") in ("error", "critical")
                                        or "exception" in entry):
            found.append(entry)
    return found


@asynccontextmanager
async def server_process(database_url: str, data_dir: Path,
                         log_path: Path) -> AsyncIterator[ServerProcess]:
    """A started :class:`ServerProcess`, always killed on the way out."""
    server = ServerProcess(database_url, data_dir, log_path)
    try:
        yield await server.start()
    finally:
        await server.kill()


async def drain(client: HallClient) -> None:
    """Reads whatever a server sent before its connection ended, until it is closed."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await client.recv()
