"""A streaming writer of RFC 8493 BagIt 1.0 bags, written once.

Why our own writer rather than the ``bagit`` package's ``make_bag``: that one turns an existing
folder into a bag in place (reading every file a second time) and writes BagIt 0.97 unless told
otherwise; an archive is made from streams (stored bids, documents, the log) that should be
read once and never copied into a folder first. The ``bagit`` package still checks every bag
we write, in the tests (``bagit.Bag(path).validate()``, full, not ``fast``).

The bag: ``bagit.txt`` (``BagIt-Version: 1.0``, UTF-8), ``data/`` (the payload),
``manifest-sha256.txt`` and ``manifest-sha512.txt`` (one line per payload file, sorted by
path), ``bag-info.txt`` (the caller's fields, then ``Bagging-Date`` and ``Payload-Oxum``),
and ``tagmanifest-sha256.txt`` / ``tagmanifest-sha512.txt`` over the four tag files above.
Signing the tag manifest (so a bag is verifiable offline as ours) is for the archive builder.

Each payload file is read once, in chunks: SHA-256 is computed on the caller's thread while
SHA-512 runs on a second thread over the same chunk (``hashlib`` releases the GIL on large
buffers), and the writer holds at most one chunk, whatever the file's size.

**Written once.** The bag's folder is created exclusively (an existing folder or file is
refused, :class:`BagExists`); ``bagit.txt`` is written last, so a bag cut off half-way is no
bag to any reader; a failure inside ``with BagWriter(...)`` removes the folder.

**Paths** in ``data/`` are relative, ``/``-separated, without empty, ``.`` or ``..`` parts, and
without control characters, ``\\`` or ``%`` (RFC 8493 §2.1.3 would percent-encode CR, LF and
``%``; refusing them keeps every manifest line the path itself).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO

from tradesys.storage import create_private, private_dir

CHUNK = 1024 * 1024
ALGORITHMS = ("sha256", "sha512")
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
#: Labels the writer sets itself (RFC 8493 §2.2.2 reserved metadata it computes).
COMPUTED_LABELS = frozenset({"bagging-date", "payload-oxum"})


class BagExists(FileExistsError):
    """The bag's path is taken: a bag is written once, never over another."""


@dataclass(frozen=True)
class PayloadFile:
    path: str  # relative to the bag, "data/…"
    size: int
    sha256: str
    sha512: str


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError("a payload path is a non-empty string")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name) or "\\" in name or \
            "%" in name or "\u2028" in name or "\u2029" in name:
        raise ValueError(f"payload path {name!r} has a control character, '\\' or '%'")
    pure = PurePosixPath(name)
    parts = name.split("/")
    if pure.is_absolute() or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"payload path {name!r} must be relative, without empty, '.' or "
                         "'..' parts")
    if any(part != part.strip() for part in parts):
        raise ValueError(f"payload path {name!r} has a part with leading or trailing space")
    return "data/" + name


def _info_lines(info: Iterable[tuple[str, str]]) -> list[str]:
    lines = []
    for label, value in info:
        if (not label or ":" in label or label != label.strip()
                or any(unicodedata.category(ch) == "Cc" for ch in label + value)):
            raise ValueError(f"bag-info field {label!r} must be one line, its label without "
                             "':' or surrounding space")
        if label.lower() in COMPUTED_LABELS:
            raise ValueError(f"bag-info field {label!r} is computed by the writer")
        lines.append(f"{label}: {value}")
    return lines


def _chunks(source: BinaryIO | Iterable[bytes], chunk: int) -> Iterator[bytes]:
    read = getattr(source, "read", None)
    if read is not None:
        while True:
            piece = read(chunk)
            if not piece:
                return
            yield bytes(piece)
    else:
        for piece in source:  # type: ignore[union-attr]
            yield bytes(piece)


class BagWriter:
    """``with BagWriter(path, info) as bag: bag.add(name, stream) ...``; the bag is complete
    when the ``with`` block ends without an error (or after :meth:`finish`)."""

    def __init__(self, path: Path, info: Iterable[tuple[str, str]] = (), *,
                 bagging_date: date | None = None, chunk: int = CHUNK) -> None:
        self.path = Path(path)
        self._info = _info_lines(info)
        self._date = bagging_date or date.today()
        self._chunk = chunk
        self._files: dict[str, PayloadFile] = {}
        self._folded: set[str] = set()
        self._finished = False
        private_dir(self.path.parent)
        try:
            os.mkdir(self.path, 0o700)
        except FileExistsError:
            raise BagExists(f"{self.path} exists: a bag is written once") from None
        os.chmod(self.path, 0o700)
        self._sha512 = ThreadPoolExecutor(1, thread_name_prefix="bag-sha512")

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.finish()
        else:
            self.abort()

    @property
    def files(self) -> list[PayloadFile]:
        return [self._files[name] for name in sorted(self._files)]

    def add(self, name: str, source: BinaryIO | Iterable[bytes]) -> PayloadFile:
        """Streams ``source`` (a binary file or an iterable of byte chunks) into
        ``data/name``, hashing it on the way; returns its sizes and digests."""
        if self._finished:
            raise RuntimeError("the bag is finished")
        relative = _check_name(name)
        folded = unicodedata.normalize("NFC", relative).casefold()
        if relative in self._files or folded in self._folded:
            raise ValueError(f"{name!r} is already in the bag (or a name that differs only in "
                             "case or Unicode form)")
        target = self.path / relative
        for parent in reversed(target.relative_to(self.path).parents):
            folder = self.path / parent
            if str(PurePosixPath(parent)) in self._files or target.exists():
                raise ValueError(f"{name!r} would put a file where a folder is, or a folder "
                                 "where a file is")
            if not folder.exists():
                folder.mkdir(0o700)
                os.chmod(folder, 0o700)
        sha256, sha512 = hashlib.sha256(), hashlib.sha512()
        size = 0
        pending: Future[None] | None = None
        fd = create_private(target)
        try:
            with os.fdopen(fd, "wb") as out:
                for piece in _chunks(source, self._chunk):
                    if pending is not None:
                        pending.result()
                    pending = self._sha512.submit(sha512.update, piece)
                    sha256.update(piece)
                    out.write(piece)
                    size += len(piece)
                if pending is not None:
                    pending.result()
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        entry = PayloadFile(relative, size, sha256.hexdigest(), sha512.hexdigest())
        self._files[relative] = entry
        self._folded.add(folded)
        return entry

    def add_bytes(self, name: str, data: bytes) -> PayloadFile:
        return self.add(name, [data] if data else [])

    def _write_tag(self, name: str, data: bytes) -> None:
        fd = create_private(self.path / name)
        with os.fdopen(fd, "wb") as out:
            out.write(data)

    def finish(self, seal: Callable[[dict[str, bytes]], dict[str, bytes]] | None = None
               ) -> Path:
        """Writes the manifests, bag-info and tag manifests, then ``bagit.txt`` last.

        ``seal``, given every tag file written so far (tag manifests included), returns
        further tag files that no tag manifest lists, written before ``bagit.txt``: a detached
        signature over the tag manifest cannot be listed in the manifest it signs
        (RFC 8493 §2.2.1 says tag manifests SHOULD list the other tag files, not MUST)."""
        if self._finished:
            return self.path
        self._sha512.shutdown()
        tags: dict[str, bytes] = {}
        for algorithm in ALGORITHMS:
            lines = [f"{getattr(f, algorithm)}  {f.path}\n" for f in self.files]
            tags[f"manifest-{algorithm}.txt"] = "".join(lines).encode("utf-8")
        octets = sum(f.size for f in self._files.values())
        info = [*self._info, f"Bagging-Date: {self._date.isoformat()}",
                f"Payload-Oxum: {octets}.{len(self._files)}"]
        tags["bag-info.txt"] = ("\n".join(info) + "\n").encode("utf-8")
        for name, data in tags.items():
            self._write_tag(name, data)
        tags["bagit.txt"] = BAGIT_TXT
        listed = sorted(tags)
        for algorithm in ALGORITHMS:
            lines = [f"{hashlib.new(algorithm, tags[name]).hexdigest()}  {name}\n"
                     for name in listed]
            manifest = "".join(lines).encode("utf-8")
            self._write_tag(f"tagmanifest-{algorithm}.txt", manifest)
            tags[f"tagmanifest-{algorithm}.txt"] = manifest
        if seal is not None:
            for name, data in seal(dict(tags)).items():
                if "/" in name or name in tags or name.startswith(("manifest-", "tagmanifest-")):
                    raise ValueError(f"seal file {name!r} must be a new top-level tag file")
                self._write_tag(name, data)
        self._write_tag("bagit.txt", BAGIT_TXT)
        self._finished = True
        return self.path

    def abort(self) -> None:
        """Removes the half-written bag (it never had a ``bagit.txt``)."""
        self._sha512.shutdown()
        if not self._finished:
            shutil.rmtree(self.path, ignore_errors=True)
            self._finished = True
