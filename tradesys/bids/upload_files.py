"""The file side of resumable uploads: append at an offset, hash while streaming, publish.

Memory stays bounded whatever the envelope's size: the body is written through one reused
1 MiB buffer, and SHA-256 is updated as the bytes pass. The running hash lives in this process;
after a restart it is rebuilt from the partial file once, on the next append or at completion.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tradesys.errors import Invalid
from tradesys.storage import FileStore, create_private, private_dir

BUFFER = 1024 * 1024


class UploadFiles:
    def __init__(self, root: Path, store: FileStore) -> None:
        self.root = root
        self.store = store
        self._hashes: dict[str, tuple[int, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def path(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.part"

    def lock(self, upload_id: str) -> asyncio.Lock:
        return self._locks.setdefault(upload_id, asyncio.Lock())

    def create(self, upload_id: str) -> None:
        private_dir(self.root)
        os.close(create_private(self.path(upload_id)))
        self._hashes[upload_id] = (0, hashlib.sha256())

    def _hasher_at(self, upload_id: str, offset: int) -> Any:
        cached = self._hashes.get(upload_id)
        if cached is not None and cached[0] == offset:
            return cached[1]
        hasher = hashlib.sha256()
        with self.path(upload_id).open("rb") as source:
            remaining = offset
            while remaining:
                block = source.read(min(BUFFER, remaining))
                if not block:
                    raise Invalid("upload_damaged", "上传文件不完整 (the partial upload is shorter "
                                  "than recorded)")
                hasher.update(block)
                remaining -= len(block)
        return hasher

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterator[bytes],
                     limit: int) -> int:
        """Write the body at ``offset`` (bytes past it are dropped first); returns the new
        offset. Refuses to grow past ``limit`` bytes."""
        hasher = await asyncio.to_thread(self._hasher_at, upload_id, offset)
        path = self.path(upload_id)
        fd = await asyncio.to_thread(os.open, path, os.O_WRONLY)
        buffer = bytearray()
        position = offset
        try:
            await asyncio.to_thread(os.ftruncate, fd, offset)
            await asyncio.to_thread(os.lseek, fd, offset, os.SEEK_SET)
            async for chunk in chunks:
                if position + len(buffer) + len(chunk) > limit:
                    raise Invalid("upload_too_large", "上传内容超过声明的大小 (the upload is "
                                  "larger than declared)")
                buffer += chunk
                if len(buffer) >= BUFFER:
                    await asyncio.to_thread(_write_all, fd, bytes(buffer))
                    hasher.update(buffer)
                    position += len(buffer)
                    buffer.clear()
            if buffer:
                await asyncio.to_thread(_write_all, fd, bytes(buffer))
                hasher.update(buffer)
                position += len(buffer)
        except BaseException:
            self._hashes.pop(upload_id, None)  # rebuilt from the file if the upload goes on
            await asyncio.to_thread(os.ftruncate, fd, offset)
            raise
        finally:
            await asyncio.to_thread(os.close, fd)
        self._hashes[upload_id] = (position, hasher)
        return position

    def head(self, upload_id: str, length: int) -> bytes:
        with self.path(upload_id).open("rb") as source:
            return source.read(length)

    async def digest(self, upload_id: str, size: int) -> str:
        hasher = await asyncio.to_thread(self._hasher_at, upload_id, size)
        return str(hasher.hexdigest())

    async def publish(self, upload_id: str, sha256: str) -> bool:
        """Link the finished envelope into the content-addressed bid store, keeping the partial
        file until the bid is committed. True if this created the stored file (so a failed
        commit may remove it again: no committed bid can refer to it)."""
        target = self.store.path_of(sha256)

        def link() -> bool:
            private_dir(target.parent)
            try:
                os.link(self.path(upload_id), target)
            except FileExistsError:
                return False
            return True

        return await asyncio.to_thread(link)

    async def unpublish(self, sha256: str) -> None:
        await asyncio.to_thread(self.store.path_of(sha256).unlink, missing_ok=True)

    def discard(self, upload_id: str) -> None:
        self.path(upload_id).unlink(missing_ok=True)
        self.forget(upload_id)

    def forget(self, upload_id: str) -> None:
        self._hashes.pop(upload_id, None)
        self._locks.pop(upload_id, None)


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked (a signal, a full disk): go on until all is written,
    so the file always holds exactly the bytes that were hashed."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
