"""Benchmark: broadcast latency and memory of the opening hall against a bare ``websockets``
broadcast server, in one run, with the same clients.

    .venv/bin/python bench/hall.py [--sizes 1000,5000] [--rounds 20] [--warmup-rounds 2]
                                   [--workers 2] [--gap 0.5] [--quick]
                                   [--database sqlite | postgresql+asyncpg://…] [--keep]

What it does (the hall issue's acceptance point):

1. Setup, in-process, before any server is measured: a fresh database (a SQLite file in a
   temporary folder, or a new database on the PostgreSQL server named by ``--database``,
   dropped at the end), migrated, an admin made, and the demo procurement
   (``tradesys.demo.scenario``) driven through the HTTP API of an in-process server whose
   ``AdjustableClock`` starts 30 days in the past: parties and keys, project, document,
   announcement (2-of-3 opening key holders, deadline 21 days on), documents obtained, three
   sealed bids, the deadline reached. The scheduler closes the section and publishes the bid
   list (phase ``published``), 9 days before the real time, so the measured server, on the
   real clock, finds an opening waiting for its host.
2. For each size N and each server, alternately (bare first), a fresh server process:
   - bare: ``python bench/hall.py _bare`` — ``websockets.asyncio.server.serve`` with a
     handler that keeps every client in a set; a message on the control path ``/control``
     makes it build one event message of the hall's shape and send it to every client with
     ``websockets.broadcast()``;
   - hall: ``python -m tradesys.cli serve --receiver-port 0`` (real clock, default settings
     but no per-address connection limit, as every client is on loopback; JSON log, scheduler
     on, uvicorn with tradesys.ops.uvicorn_ws) on that database; the host (the agency, a
     fresh Bearer token from ``/api/v1/auth/tokens``) connects to ``/hall/{section}/ws`` and
     sends ``announce`` commands.
   Both get 10 warm-up observers held by the bench itself, then N clients, public observers
   (no credentials), spread over ``--workers`` client processes. A client is a raw asyncio
   protocol driving websockets' sans-I/O ``ClientProtocol``; it takes ``time.time_ns()`` as
   bytes arrive (``data_received``), before parsing: the client's own cost is small and the
   same for both servers. Connections are opened 64 at a time per worker.
3. Memory per idle connection: the server's VmRSS (``/proc/PID/status``) after the N clients
   are connected, welcomed and idle for 2 s, minus VmRSS before they connected (after the
   warm-up observers), divided by N.
4. Rounds: the trigger (bare: a control message; hall: the host's ``announce``, whose text
   carries the trigger time) is sent at ``t0 = time.time_ns()``; latency = receive time −
   t0 for every (client, round). Both sides are on this machine, so the clocks agree. The
   next round starts ``--gap`` seconds after every client has the message. The first
   ``--warmup-rounds`` are not counted. The hall's latency includes the command's database
   transaction (the event is committed to the log before it is broadcast), as it does in
   real use; the time from the trigger to the host's ``ack`` is printed beside it. Each run
   marks its messages with a random tag: hall clients connect with ``after=0``, as a page
   does, so they also get the earlier runs' announcements as catch-up, which are ignored.

Prints p50, p99 and max latency for each server and size, the ratios hall/bare, the server
CPU time per broadcast, the memory per idle connection and the verdict against the targets:
hall p99 ≤ 1.5 × the bare baseline at every size; ≤ 64 KiB per idle connection.
Exit status 0 when every run completed (whether or not a target is met), 1 on a failure
(a client missed a message, a connection failed).

The machine's cores are shared by the server, the client processes and whatever else runs;
the output gives the core count and the load average before and after. The soft limit on
open files is raised to the hard limit (up to 65,536) and inherited by every process; the
run refuses to start when it is below the largest size + 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the project's `hall` package: its own folder must not be on the path
# (Python puts it first when the script runs), or `import hall` would find this file.
sys.path[:] = [p for p in sys.path if p not in (str(ROOT), str(Path(__file__).resolve().parent))]
sys.path.insert(0, str(ROOT))

from bench.runs import ScratchDatabase, loadavg, machine  # noqa: E402

SCRIPT = str(Path(__file__).resolve())

KIB = 1024
P99_TARGET = 1.5
MEMORY_TARGET_KIB = 64
WARM_OBSERVERS = 10
CONNECT_CONCURRENCY = 64


# ---------------------------------------------------------------------------------------------
# Small helpers.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raise_nofile(wanted: int = 65536) -> int:
    """Lifts the soft file-descriptor limit as far as allowed; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KIB
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def event_text(seq: int, text: str) -> str:
    """The message the hall sends for ``opening.announcement`` (hall/views.py), so the bare
    server's broadcast has the same shape and size."""
    return json.dumps({"type": "event", "seq": seq, "event": {
        "type": "opening.announcement", "at": iso_now(), "data": {"text": text}}},
        ensure_ascii=False, separators=(",", ":"))


def percentile(values: list[int], q: float) -> float:
    """Nearest-rank percentile of sorted values (same rule as bench/api.py)."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


# ---------------------------------------------------------------------------------------------
# The bare baseline: `python bench/hall.py _bare --port P`.

def serve_bare(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    clients: set[ServerConnection] = set()
    seq = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal seq
        if ws.request is not None and ws.request.path == "/control":
            async for message in ws:
                seq += 1
                broadcast(clients, event_text(seq, message))
            return
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, backlog=2048) as server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# The client workers: `python bench/hall.py _clients URL N MARK`. Lines on stdout: `ready C F S`
# (connected, failed, seconds), `done R` (every live connection has round R), and on `report`
# from stdin one JSON object with the latencies; then the worker exits.

class _Client(asyncio.Protocol):
    def __init__(self, worker: _Worker, uri: str) -> None:
        self.worker = worker
        self.protocol = ClientProtocol(parse_uri(uri), max_size=None)
        self.transport: asyncio.Transport | None = None
        self.open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.partial: list[bytes] = []
        self.closed = False
        self.rounds: set[int] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()  # as the bytes arrive, before any parsing
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if not self.open.done():
                    if self.protocol.handshake_exc is not None:
                        self.open.set_exception(self.protocol.handshake_exc)
                    else:
                        self.open.set_result(None)
            elif isinstance(event, Frame):
                if event.opcode is Opcode.TEXT or (event.opcode is Opcode.CONT
                                                   and self.partial):
                    self.partial.append(event.data)
                    if event.fin:
                        self.worker.message(self, b"".join(self.partial), now)
                        self.partial = []
                elif event.opcode is Opcode.CLOSE:
                    self.worker.close_code(event.data[:2])
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(ConnectionError(f"connection lost: {exc}"))
        elif not self.closed:
            self.closed = True
            self.worker.lost()


@dataclass
class _Worker:
    uri: str
    n: int
    mark: str
    rounds: dict[int, list[int]] = field(default_factory=dict)
    clients: list[_Client] = field(default_factory=list)
    alive: int = 0
    lost_count: int = 0
    duplicates: int = 0
    close_codes: dict[int, int] = field(default_factory=dict)

    def message(self, client: _Client, data: bytes, now: int) -> None:
        message = json.loads(data)
        if message.get("type") != "event":
            return
        text = message["event"]["data"].get("text", "")
        mark, _, rest = text.partition(" ")
        if mark != self.mark:
            return
        round_text, _, sent = rest.partition(" ")
        round_no = int(round_text)
        if round_no in client.rounds:
            self.duplicates += 1
            return
        client.rounds.add(round_no)
        got = self.rounds.setdefault(round_no, [])
        got.append(now - int(sent))
        if len(got) == self.alive:
            print(f"done {round_no}", flush=True)

    def close_code(self, data: bytes) -> None:
        code = int.from_bytes(data, "big") if len(data) == 2 else 1005
        self.close_codes[code] = self.close_codes.get(code, 0) + 1

    def lost(self) -> None:
        self.alive -= 1
        self.lost_count += 1

    async def connect_all(self) -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        target = parse_uri(self.uri)
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        failed = 0

        async def one() -> None:
            nonlocal failed
            async with gate:
                client: _Client | None = None
                try:
                    _, client = await loop.create_connection(
                        lambda: _Client(self, self.uri), target.host, target.port)
                    await asyncio.wait_for(client.open, timeout=60)
                except Exception:  # refused, reset, timed out, handshake failed
                    failed += 1
                    if client is not None and client.transport is not None:
                        client.transport.abort()
                    return
                self.clients.append(client)
                self.alive += 1

        await asyncio.gather(*(one() for _ in range(self.n)))
        return self.alive, failed


async def _client_worker(uri: str, n: int, mark: str) -> None:
    loop = asyncio.get_running_loop()
    worker = _Worker(uri, n, mark)
    started = time.perf_counter()
    connected, failed = await worker.connect_all()
    print(f"ready {connected} {failed} {time.perf_counter() - started:.2f}", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line in ("report", ""):
            break
    print(json.dumps({"rounds": worker.rounds, "lost": worker.lost_count,
                      "duplicates": worker.duplicates,
                      "close_codes": worker.close_codes}), flush=True)
    for client in worker.clients:
        if client.transport is not None:
            client.transport.abort()


# ---------------------------------------------------------------------------------------------
# Setup: the demo procurement up to the published bid list, on a clock 30 days behind.

@dataclass
class HallFixture:
    url: str
    data_dir: Path
    section_id: int
    host_username: str
    host_password: str
    seconds: float


def _wait_published(url: str, section_id: int, timeout: float = 60) -> str:
    from tradesys.db.database import Database
    from tradesys.opening.models import Opening

    async def phase() -> str | None:
        db = Database(url, null_pool=True)
        try:
            async with db.reading() as session:
                row = await session.get(Opening, section_id)
                return None if row is None else row.phase
        finally:
            await db.dispose()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = asyncio.run(phase())
        if found is not None:
            return found
        time.sleep(0.2)
    raise SystemExit(f"the bid list of section {section_id} was not published in {timeout} s")


def setup_hall(work: Path, url: str) -> HallFixture:
    import httpx

    from tradesys.app import create_app
    from tradesys.clock import AdjustableClock
    from tradesys.db.migrate import upgrade
    from tradesys.demo.runner import bootstrap
    from tradesys.demo.scenario import DemoState, Scenario
    from tradesys.demo.server import InProcessServer
    from tradesys.settings import Settings

    started = time.perf_counter()
    data_dir = work / "data"
    data_dir.mkdir(parents=True)
    upgrade(url)
    admin_name, admin_password = f"admin-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    asyncio.run(bootstrap(url, admin_name, admin_password))
    clock = AdjustableClock(datetime.now(UTC) - timedelta(days=30))
    settings = Settings(data_dir=data_dir, database_url=url, scheduler_interval=0.2,
                        platform_url="")
    state = DemoState(base_url="", out_dir=work)
    with InProcessServer(create_app(settings, clock=clock, run_relay=False)) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        state.base_url = server.url
        scenario = Scenario(client, state, clock)
        admin = client.post("/api/v1/auth/tokens",
                            json={"username": admin_name, "password": admin_password})
        if admin.status_code != 201:
            raise SystemExit(f"admin token: {admin.status_code} {admin.text}")
        scenario.create_parties(admin.json()["token"])
        scenario.register()
        scenario.upload_documents()
        scenario.announce()
        scenario.obtain_documents()
        scenario.submit_bids()
        scenario.reach_deadline(time.sleep)
        section_id = int(state.project["sections"][0]["id"])
        phase = _wait_published(url, section_id)
    if phase != "published":
        raise SystemExit(f"section {section_id}: phase {phase!r}, expected 'published'")
    host = scenario.party("agency")
    return HallFixture(url, data_dir, section_id, host.username, host.password,
                       time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# Server processes.

@dataclass
class Server:
    kind: str
    port: int
    pid: int
    client_uri: str
    log: Path


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise SystemExit(f"server on port {port} not ready after 60 s")


@contextlib.contextmanager
def bare_server(work: Path, tag: str) -> Iterator[Server]:
    port = free_port()
    log = work / f"bare-{tag}.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, SCRIPT, "_bare", "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT)
    try:
        _wait_port(port, process, log)
        yield Server("bare", port, process.pid, f"ws://127.0.0.1:{port}/", log)
    finally:
        _stop(process)


@contextlib.contextmanager
def hall_server(work: Path, fixture: HallFixture, tag: str) -> Iterator[Server]:
    import httpx

    port = free_port()
    log = work / f"hall-{tag}.log"
    # Every client is on loopback: the per-address connection limit would refuse all but 20.
    env = {**os.environ, "TRADESYS_DATA_DIR": str(fixture.data_dir),
           "TRADESYS_HALL_MAX_CONNECTIONS_PER_ADDRESS": "0"}
    for name in ("TRADESYS_DATABASE_URL", "TRADESYS_PLATFORM_URL"):
        env.pop(name, None)
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tradesys.cli", "serve", "--port", str(port), "--database",
             fixture.url, "--receiver-port", "0"], stdout=subprocess.DEVNULL, stderr=stderr,
            cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited early:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"server on port {port} not ready after 60 s")
            time.sleep(0.1)
        yield Server("hall", port, process.pid,
                     f"ws://127.0.0.1:{port}/hall/{fixture.section_id}/ws", log)
    finally:
        _stop(process)


# ---------------------------------------------------------------------------------------------
# The trigger side: the bare server's control connection, or the hall's host.

class Trigger:
    def __init__(self, server: Server, fixture: HallFixture | None) -> None:
        self.server, self.fixture = server, fixture
        #: Marks this run's broadcasts: the hall's log keeps earlier runs' announcements, and
        #: a client connecting with after=0 gets them first (catch-up).
        self.mark = f"bench-{secrets.token_hex(4)}"
        self.ws: Any = None
        self.errors: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self.observers: list[Any] = []
        self._drains: list[asyncio.Task[None]] = []
        self.sent: dict[str, int] = {}
        #: hall only: trigger → the host's ack (the command's transaction), ns
        self.acks: dict[str, int] = {}

    async def __aenter__(self) -> Trigger:
        import httpx
        from websockets.asyncio.client import connect

        if self.server.kind == "bare":
            self.ws = await connect(f"ws://127.0.0.1:{self.server.port}/control")
        else:
            assert self.fixture is not None
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.server.port}") as c:
                response = await c.post("/api/v1/auth/tokens", json={
                    "username": self.fixture.host_username,
                    "password": self.fixture.host_password, "name": "bench"})
                if response.status_code != 201:
                    raise SystemExit(f"host token: {response.status_code} {response.text}")
                token = response.json()["token"]
            self.ws = await connect(self.server.client_uri,
                                    additional_headers={"Authorization": f"Bearer {token}"},
                                    max_size=None)
            welcome = json.loads(await self.ws.recv())
            if welcome.get("audience") != "host" or welcome["state"]["phase"] != "published":
                raise SystemExit(f"unexpected welcome for the host: {welcome}")
        self._reader = asyncio.create_task(self._read())
        for _ in range(WARM_OBSERVERS):
            observer = await connect(self.server.client_uri, max_size=None)
            self.observers.append(observer)
            self._drains.append(asyncio.create_task(self._drain(observer)))
        return self

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                now = time.time_ns()
                message = json.loads(raw)
                if message.get("type") == "error":
                    self.errors.append(f"{message.get('code')}: {message.get('message')}")
                elif message.get("type") == "ack" and message.get("id") in self.sent:
                    self.acks[message["id"]] = now - self.sent[message["id"]]

    @staticmethod
    async def _drain(ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for _ in ws:
                pass

    async def fire(self, round_no: int) -> None:
        sent = self.sent[f"r{round_no}"] = time.time_ns()
        if self.server.kind == "bare":
            await self.ws.send(f"{self.mark} {round_no} {sent}")
        else:
            await self.ws.send(json.dumps({"type": "announce", "id": f"r{round_no}",
                                           "text": f"{self.mark} {round_no} {sent}"}))

    async def __aexit__(self, *_exc: object) -> None:
        for ws in [*self.observers, self.ws]:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._reader is not None:
            self._reader.cancel()


# ---------------------------------------------------------------------------------------------
# One run: one server, N clients, the rounds.

@dataclass
class Run:
    kind: str
    n: int
    connected: int = 0
    connect_s: float = 0.0
    rss_before: int = 0
    rss_after: int = 0
    latencies: list[int] = field(default_factory=list)  # ns, measured rounds only
    round_max: list[int] = field(default_factory=list)
    missed: int = 0
    duplicates: int = 0
    lost: int = 0
    close_codes: dict[str, int] = field(default_factory=dict)
    cpu_per_round: float = 0.0
    acks: list[int] = field(default_factory=list)  # hall: trigger → host's ack, ns
    errors: list[str] = field(default_factory=list)

    @property
    def per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / max(self.connected, 1)

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) / 1e6


@dataclass
class _WorkerHandle:
    process: asyncio.subprocess.Process
    n: int
    done: set[int] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    ready: tuple[int, int, float] | None = None
    report: dict[str, Any] | None = None

    async def pump(self) -> None:
        assert self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                break
            text = line.decode().strip()
            if text.startswith("done "):
                self.done.add(int(text[5:]))
            elif text.startswith("ready "):
                connected, failed, seconds = text[6:].split()
                self.ready = (int(connected), int(failed), float(seconds))
            elif text.startswith("{"):
                self.report = json.loads(text)
            self.changed.set()


async def _until(workers: list[_WorkerHandle], test: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not all(test(w) for w in workers):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or any(w.process.returncode is not None and not test(w)
                                 for w in workers):
            return False
        waits = [asyncio.ensure_future(w.changed.wait()) for w in workers]
        for w in workers:
            w.changed.clear()
        await asyncio.wait(waits, timeout=min(remaining, 1.0),
                           return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
    return True


async def measure(server: Server, fixture: HallFixture | None, n: int,
                  opts: argparse.Namespace) -> Run:
    run = Run(server.kind, n)
    async with Trigger(server, fixture) as trigger:
        await asyncio.sleep(1.0)
        run.rss_before = rss(server.pid)
        shares = [n // opts.workers + (1 if i < n % opts.workers else 0)
                  for i in range(opts.workers)]
        workers: list[_WorkerHandle] = []
        pumps = []
        started = time.perf_counter()
        for share in shares:
            if share == 0:
                continue
            process = await asyncio.create_subprocess_exec(
                sys.executable, SCRIPT, "_clients", server.client_uri, str(share), trigger.mark,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
                limit=1 << 28)  # the report is one long JSON line
            handle = _WorkerHandle(process, share)
            workers.append(handle)
            pumps.append(asyncio.create_task(handle.pump()))
        try:
            if not await _until(workers, lambda w: w.ready is not None, 120 + n / 20):
                raise SystemExit(f"{server.kind}: the clients did not connect in time")
            run.connect_s = time.perf_counter() - started
            run.connected = sum(w.ready[0] for w in workers if w.ready)
            failed = sum(w.ready[1] for w in workers if w.ready)
            if failed:
                run.errors.append(f"{failed} connections failed")
            await asyncio.sleep(2.0)
            run.rss_after = rss(server.pid)
            cpu_start = 0.0
            total = opts.warmup_rounds + opts.rounds
            for round_no in range(1, total + 1):
                if round_no == opts.warmup_rounds + 1:
                    cpu_start = cpu_seconds(server.pid)
                await trigger.fire(round_no)
                if not await _until(workers, lambda w, r=round_no: r in w.done, 30 + n / 100):
                    run.errors.append(f"round {round_no}: not every client got the message "
                                      "in time")
                if round_no == total:
                    run.cpu_per_round = (cpu_seconds(server.pid) - cpu_start) / opts.rounds
                await asyncio.sleep(opts.gap)
            for w in workers:
                assert w.process.stdin is not None
                w.process.stdin.write(b"report\n")
                await w.process.stdin.drain()
            if not await _until(workers, lambda w: w.report is not None, 60):
                raise SystemExit(f"{server.kind}: a client worker did not report")
        finally:
            for w in workers:
                if w.process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        w.process.kill()
                await w.process.wait()
            for pump in pumps:
                pump.cancel()
        run.errors.extend(trigger.errors)
        run.acks = sorted(trigger.acks[f"r{r}"] for r in range(
            opts.warmup_rounds + 1, opts.warmup_rounds + opts.rounds + 1)
            if f"r{r}" in trigger.acks)
    per_round: dict[int, list[int]] = {}
    for w in workers:
        assert w.report is not None
        run.lost += w.report["lost"]
        run.duplicates += w.report["duplicates"]
        for code, count in w.report["close_codes"].items():
            run.close_codes[code] = run.close_codes.get(code, 0) + count
        for round_text, values in w.report["rounds"].items():
            per_round.setdefault(int(round_text), []).extend(values)
    for round_no in range(opts.warmup_rounds + 1, opts.warmup_rounds + opts.rounds + 1):
        values = per_round.get(round_no, [])
        run.missed += run.connected - len(values)
        run.latencies.extend(values)
        if values:
            run.round_max.append(max(values))
    run.latencies.sort()
    if run.missed:
        run.errors.append(f"{run.missed} (client, round) messages missing")
    if run.duplicates:
        run.errors.append(f"{run.duplicates} messages received twice")
    if run.lost:
        run.errors.append(f"{run.lost} connections lost (close codes {run.close_codes})")
    return run


# ---------------------------------------------------------------------------------------------

def report_line(run: Run) -> str:
    worst = run.latencies[-1] / 1e6 if run.latencies else float("nan")
    round_max = statistics.median(run.round_max) / 1e6 if run.round_max else float("nan")
    return (f"{run.kind:<5}{run.n:>7}{run.connected:>7}{run.connect_s:>8.1f}"
            f"{run.p(0.50):>9.1f}{run.p(0.99):>9.1f}{worst:>9.1f}{round_max:>11.1f}"
            f"{run.cpu_per_round * 1000:>10.1f}"
            f"{run.cpu_per_round * 1e6 / max(run.connected, 1):>9.1f}"
            f"{run.rss_before / (1 << 20):>8.1f}{run.per_connection / KIB:>9.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000",
                        help="clients in the room, comma-separated")
    parser.add_argument("--rounds", type=int, default=20, help="measured broadcasts per run")
    parser.add_argument("--warmup-rounds", type=int, default=2,
                        help="broadcasts before the measured ones (not counted)")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--gap", type=float, default=0.5,
                        help="seconds between a round's last delivery and the next trigger")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 200 clients, 3 rounds, 1 warm-up round")
    parser.add_argument("--database", default="sqlite",
                        help="'sqlite' (a fresh file in the temporary folder) or a PostgreSQL "
                        "URL (postgresql+asyncpg://user@host:port/db): a fresh database is "
                        "created on that server (connecting to db to do so) and dropped after")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.sizes, opts.rounds, opts.warmup_rounds = "200", 3, 1
    try:
        sizes = [int(s) for s in opts.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 1000,5000")
    if not sizes or min(sizes) < 1 or opts.rounds < 1 or opts.warmup_rounds < 0 \
            or opts.workers < 1:
        parser.error("need sizes >= 1, --rounds >= 1, --warmup-rounds >= 0, --workers >= 1")
    limit = raise_nofile()
    if limit < max(sizes) + 1000:
        parser.error(f"the file-descriptor limit ({limit}) is too low for {max(sizes)} clients")

    import uvicorn
    import websockets

    work = Path(tempfile.mkdtemp(prefix="tradesys-bench-hall-"))
    database: ScratchDatabase | None = None
    try:
        try:
            database = ScratchDatabase.create(opts.database, work)
        except ValueError as error:
            parser.error(str(error))
        url = database.url
        backend = database.label + (" (hall backplane on)" if database.admin_url else "")
        print(f"date:      {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        print(f"machine:   {machine()}")
        print(f"load avg:  {loadavg()} (before)")
        print(f"database:  {backend}")
        print(f"servers:   bare: websockets {websockets.__version__} asyncio server + "
              f"broadcast(); hall: `tradesys serve` (uvicorn {uvicorn.__version__} with "
              "tradesys.ops.uvicorn_ws, asyncio loop), one process each")
        print(f"clients:   {opts.workers} client process(es), websockets sans-I/O protocol on "
              f"raw asyncio, receive time taken as bytes arrive; fd limit {limit}; the "
              f"{os.cpu_count()} cores are shared by the server and the clients")
        print(f"rounds:    {opts.warmup_rounds} warm-up + {opts.rounds} measured broadcasts per "
              f"run, {opts.gap:g} s after each completes; sizes {sizes}")
        print(f"work dir:  {work}{' (kept)' if opts.keep else ''}", flush=True)
        fixture = setup_hall(work, url)
        print(f"setup:     demo procurement to the published bid list (section "
              f"{fixture.section_id}, 3 bids) through the API in {fixture.seconds:.1f} s",
              flush=True)
        runs: list[Run] = []
        for n in sizes:
            for kind in ("bare", "hall"):
                tag = f"{n}"
                manager = (bare_server(work, tag) if kind == "bare"
                           else hall_server(work, fixture, tag))
                with manager as server:
                    run = asyncio.run(measure(server, fixture if kind == "hall" else None, n,
                                              opts))
                runs.append(run)
                ack = (f", announce → ack median {statistics.median(run.acks) / 1e6:.1f} ms"
                       if run.acks else "")
                print(f"  {kind} {n}: p50 {run.p(0.5):.1f} ms, p99 {run.p(0.99):.1f} ms, "
                      f"{run.per_connection / KIB:.1f} KiB per connection{ack}, load avg "
                      f"{loadavg()}" + (f"; ERRORS: {'; '.join(run.errors)}" if run.errors
                                        else ""), flush=True)
        print()
        print("latency = trigger sent → message received by the client (ms), over every "
              "(client, round); round max = median over rounds of the slowest client;")
        print("CPU = server CPU time per broadcast (ms, and µs per connection); RSS0 = server "
              "RSS before the clients (MiB); KiB/conn = (RSS after − RSS0) / clients")
        print()
        print(f"{'srv':<5}{'clients':>7}{'conn.':>7}{'conn s':>8}{'p50':>9}{'p99':>9}"
              f"{'max':>9}{'round max':>11}{'CPU ms':>10}{'µs/conn':>9}{'RSS0':>8}"
              f"{'KiB/conn':>9}")
        for run in runs:
            print(report_line(run))
        print()
        verdict = {True: "met", False: "NOT met"}
        ok_all = True
        failures = False
        for n in sizes:
            bare = next(r for r in runs if r.kind == "bare" and r.n == n)
            hall = next(r for r in runs if r.kind == "hall" and r.n == n)
            r50, r99 = hall.p(0.5) / bare.p(0.5), hall.p(0.99) / bare.p(0.99)
            mem = hall.per_connection / KIB
            met = r99 <= P99_TARGET and mem <= MEMORY_TARGET_KIB
            ok_all &= met
            failures |= bool(bare.errors or hall.errors)
            print(f"{n:>5} clients: hall/bare p50 {r50:.2f}×, p99 {r99:.2f}× (target ≤ "
                  f"{P99_TARGET}×: {verdict[r99 <= P99_TARGET]}); hall {mem:.1f} KiB per idle "
                  f"connection (target ≤ {MEMORY_TARGET_KIB} KiB: "
                  f"{verdict[mem <= MEMORY_TARGET_KIB]}); bare {bare.per_connection / KIB:.1f} "
                  "KiB")
        print(f"verdict:   {'every target met' if ok_all else 'targets NOT met'}"
              + ("; some runs had errors (see above)" if failures else ""))
        print(f"load avg:  {loadavg()} (after); {os.cpu_count()} cores shared by the server, "
              f"the {opts.workers} client process(es) and anything else running")
        return 1 if failures else 0
    finally:
        if database is not None:
            database.drop()
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_bare":
        serve_bare(int(sys.argv[sys.argv.index("--port") + 1]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_clients":
        asyncio.run(_client_worker(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    else:
        sys.exit(main())
