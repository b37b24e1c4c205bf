"""What every benchmark run needs around it: a description of the machine and its load (the
figures mean little without them), a scratch database that is gone afterwards, large input
files, and a process's memory figures."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import uuid
from dataclasses import dataclass
from pathlib import Path


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {total_kib / (1 << 20):.0f} GiB"
    return (f"{os.cpu_count()} cores ({model}){mem}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def _pg_admin(url: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.rpartition("/")
    query = "?" + tail.split("?", 1)[1] if "?" in tail else ""
    return f"{head}/{name}{query}"


@dataclass(frozen=True)
class ScratchDatabase:
    """A fresh database for one run: a SQLite file in the run's folder, or a new database on
    the PostgreSQL server that ``--database`` names (dropped by :meth:`drop`)."""

    url: str
    label: str
    admin_url: str | None = None
    name: str = ""

    @classmethod
    def create(cls, spec: str, work: Path) -> ScratchDatabase:
        if spec == "sqlite":
            return cls(f"sqlite+aiosqlite:///{work / 'bench.db'}",
                       "SQLite (aiosqlite, WAL), fresh file")
        if spec.startswith("postgresql"):
            name = f"tradesys_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(_pg_admin(spec, f'CREATE DATABASE "{name}"'))
            return cls(_with_database(spec, name),
                       f"PostgreSQL (asyncpg), fresh database {name}", spec, name)
        raise ValueError("--database must be 'sqlite' or a postgresql+asyncpg:// URL")

    def drop(self) -> None:
        if self.admin_url is not None:
            asyncio.run(_pg_admin(self.admin_url,
                                  f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


MIB = 1 << 20


def write_random_file(path: Path, size: int) -> None:
    """Random-looking content without paying os.urandom for every byte (it is encrypted
    anyway: the envelope is indistinguishable from random whatever the plaintext)."""
    block = os.urandom(16 * MIB)
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            piece = block[: min(len(block), remaining)]
            handle.write(piece)
            remaining -= len(piece)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM … of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Vm") and line.endswith(" kB"):
            name, value = line.split(":", 1)
            values[name] = int(value.split()[0]) * 1024
    return values


def reset_peak(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux ≥ 4.0: ``echo 5 > /proc/PID/clear_refs``)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
