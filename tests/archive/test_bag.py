"""The streaming BagIt writer: its bags pass the ``bagit`` package's full validation, and any
change to one (a byte, a file added, removed or renamed, a tag file) fails it."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import bagit
import pytest

from archive.bag import BagExists, BagWriter

BIG = 3 * 1024 * 1024 + 17  # several chunks, not a multiple of the chunk size


def _big() -> bytes:
    return hashlib.sha256(b"seed").digest() * (BIG // 32) + b"x" * (BIG % 32)


def _write(path: Path) -> BagWriter:
    with BagWriter(path, [("Source-Organization", "tradesys 电子招标投标交易平台"),
                          ("External-Identifier", "TS-2026-0001")],
                   bagging_date=date(2026, 3, 2), chunk=256 * 1024) as bag:
        bag.add("events/log.jsonl", io.BytesIO(b'{"seq":1}\n{"seq":2}\n'))
        bag.add("bids/第1标段/envelope one.bin", io.BytesIO(_big()))
        bag.add_bytes("empty.txt", b"")
        bag.add("chunks.bin", (bytes([i]) * 1000 for i in range(50)))
    return bag


def _validate(path: Path) -> bagit.Bag:
    bag = bagit.Bag(str(path))
    bag.validate()  # full: every file re-hashed with every algorithm, not ``fast``
    return bag


@pytest.fixture
def written(tmp_path: Path) -> Path:
    path = tmp_path / "bags" / "project-1"
    _write(path)
    return path


def test_the_bag_is_valid_bagit_1_0_with_sha256_and_sha512(written: Path) -> None:
    bag = _validate(written)
    assert bag.version_info == (1, 0)
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert (written / "bagit.txt").read_bytes() == (
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    assert bag.info["Payload-Oxum"] == f"{20 + BIG + 0 + 50_000}.4"
    assert bag.info["Bagging-Date"] == "2026-03-02"
    assert bag.info["Source-Organization"] == "tradesys 电子招标投标交易平台"
    assert sorted(bag.payload_files()) == sorted([
        "data/events/log.jsonl", "data/bids/第1标段/envelope one.bin", "data/empty.txt",
        "data/chunks.bin"])
    assert (written / "data/bids/第1标段/envelope one.bin").read_bytes() == _big()
    lines = (written / "manifest-sha512.txt").read_text(encoding="utf-8").splitlines()
    assert f"{hashlib.sha512(_big()).hexdigest()}  data/bids/第1标段/envelope one.bin" in lines
    tags = (written / "tagmanifest-sha256.txt").read_text().split()
    assert set(tags[1::2]) == {"bagit.txt", "bag-info.txt", "manifest-sha256.txt",
                               "manifest-sha512.txt"}
    for name in ("bagit.txt", "data/empty.txt"):
        assert stat.S_IMODE(os.stat(written / name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o700


def _flip_same_size(bag: Path) -> None:
    target = bag / "data/bids/第1标段/envelope one.bin"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))


def _edit_info(bag: Path) -> None:
    info = bag / "bag-info.txt"
    info.write_text(info.read_text().replace("TS-2026-0001", "TS-2026-0002"))


def _edit_manifest_consistently(bag: Path) -> None:
    """Changes a payload file and its manifest lines: the tag manifests catch it."""
    target = bag / "events/log.jsonl".join(("data/", ""))
    old = target.read_bytes()
    new = old.replace(b"2", b"3")
    target.write_bytes(new)
    for algorithm in ("sha256", "sha512"):
        manifest = bag / f"manifest-{algorithm}.txt"
        manifest.write_text(manifest.read_text().replace(
            hashlib.new(algorithm, old).hexdigest(), hashlib.new(algorithm, new).hexdigest()))


TAMPERING: dict[str, Callable[[Path], object]] = {
    "changed byte, same size": _flip_same_size,
    "appended byte": lambda b: (b / "data/empty.txt").write_bytes(b"\x00"),
    "added payload file": lambda b: (b / "data/extra.txt").write_bytes(b"extra"),
    "removed payload file": lambda b: (b / "data/chunks.bin").unlink(),
    "renamed payload file": lambda b: (b / "data/chunks.bin").rename(b / "data/chunks2.bin"),
    "moved into a folder": lambda b: (b / "data/empty.txt").rename(
        b / "data/events/empty.txt"),
    "edited bag-info": _edit_info,
    "payload and manifest edited together": _edit_manifest_consistently,
    "removed manifest": lambda b: (b / "manifest-sha512.txt").unlink(),
    "removed bagit.txt": lambda b: (b / "bagit.txt").unlink(),
}


@pytest.mark.parametrize("change", list(TAMPERING))
def test_any_change_fails_full_validation(written: Path, tmp_path: Path, change: str) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(written, copy)
    _validate(copy)
    TAMPERING[change](copy)
    with pytest.raises(bagit.BagError):
        _validate(copy)


def test_a_bag_is_written_once(written: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in written.rglob("*") if p.is_file()}
    with pytest.raises(BagExists):
        BagWriter(written)
    (tmp_path / "a-file").write_bytes(b"not a bag")
    with pytest.raises(BagExists):
        BagWriter(tmp_path / "a-file")
    assert {p: p.read_bytes() for p in written.rglob("*") if p.is_file()} == before
    assert (tmp_path / "a-file").read_bytes() == b"not a bag"
    _validate(written)


def test_a_failure_midway_leaves_no_bag(tmp_path: Path) -> None:
    def failing() -> Iterator[bytes]:
        yield b"part"
        raise OSError("the stored file went away")

    path = tmp_path / "broken"
    with pytest.raises(OSError, match="went away"), BagWriter(path) as bag:
        bag.add_bytes("a.txt", b"a")
        bag.add("b.bin", failing())
    assert not path.exists()


@pytest.mark.parametrize("name", [
    "", "/etc/passwd", "../escape", "a/../../b", "a//b", "./a", "a/", "a\nb", "a\rb", "a\x00b",
    "a%20b", "a\\b", " a", "a/b ", "a\u2028b",
])
def test_bad_payload_names_are_refused_and_change_nothing(tmp_path: Path, name: str) -> None:
    path = tmp_path / "bag"
    with BagWriter(path) as bag:
        bag.add_bytes("ok.txt", b"ok")
        with pytest.raises(ValueError):
            bag.add_bytes(name, b"x")
    assert sorted(_validate(path).payload_files()) == ["data/ok.txt"]
    assert not (tmp_path / "escape").exists()


def test_duplicates_and_file_folder_clashes_are_refused(tmp_path: Path) -> None:
    with BagWriter(tmp_path / "bag") as bag:
        bag.add_bytes("a/b.txt", b"1")
        for clash in ("a/b.txt", "A/B.txt", "a", "a/b.txt/c"):
            with pytest.raises(ValueError):
                bag.add_bytes(clash, b"2")
    assert sorted(_validate(tmp_path / "bag").payload_files()) == ["data/a/b.txt"]


@pytest.mark.parametrize("info", [[("Bad:Label", "x")], [("Label", "two\nlines")],
                                  [("Payload-Oxum", "1.1")], [("", "x")]])
def test_bad_bag_info_is_refused_before_anything_is_written(tmp_path: Path,
                                                            info: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError):
        BagWriter(tmp_path / "bag", info)
    assert not (tmp_path / "bag").exists()


def test_memory_stays_bounded_whatever_the_file_size(tmp_path: Path) -> None:
    total = 48 * 1024 * 1024
    piece = b"z" * (64 * 1024)

    def stream() -> Iterator[bytes]:
        for _ in range(total // len(piece)):
            yield piece

    tracemalloc.start()
    try:
        with BagWriter(tmp_path / "large", chunk=1024 * 1024) as bag:
            entry = bag.add("large.bin", stream())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert entry.size == total
    assert peak < 4 * 1024 * 1024, peak  # a few chunks, not the 48 MiB file
    digest = hashlib.sha256()
    for chunk in stream():
        digest.update(chunk)
    assert entry.sha256 == digest.hexdigest()
