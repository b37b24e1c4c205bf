"""Benchmark: the public notice list against a bare Starlette JSON endpoint, in one run.

    .venv/bin/python bench/api.py [--notices 10000] [--seconds 10] [--connections 32]
                                  [--rounds 3] [--database sqlite | postgresql+asyncpg://…]
                                  [--loadgen auto|wrk|python] [--reference]

What it does:

1. makes a fresh database (a SQLite file in a temporary folder, or a new database created on
   the PostgreSQL server named by ``--database`` and dropped at the end), runs the Alembic
   migrations, and bulk-inserts N announced projects, each with one section and its tender
   notice, with SQLAlchemy Core. The fixture does not go through the API (10,000 announcements
   with documents would take minutes): what is measured is the read path.
2. serves the real application (``tradesys.app.create_app``, configured as ``tradesys serve``
   configures it: JSON request log, scheduler running) and a bare Starlette app with one JSON
   endpoint that builds a page of 50 items of the same shape per request. Each runs in its own
   process with one uvicorn worker and the same uvicorn settings (no uvicorn access log).
3. walks every page of ``/api/v1/notices?limit=50`` once through ``next_cursor`` and checks
   it: N distinct notices, newest first by (published_at, id), the documented fields.
4. loads each server over loopback HTTP/1.1 keep-alive connections, after a warm-up, for a
   fixed time and at most ``--max-requests`` requests; the notice list is walked page by page
   through the cursors, wrapping around. The load generator is ``wrk`` when it is installed
   (Debian package ``wrk``), else a raw-asyncio client in a separate process.
5. prints requests per second, p50 and p99 latency for each, and the ratio. Target: the notice
   list at >= 25 % of the bare endpoint's rate. With ``--reference`` it also loads the app's
   ``/readyz`` (one read session, one trivial query): the floor that any read starts from.

Exit status: 0 when every request succeeded (whether or not the target is met), 1 on failed
requests, 2 when a run hit ``--max-requests`` before its time was up.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.runs import ScratchDatabase, loadavg, machine  # noqa: E402

PAGE = 50
TARGET = 0.25
NOTICE_FIELDS = {"id", "project_id", "project_code", "project_name", "kind", "title",
                 "published_at", "bid_deadline"}

# ---------------------------------------------------------------------------------------------
# Fixture data: the same shapes for the database rows and for the bare endpoint's payload.

REGIONS = ["350100", "350200", "350300", "350500", "350600", "110000", "310000", "440300"]
WORKS = ["教学楼", "综合楼", "市政道路", "污水处理厂", "体育馆", "图书馆", "医院门诊楼", "安置房"]
KINDS = ["新建工程", "改扩建工程", "维修改造工程", "配套工程"]
BASE_TIME = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def project_name(i: int) -> str:
    return f"{REGIONS[i % 8][:4]}市第{i % 97 + 1}中学{WORKS[i % 8]}{KINDS[i % 4]}"


def notice_title(i: int) -> str:
    return f"{project_name(i)}施工招标公告（第{i % 3 + 1}次）"


def project_code(i: int) -> str:
    return f"E{REGIONS[i % 8]}2026{i:06d}"


def published_at(i: int) -> datetime:
    """Two notices share each instant, so the id breaks ties in the keyset."""
    return BASE_TIME + timedelta(seconds=60 * (i // 2))


NOTICE_CONTENT = ("根据《中华人民共和国招标投标法》等有关规定，现就本项目施工进行公开招标，"
                  "欢迎符合资格条件的投标人参加投标。" * 40)


async def insert_fixture(url: str, n: int) -> float:
    """Bulk-insert n announced projects (one section, one tender notice each) with Core."""
    from sqlalchemy import insert, text

    from tradesys.db.database import Database
    from tradesys.identity.models import Organisation, User
    from tradesys.procurement.models import Notice, Project, Section

    started = time.perf_counter()
    db = Database(url)
    now = datetime.now(UTC)
    deadline = now + timedelta(days=60)  # in the future: the scheduler has nothing to close
    try:
        async with db.transaction() as session:
            await session.execute(insert(Organisation.__table__), [
                {"id": 1, "name": "基准测试招标代理有限公司", "credit_code": "91350100BENCH0001X",
                 "created_at": now}])
            await session.execute(insert(User.__table__), [
                {"id": 1, "org_id": 1, "username": "bench", "display_name": "bench",
                 "password_hash": "!", "role": "agency", "active": True, "created_at": now}])
            for start in range(1, n + 1, 1000):
                ids = range(start, min(start + 1000, n + 1))
                await session.execute(insert(Project.__table__), [
                    {"id": i, "code": project_code(i), "name": project_name(i),
                     "trade_type": "works", "category": "works", "procedure": "open",
                     "region_code": REGIONS[i % 8], "content": "新建" + project_name(i),
                     "owner_name": f"第{i % 97 + 1}中学", "procurer_org_id": 1,
                     "agency_org_id": 1, "state": "announced", "created_by": 1,
                     "created_at": published_at(i)} for i in ids])
                await session.execute(insert(Section.__table__), [
                    {"id": i, "project_id": i, "code": f"{project_code(i)}001", "lot_no": 1,
                     "name": "施工", "content": "施工", "budget": 1000000, "ceiling_price": 950000,
                     "bid_security": 10000, "state": "tendering", "bid_deadline": deadline}
                    for i in ids])
                await session.execute(insert(Notice.__table__), [
                    {"id": i, "project_id": i, "kind": "tender", "title": notice_title(i),
                     "content": NOTICE_CONTENT, "published_at": published_at(i),
                     "published_by": 1, "doc_start": published_at(i),
                     "doc_end": published_at(i) + timedelta(days=7),
                     "clarification_deadline": deadline - timedelta(days=15),
                     "bid_deadline": deadline, "opening_place": "开标室一",
                     "consortium_allowed": False, "contact": "联系人 0591-00000000"}
                    for i in ids])
            if db.dialect == "postgresql":
                for table in ("organisations", "users", "projects", "sections", "notices"):
                    await session.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"))
        if db.dialect == "postgresql":
            async with db.engine.connect() as connection:
                await connection.execute(text("COMMIT"))
                await connection.execute(text("ANALYZE"))
    finally:
        await db.dispose()
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# The two servers, each started as `python bench/api.py _serve-app|_serve-bare …`.

UVICORN = {"host": "127.0.0.1", "workers": 1, "log_config": None, "access_log": False,
           "timeout_graceful_shutdown": 5}


def serve_app(port: int, url: str, data_dir: str) -> None:
    import uvicorn

    from tradesys.app import create_app
    from tradesys.ops.logging import configure_logging
    from tradesys.settings import Settings

    configure_logging()  # as `tradesys serve` does: one JSON line per request on stderr
    app = create_app(Settings(data_dir=Path(data_dir), database_url=url))
    uvicorn.run(app, port=port, **UVICORN)  # type: ignore[arg-type]


def bare_app() -> Any:
    """One JSON endpoint, no database, no middleware: a page of 50 notice-shaped items."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    rows = [(i, i, project_code(i), project_name(i), "tender", notice_title(i),
             published_at(i), BASE_TIME + timedelta(days=60)) for i in range(1, 10_001)]
    state = {"offset": 0}

    def iso(value: datetime) -> str:
        return value.isoformat().replace("+00:00", "Z")

    async def page(_request: Request) -> JSONResponse:
        start = state["offset"] = (state["offset"] + PAGE) % (len(rows) - PAGE)
        items = [
            {"id": a, "project_id": b, "project_code": c, "project_name": d, "kind": e,
             "title": f, "published_at": iso(g), "bid_deadline": iso(h)}
            for a, b, c, d, e, f, g, h in rows[start:start + PAGE]
        ]
        last = items[-1]
        raw = json.dumps([last["published_at"], last["id"]], separators=(",", ":")).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return JSONResponse({"items": items, "next_cursor": cursor})

    return Starlette(routes=[Route("/bare", page)])


def serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(), port=port, **UVICORN)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(args: list[str], log: Path, ready_path: str) -> Iterator[int]:
    port = free_port()
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args, "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT)
    try:
        wait_ready(port, ready_path, process, log)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(port: int, path: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server on port {port} not ready after 60 s")


# ---------------------------------------------------------------------------------------------
# Checking the notice list once, and collecting the page paths to load.

def walk_notices(port: int, n: int) -> tuple[list[str], int]:
    """Every page once via next_cursor; returns the page paths and the first page's size."""
    import httpx

    paths = [f"/api/v1/notices?limit={PAGE}"]
    seen: list[tuple[str, int]] = []
    first_size = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        while True:
            response = client.get(paths[-1])
            if response.status_code != 200:
                raise SystemExit(f"GET {paths[-1]}: {response.status_code} {response.text}")
            first_size = first_size or len(response.content)
            body = response.json()
            for item in body["items"]:
                if set(item) != NOTICE_FIELDS:
                    raise SystemExit(f"unexpected fields: {sorted(item)}")
                seen.append((item["published_at"], item["id"]))
            if body["next_cursor"] is None:
                break
            if len(paths) > n // PAGE + 2:
                raise SystemExit("the cursor walk does not end")
            paths.append(f"/api/v1/notices?limit={PAGE}&cursor={body['next_cursor']}")
    keys = [(datetime.fromisoformat(at), notice_id) for at, notice_id in seen]
    if len(keys) != n or len({k[1] for k in keys}) != n:
        raise SystemExit(f"walked {len(keys)} notices ({len(set(keys))} distinct), expected {n}")
    if any(a <= b for a, b in itertools.pairwise(keys)):
        raise SystemExit("the notice list is not strictly newest first by (published_at, id)")
    return paths, first_size


# ---------------------------------------------------------------------------------------------
# Load generators. Each reports requests, seconds, errors and latency percentiles.

@dataclass
class Load:
    rps: float
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    capped: bool = False  # stopped by --max-requests before the time was up: rate not valid


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; responses carry Content-Length (uvicorn's do)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.total = -1
        self.head = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.head < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head = end + 4
            match = re.search(rb"\r\ncontent-length:\s*(\d+)", bytes(self.buffer[:end]).lower())
            if match is None:
                self._fail(ConnectionError("response without Content-Length"))
                return
            self.total = self.head + int(match.group(1))
        if len(self.buffer) >= self.total:
            status = int(self.buffer[9:12])
            body = bytes(self.buffer[self.head:self.total])
            del self.buffer[:self.total]
            self.head = self.total = -1
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result((status, body))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"connection lost: {exc}"))

    async def get(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def _next_cursor(body: bytes) -> str | None:
    at = body.rfind(b'"next_cursor":')
    if at < 0 or body.startswith(b"null", at + 14):
        return None
    start = at + 15
    return body[start:body.index(b'"', start)].decode()


async def _python_load(port: int, paths: list[str], follow: bool, connections: int,
                       warmup: float, seconds: float, max_requests: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    host = f"127.0.0.1:{port}"

    def request(path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()

    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0, "sent": 0}
    begin = time.perf_counter() + warmup
    end = begin + seconds

    async def worker(k: int) -> None:
        _transport, conn = await loop.create_connection(_Connection, "127.0.0.1", port)
        path = paths[k * len(paths) // connections]
        try:
            while counts["sent"] < max_requests:
                counts["sent"] += 1
                started = time.perf_counter()
                if started >= end:
                    break
                status, body = await conn.get(request(path))
                finished = time.perf_counter()
                if started >= begin and finished <= end:
                    counts["requests"] += 1
                    latencies.append(finished - started)
                    if status != 200:
                        counts["errors"] += 1
                if follow:
                    cursor = _next_cursor(body)
                    path = paths[0] if cursor is None else f"{paths[0]}&cursor={cursor}"
        finally:
            _transport.close()

    await asyncio.gather(*(worker(k) for k in range(connections)))
    latencies.sort()

    def pick(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {"requests": counts["requests"], "seconds": seconds, "errors": counts["errors"],
            "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "capped": counts["sent"] >= max_requests}


def python_load(port: int, paths: list[str], follow: bool, opts: argparse.Namespace,
                work: Path) -> Load:
    spec = work / "load.json"
    spec.write_text(json.dumps({"port": port, "paths": paths, "follow": follow,
                                "connections": opts.connections, "warmup": opts.warmup,
                                "seconds": opts.seconds, "max_requests": opts.max_requests}))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_load", str(spec)],
                         capture_output=True, check=True,
                         timeout=opts.warmup + opts.seconds + 120)
    result = json.loads(out.stdout)
    return Load(result["requests"] / result["seconds"], result["requests"], result["seconds"],
                result["errors"], result["p50_ms"], result["p99_ms"], result["capped"])


WRK_SCRIPT = """
local paths = {%(paths)s}
local i = 0
local counter = 0
function setup(thread)
  thread:set("start", counter * math.floor(#paths / %(threads)d))
  counter = counter + 1
end
function init(args)
  i = tonumber(wrk.thread:get("start")) or 0
end
local n = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
response = function(status, headers, body)
  n = n + 1
  if n >= %(max_requests)d then wrk.thread:stop() end
end
"""


def _wrk_duration(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]
    return float(match.group(1)) * scale


def wrk_load(port: int, paths: list[str], opts: argparse.Namespace, work: Path) -> Load:
    threads = 1
    script = work / "paths.lua"
    script.write_text(WRK_SCRIPT % {
        "paths": ",".join(json.dumps(p) for p in paths), "threads": threads,
        "max_requests": max(1, opts.max_requests // threads)})
    base = ["wrk", f"-t{threads}", f"-c{opts.connections}", "--timeout", "10s",
            "-s", str(script)]
    url = f"http://127.0.0.1:{port}"
    subprocess.run([*base, f"-d{max(1, opts.warmup)}s", url], capture_output=True,
                   check=True, timeout=opts.warmup + 60)
    out = subprocess.run([*base, "--latency", f"-d{opts.seconds}s", url], capture_output=True,
                         text=True, check=True, timeout=opts.seconds + 60).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    seconds = re.search(r"requests in ([\d.]+\w+),", out).group(1)  # type: ignore[union-attr]
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses: (\d+)",
                    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        match = re.search(pattern, out)
        if match:
            errors += sum(int(g) for g in match.groups())
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    elapsed = _wrk_duration(seconds) / 1000
    return Load(requests / elapsed, requests, elapsed, errors,
                _wrk_duration(p50), _wrk_duration(p99), requests >= opts.max_requests)


# ---------------------------------------------------------------------------------------------


def servers() -> str:
    import importlib.util

    import uvicorn

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return (f"uvicorn {uvicorn.__version__} ({http}, {loop} loop), one process and one worker "
            "each, no uvicorn access log; the application logs one JSON line per request "
            "as `tradesys serve` does (to a file)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10, help="measured time per run")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured time before")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating runs of each server; the medians are reported")
    parser.add_argument("--max-requests", type=int, default=2_000_000,
                        help="upper bound on requests per run")
    parser.add_argument("--database", default="sqlite",
                        help="'sqlite' (a fresh file in a temporary folder) or a PostgreSQL URL "
                        "(postgresql+asyncpg://user@host:port/db): a fresh database is created "
                        "on that server (connecting to db to do so) and dropped afterwards")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--reference", action="store_true",
                        help="also load the app's /readyz (a read session with one trivial "
                        "query): the floor any database read starts from")
    opts = parser.parse_args(argv)
    if opts.notices < PAGE or opts.seconds <= 0 or opts.connections < 1 or opts.rounds < 1:
        parser.error("need --notices >= 50, --seconds > 0, --connections >= 1, --rounds >= 1")
    loadgen = opts.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "python"
    elif loadgen == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk), use --loadgen python")

    import httpx

    from tradesys.db.migrate import upgrade

    work = Path(tempfile.mkdtemp(prefix="tradesys-bench-"))
    database: ScratchDatabase | None = None
    try:
        try:
            database = ScratchDatabase.create(opts.database, work)
        except ValueError as error:
            parser.error(str(error))
        url, backend = database.url, database.label
        print(f"date:      {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        print(f"machine:   {machine()}")
        print(f"load avg:  {loadavg()} (before)")
        print(f"database:  {backend}")
        upgrade(url)
        took = asyncio.run(insert_fixture(url, opts.notices))
        print(f"fixture:   {opts.notices} announced projects, sections and notices bulk-inserted "
              f"with SQLAlchemy Core in {took:.1f} s (not through the API: the read path is "
              f"what is measured)")
        print(f"load:      {loadgen}, {opts.connections} keep-alive connections over loopback, "
              f"{opts.warmup:g} s warm-up + {opts.seconds:g} s measured per run, "
              f"at most {opts.max_requests} requests per run, {opts.rounds} round(s)")
        print(f"servers:   {servers()}")
        app_args = ["_serve-app", "--database", url, "--data-dir", str(work / "data")]
        results: dict[str, list[Load]] = {"bare": [], "notices": []}
        targets = [("bare", "bare /bare", ["/bare"]),
                   ("notices", "/api/v1/notices?limit=50", None)]
        if opts.reference:
            results["readyz"] = []
            targets.append(("readyz", "reference: app /readyz", ["/readyz"]))
        with server(app_args, work / "app.log", "/healthz") as app_port, \
                server(["_serve-bare"], work / "bare.log", "/bare") as bare_port:
            paths, app_size = walk_notices(app_port, opts.notices)
            bare_size = len(httpx.get(f"http://127.0.0.1:{bare_port}/bare").content)
            print(f"checked:   {len(paths)} pages via next_cursor, {opts.notices} distinct "
                  "notices, newest first by (published_at, id)")
            print(f"payload:   notice page {app_size} bytes, bare page {bare_size} bytes")
            print()
            print(f"{'run':<30}{'req/s':>8}{'requests':>10}{'errors':>8}{'p50 ms':>9}"
                  f"{'p99 ms':>9}")
            for round_no in range(1, opts.rounds + 1):
                for name, label, fixed in targets:
                    port = bare_port if name == "bare" else app_port
                    target = fixed or paths
                    if loadgen == "wrk":
                        load = wrk_load(port, target, opts, work)
                    else:
                        load = python_load(port, target, name == "notices", opts, work)
                    results[name].append(load)
                    print(f"{round_no}: {label:<27}{load.rps:>8.0f}{load.requests:>10}"
                          f"{load.errors:>8}{load.p50_ms:>9.2f}{load.p99_ms:>9.2f}"
                          f"{'  capped by --max-requests' if load.capped else ''}", flush=True)
        errors = sum(r.errors for rs in results.values() for r in rs)
        summary = {name: (statistics.median(r.rps for r in rs),
                          statistics.median(r.p50_ms for r in rs),
                          statistics.median(r.p99_ms for r in rs))
                   for name, rs in results.items()}
        ratio = summary["notices"][0] / summary["bare"][0] if summary["bare"][0] else float("nan")
        print()
        print(f"notice list  /api/v1/notices?limit=50 (+cursor): {summary['notices'][0]:8.0f} req/s"
              f"  p50 {summary['notices'][1]:.2f} ms  p99 {summary['notices'][2]:.2f} ms")
        print(f"bare Starlette JSON endpoint:                     {summary['bare'][0]:8.0f} req/s"
              f"  p50 {summary['bare'][1]:.2f} ms  p99 {summary['bare'][2]:.2f} ms")
        if opts.reference:
            floor = summary["readyz"][0] / summary["bare"][0] if summary["bare"][0] else 0.0
            print(f"reference:   /readyz (a read session with one trivial query, tiny body): "
                  f"{summary['readyz'][0]:.0f} req/s, {floor:.1%} of the bare rate")
        verdict = "met" if ratio >= TARGET else "NOT met"
        print(f"ratio:       {ratio:.1%} of the bare endpoint's rate "
              f"(target >= {TARGET:.0%}: {verdict}; medians of {opts.rounds} round(s))")
        print(f"load avg:    {loadavg()} (after)")
        status = 0
        if errors:
            print(f"errors:      {errors} non-200 or failed responses", file=sys.stderr)
            status = 1
        if any(r.capped for rs in results.values() for r in rs):
            print("capped:      a run reached --max-requests before its time was up, so its "
                  "rate is not valid: raise --max-requests or lower --seconds", file=sys.stderr)
            status = status or 2
        return status
    finally:
        if database is not None:
            database.drop()
        shutil.rmtree(work, ignore_errors=True)


def _sub(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    if command == "_load":
        spec = json.loads(Path(rest[0]).read_text())
        result = asyncio.run(_python_load(**spec))
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database")
    parser.add_argument("--data-dir")
    opts = parser.parse_args(rest)
    if command == "_serve-app":
        serve_app(opts.port, opts.database, opts.data_dir)
    else:
        serve_bare(opts.port)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        sys.exit(_sub(sys.argv[1:]))
    sys.exit(main())
