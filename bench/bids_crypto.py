"""Benchmark: sealing and opening throughput of tradesys.bids beside raw AES-256-GCM.

    .venv/bin/python bench/bids_crypto.py [--mib 256] [--chunk-size 1048576] [--rounds 3]

In one run: a MIB-sized bid file in a temp folder (page cache, so disk speed is not measured),
sealed with ``seal_file`` and opened with ``decrypt`` into a counting writer, each with and
without the SHA-256 pass; beside them
``openssl speed -evp aes-256-gcm -bytes 16384`` (the raw baseline of issue 3) and a bare
``AESGCM.encrypt`` loop in Python that allocates a new buffer per chunk. Prints MiB/s and the
ratios. Target (issue 3): opening ≥ 40 % of the raw AES-GCM rate. Best of ``--rounds``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tradesys.bids.envelope import ROLE_BIDDER, ROLE_OPENING
from tradesys.bids.keys import generate_private_key, public_key_bytes
from tradesys.bids.open import combine, decrypt, read_header, unwrap_share
from tradesys.bids.seal import seal_file

MIB = 1 << 20
SUMMARY = {"price": "1.00", "currency": "CNY", "duration_days": 1, "quality": "合格",
           "project_manager": "bench"}


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def write(self, data: bytes | memoryview) -> int:
        self.n += len(data)
        return len(data)


def openssl_rate() -> float:
    """MiB/s of ``openssl speed -evp aes-256-gcm -bytes 16384`` (its output is in 1000s of B/s)."""
    out = subprocess.run(["openssl", "speed", "-evp", "aes-256-gcm", "-bytes", "16384",
                          "-seconds", "3"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"AES-256-GCM\s+([\d.]+)k", out)
    if not match:
        raise SystemExit(f"cannot parse openssl speed output:\n{out}")
    return float(match.group(1)) * 1000 / MIB


def best(rounds: int, run) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--chunk-size", type=int, default=MIB)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bidder, opening = generate_private_key(), generate_private_key()
    with tempfile.TemporaryDirectory(prefix="bench-bids-") as tmp:
        bid, sealed = Path(tmp) / "bid.bin", Path(tmp) / "bid.env"
        block = os.urandom(MIB)
        with bid.open("wb") as handle:
            for _ in range(args.mib):
                handle.write(block)
        size = args.mib * MIB

        def do_seal(digest: bool = True) -> None:
            seal_file(bid, sealed, digest=digest, section_code="BENCH", bidder_code="BENCH",
                      bidder_public_key=public_key_bytes(bidder),
                      opening_public_key=public_key_bytes(opening), summary=SUMMARY,
                      chunk_size=args.chunk_size)

        seal_nohash_s = best(args.rounds, lambda: do_seal(False))
        seal_s = best(args.rounds, do_seal)
        with sealed.open("rb") as source:
            header = read_header(source)
        key = combine(header, unwrap_share(header, ROLE_BIDDER, bidder),
                      unwrap_share(header, ROLE_OPENING, opening))

        def do_open(digest: bool = False) -> None:
            with sealed.open("rb") as source:
                read_header(source)
                out = Counter()
                decrypt(header, key, source, out, digest=digest)
                assert out.n == size

        open_s = best(args.rounds, do_open)
        open_hash_s = best(args.rounds, lambda: do_open(True))

        aead = AESGCM(os.urandom(32))

        def do_alloc() -> None:
            for i in range(args.mib * MIB // args.chunk_size):
                aead.encrypt(i.to_bytes(12, "big"), block[: args.chunk_size], b"")

        alloc_s = best(args.rounds, do_alloc)
    raw = openssl_rate()
    seal_rate, open_rate, alloc_rate = (args.mib / seal_s, args.mib / open_s, args.mib / alloc_s)
    seal_nohash, open_hash = args.mib / seal_nohash_s, args.mib / open_hash_s
    print(f"file {args.mib} MiB, chunk {args.chunk_size // 1024} KiB, best of {args.rounds}")
    print(f"openssl aes-256-gcm 16 KiB     {raw:9.0f} MiB/s  (raw baseline)")
    print(f"AESGCM.encrypt, new buffers    {alloc_rate:9.0f} MiB/s  {alloc_rate / raw:6.1%} of raw")
    print(f"seal (file → file)             {seal_nohash:9.0f} MiB/s  "
          f"{seal_nohash / raw:6.1%} of raw")
    print(f"seal (file → file, + SHA-256)  {seal_rate:9.0f} MiB/s  {seal_rate / raw:6.1%} of raw")
    print(f"open (file → counter, SHA-256) {open_hash:9.0f} MiB/s  {open_hash / raw:6.1%} of raw")
    print(f"open (file → counter)          {open_rate:9.0f} MiB/s  {open_rate / raw:6.1%} of raw"
          f"  (target ≥ 40%: {'met' if open_rate / raw >= 0.4 else 'NOT met'})")


if __name__ == "__main__":
    main()
