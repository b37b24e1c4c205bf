"""Benchmark: writing and verifying an archive holding 1 GiB of bids, beside sha256sum.

    .venv/bin/python bench/archive.py [--size-mib 1024] [--bids 8] [--rounds 2] [--keep]

What it measures (issue 14's acceptance point, the part that grows with the bids):

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--bids", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    opts = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    try:
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
        rate = {name: total / MIB / seconds for name, seconds in (
            ("sha256sum", baseline), ("build", min(builds)), ("verify", min(verifies)))}
        print(f"archive of {opts.bids} bids, {total / MIB:.0f} MiB, best of {opts.rounds}")
        print(f"  sha256sum          {rate['sha256sum']:8.1f} MiB/s")
        for name, growth in (("build", build_growth), ("verify", verify_growth)):
            ratio = rate[name] / rate["sha256sum"]
            met = ratio >= RATIO_TARGET and growth <= MEMORY_TARGET_MIB * MIB
            print(f"  {name:18} {rate[name]:8.1f} MiB/s  {ratio:6.1%} of sha256sum  "
                  f"peak growth {growth / MIB:5.1f} MiB  "
                  f"target (≥ {RATIO_TARGET:.0%}, ≤ {MEMORY_TARGET_MIB} MiB) "
                  f"{'met' if met else 'NOT met'}")
        return 0
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
