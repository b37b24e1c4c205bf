"""Benchmark: building and verifying the archive of a project holding 1 GiB of bids, beside
sha256sum over the same bids.

    .venv/bin/python bench/archive.py [--size-mib 1024] [--bids 8] [--rounds 2]
                                      [--project-bidders 3] [--no-project] [--keep]

**The whole project** (issue 14's acceptance point), first: ``tradesys serve`` in a process of
its own (SQLite, scheduler passes an hour apart), through its HTTP API the demo's parties, a
project registered and announced; PROJECT_BIDDERS bidders (at most the demo's three) each seal
and upload a SIZE/N MiB random bid (bench/bids.py's ``upload``: slices, signed receipt
checked); the agency cancels the tender (终止), which ends the project. The server is stopped
and ``archive.builder.build_archive`` runs here, as the scheduler's job calls it, over the
same database and data folder, timed whole: the read transaction (records, the Merkle tree
over the log, the proofs), the RFC 3161 stamps, the bag with every envelope streamed in, the
``archives`` row and its event. Then ``verify_archive`` with the PKI checks (as ``tradesys
verify archive``). Baseline: ``sha256sum`` over the stored envelopes (the bytes the bag
holds). Peak growth: this process's VmHWM during each minus VmRSS before it.

**The bag writing alone**, second (the part that grows with the bids, isolated):

1. **Build**: the bag-writing phase of the builder, ``archive.builder._write``, exactly as
   ``build_archive`` runs it after its read transaction: BIDS random files of SIZE/BIDS MiB
   (stand-ins for sealed envelopes, which are indistinguishable from random), streamed from
   the page cache into a new bag (1 MiB chunks, SHA-256 on the calling thread and SHA-512 on a
   second one, one read per file), with the manifests, the signed tree head, the index and the
   seal. The database phase before it (collecting records, the tree, the proofs) reads rows,
   not bids, so it does not grow with the bids' size and is not timed here.
2. **Verify**: ``archive.verify.verify_archive`` on that bag (every file re-hashed with both
   algorithms in one read, the seal, the tree head, the index); it must report no failure.

Baseline: ``sha256sum`` over the same bid files (page cache warm, best of ROUNDS), as bench/
bids.py. Memory: this process's peak RSS growth during each phase (VmHWM reset through
``/proc/self/clear_refs`` before it, minus VmRSS just before it).

Prints MiB/s, the ratios and whether the targets hold: each ≥ 35 % of sha256sum's rate, with
≤ 64 MiB peak growth. Exit status 0 when the run completed (whether or not a target is met).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from archive import merkle  # noqa: E402
from archive.builder import ArchiveConfig, _Plan, _write  # noqa: E402
from archive.ending import ProjectEnding  # noqa: E402
from archive.records import Item  # noqa: E402
from archive.tree_head import TreeHead, sign_tree_head  # noqa: E402
from archive.verify import verify_archive  # noqa: E402
from bench.runs import MIB, proc_status, reset_peak, write_random_file  # noqa: E402
from tradesys.procurement.models import Project  # noqa: E402
from tradesys.procurement.rules import RuleBook  # noqa: E402
from tradesys.reporting.facts import ReportingSettings  # noqa: E402

RATIO_TARGET = 0.35
MEMORY_TARGET_MIB = 64


def sha256sum_seconds(files: list[Path]) -> float:
    started = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, files)], capture_output=True, check=True,
                   timeout=1200)
    return time.perf_counter() - started


def plan_for(files: list[Path], key: Ed25519PrivateKey, now: datetime) -> _Plan:
    project = Project(id=1, code="BENCH2026000001", name="基准测试项目", trade_type="works",
                      created_at=now)
    items = [Item(f"sections/001/bids/{n:03d}/envelope.bin", "bid_envelope",
                  f"投标文件（密封） 第{n}份", now, path, "BENCH2026000001001")
             for n, path in enumerate(files, start=1)]
    head = sign_tree_head(key, TreeHead("TS0000000001", 0, merkle.EMPTY_ROOT, now))
    metadata = {"log": {"events": 0, "tree_size": 0, "root_hash": merkle.EMPTY_ROOT.hex()}}
    return _Plan(project, ProjectEnding(project, []), 1, None, items, [], [], head.as_json(),
                 0, merkle.EMPTY_ROOT.hex(), metadata,
                 [("External-Identifier", project.code)])


def run_project(opts: argparse.Namespace, work: Path) -> int:
    """The whole project's archive (see the module docstring); prints its lines; exit status."""
    import asyncio
    import secrets

    import httpx

    from archive.builder import build_archive
    from bench.bids import SUMMARY, _check, announced, server, upload
    from contracts.timestamps import PkiEvidenceChecks
    from tradesys.app import build_archive_config, build_services
    from tradesys.bids.keys import PrivateKey
    from tradesys.bids.seal import seal_file
    from tradesys.clock import SystemClock
    from tradesys.db.migrate import upgrade
    from tradesys.demo.runner import bootstrap
    from tradesys.settings import Settings, default_sqlite_url

    data_dir = work / "project-data"
    data_dir.mkdir()
    url = default_sqlite_url(data_dir)
    upgrade(url)
    admin_name, admin_password = f"admin-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    asyncio.run(bootstrap(url, admin_name, admin_password))
    each = opts.size_mib * MIB // opts.project_bidders
    os.environ["TRADESYS_SCHEDULER_INTERVAL"] = "3600"  # the server must not archive it first
    with server(url, data_dir, work / "server.log", max(each * 2, 4 << 30)) as (port, pid), \
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
        state, scenario = announced(client, admin_name, admin_password, work)
        section = state.project["sections"][0]
        bidders = scenario.bidders()[:opts.project_bidders]
        if len(bidders) < opts.project_bidders:
            raise SystemExit(f"the demo's parties have {len(bidders)} bidders")
        for n, bidder in enumerate(bidders):
            info = _check("sealing", client.get(f"/api/v1/sections/{section['id']}/sealing",
                                                headers=bidder.headers()), 200)
            bid, envelope = work / f"bid-{n}.bin", work / f"bid-{n}.env"
            write_random_file(bid, each)
            assert isinstance(bidder.private_key, PrivateKey)
            seal_file(bid, envelope, digest=False, section_code=info["section_code"],
                      bidder_code=info["bidder_code"],
                      bidder_public_key=bidder.private_key.public_key(),
                      opening_public_key=info["opening_public_key"], summary=SUMMARY,
                      chunk_size=MIB)
            bid.unlink()
            upload(client, bidder.headers(), section["id"], envelope, 8 * MIB, pid)
            envelope.unlink()
        agency = scenario.party("agency")
        _check("cancel", client.post(f"/api/v1/projects/{state.project['id']}/cancel",
                                     headers=agency.headers(),
                                     json={"reason": "基准测试：终止招标以归档"}), 200)
    del os.environ["TRADESYS_SCHEDULER_INTERVAL"]
    stored = sorted(p for p in (data_dir / "bids").rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in stored)
    sha256sum_seconds(stored)  # warm the page cache, as for the build
    baseline = min(sha256sum_seconds(stored) for _ in range(opts.rounds))
    services = build_services(Settings(data_dir=data_dir, database_url=url), SystemClock())
    config = build_archive_config(services)
    builds, verifies, build_growth, verify_growth = [], [], 0, 0
    checks = PkiEvidenceChecks()
    for _ in range(opts.rounds):  # each round a new version, as a correction would be
        before = proc_status(os.getpid())["VmRSS"]
        reset_peak(os.getpid())
        started = time.perf_counter()
        built = asyncio.run(build_archive(services.db, services.clock, config,
                                          state.project["id"]))
        builds.append(time.perf_counter() - started)
        build_growth = max(build_growth, proc_status(os.getpid())["VmHWM"] - before)
        before = proc_status(os.getpid())["VmRSS"]
        reset_peak(os.getpid())
        started = time.perf_counter()
        report = verify_archive(built.path, checks=checks)
        verifies.append(time.perf_counter() - started)
        verify_growth = max(verify_growth, proc_status(os.getpid())["VmHWM"] - before)
        if not report.ok:
            print("verification failed:", *report.failures, sep="\n  ", file=sys.stderr)
            return 1
        shutil.rmtree(built.path)
    asyncio.run(services.db.dispose())
    print(f"whole project: {len(stored)} stored bids, {total / MIB:.0f} MiB, cancelled, "
          f"archived {opts.rounds} times (versions 1–{opts.rounds}); "
          f"{built.payload_files} payload files, best of {opts.rounds}")
    _report(total, baseline, min(builds), build_growth, min(verifies), verify_growth)
    return 0


def _report(total: int, baseline: float, build: float, build_growth: int, verify: float,
            verify_growth: int) -> None:
    rate = {name: total / MIB / seconds for name, seconds in (
        ("sha256sum", baseline), ("build", build), ("verify", verify))}
    print(f"  sha256sum          {rate['sha256sum']:8.1f} MiB/s")
    for name, growth in (("build", build_growth), ("verify", verify_growth)):
        ratio = rate[name] / rate["sha256sum"]
        met = ratio >= RATIO_TARGET and growth <= MEMORY_TARGET_MIB * MIB
        print(f"  {name:18} {rate[name]:8.1f} MiB/s  {ratio:6.1%} of sha256sum  "
              f"peak growth {growth / MIB:5.1f} MiB  "
              f"target (≥ {RATIO_TARGET:.0%}, ≤ {MEMORY_TARGET_MIB} MiB) "
              f"{'met' if met else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--bids", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--project-bidders", type=int, default=3)
    parser.add_argument("--no-project", action="store_true",
                        help="only the bag writing, without the whole project")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    opts = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    try:
        if not opts.no_project and run_project(opts, work):
            return 1
        size = opts.size_mib * MIB // opts.bids
        files = [work / f"bid-{n}.bin" for n in range(opts.bids)]
        for path in files:
            write_random_file(path, size)
        total = size * opts.bids
        sha256sum_seconds(files)  # warm the page cache
        baseline = min(sha256sum_seconds(files) for _ in range(opts.rounds))
        key = Ed25519PrivateKey.generate()
        config = ArchiveConfig(work, "TS0000000001", key, ReportingSettings(
            platform_code="TS0000000001", pub_service_plat_code="", ocid_prefix="ocds-bench",
            public_base_url="", publisher_name="bench"), RuleBook())
        now = datetime.now(UTC)
        builds, verifies, build_growth, verify_growth = [], [], 0, 0
        for round_ in range(opts.rounds):
            bag = work / f"bag-{round_}"
            before = proc_status(os.getpid())["VmRSS"]
            reset_peak(os.getpid())
            started = time.perf_counter()
            _write(plan_for(files, key, now), config, bag, now)
            builds.append(time.perf_counter() - started)
            build_growth = max(build_growth, proc_status(os.getpid())["VmHWM"] - before)
            before = proc_status(os.getpid())["VmRSS"]
            reset_peak(os.getpid())
            started = time.perf_counter()
            report = verify_archive(bag)
            verifies.append(time.perf_counter() - started)
            verify_growth = max(verify_growth, proc_status(os.getpid())["VmHWM"] - before)
            if not report.ok:
                print("verification failed:", *report.failures, sep="\n  ", file=sys.stderr)
                return 1
            shutil.rmtree(bag)
        print(f"bag writing alone: {opts.bids} bids, {total / MIB:.0f} MiB, best of "
              f"{opts.rounds}")
        _report(total, baseline, min(builds), build_growth, min(verifies), verify_growth)
        return 0
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
