"""Content-addressed file storage under the data directory.

Files are written to a temporary name while their SHA-256 is computed, then renamed to
``<sha256[:2]>/<sha256>``: a partial upload never appears under a real name, and the same file
uploaded twice is stored once.

Everything under the data directory is private to the service account: folders are made 0700
and files 0600 whatever the process umask (:func:`private_dir`, :func:`create_private`), since
they hold sealed and opened bids, the database with password and token hashes, and keys.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tradesys.errors import Invalid

CHUNK = 1024 * 1024
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """``mkdir -p`` where every folder this call creates is 0700 (set after ``mkdir``, so the
    umask cannot widen it). Folders that already exist are left as the operator made them."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made meanwhile by another writer: theirs is private too
            continue
        os.chmod(folder, PRIVATE_DIR)
    return path


def create_private(path: Path, *, exclusive: bool = True) -> int:
    """Opens ``path`` for writing as a new 0600 file (``fchmod`` after ``open``, umask-proof)
    and returns the descriptor. ``exclusive=False`` also accepts (and truncates) an existing
    file, which keeps its mode."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    existed = not exclusive and path.exists()
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
    if not existed:
        os.fchmod(fd, PRIVATE_FILE)
    return fd


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
            raise ValueError("not a SHA-256 digest")
        return self.root / sha256[:2] / sha256

    async def put_stream(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> StoredFile:
        private_dir(self.root)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise Invalid(
                            "file_too_large",
                            f"文件超过 {max_bytes} 字节上限 (the file exceeds the "
                            f"{max_bytes}-byte limit)",
                        )
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
            if size == 0:
                raise Invalid("empty_file", "文件为空 (the file is empty)")
            sha = digest.hexdigest()
            await asyncio.to_thread(self._publish, tmp_name, sha)
            return StoredFile(sha, size)
        except BaseException:
            await asyncio.to_thread(_remove, tmp_name)
            raise

    def _publish(self, tmp_name: str, sha: str) -> None:
        final = self.path_of(sha)
        private_dir(final.parent)
        os.replace(tmp_name, final)

    def open(self, sha256: str) -> Path:
        return self.path_of(sha256)


def _remove(name: str) -> None:
    Path(name).unlink(missing_ok=True)
