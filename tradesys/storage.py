"""Content-addressed file storage under the data directory.

Files are written to a temporary name while their SHA-256 is computed, then renamed to
``<sha256[:2]>/<sha256>``: a partial upload never appears under a real name, and the same file
uploaded twice is stored once.
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
        self.root.mkdir(parents=True, exist_ok=True)
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
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_name, final)

    def open(self, sha256: str) -> Path:
        return self.path_of(sha256)


def _remove(name: str) -> None:
    Path(name).unlink(missing_ok=True)
