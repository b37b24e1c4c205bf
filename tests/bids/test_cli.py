"""``tradesys bidder keygen | seal | open-share`` through a subprocess, as a bidder runs them."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.bids.conftest import SUMMARY
from tradesys.bids.encoding import unb64u
from tradesys.bids.envelope import ROLE_OPENING, parse_header
from tradesys.bids.keys import load_private_key, public_key_text
from tradesys.bids.open import combine, open_file, unwrap_share

PASSWORD = "投标密码 pw"


def tradesys(*args: str, cwd: Path, password: str = PASSWORD) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRADESYS_KEY_PASSWORD": password}
    return subprocess.run([sys.executable, "-m", "tradesys.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_keygen_seal_open_share(tmp_path: Path) -> None:
    made = tradesys("bidder", "keygen", "--out", "bidder.key", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    info = json.loads(made.stdout)
    assert stat.S_IMODE((tmp_path / "bidder.key").stat().st_mode) == 0o600
    pem = (tmp_path / "bidder.key").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert (tmp_path / "bidder.key.pub").read_text().strip() == info["public_key"]
    assert "PRIVATE" not in made.stdout and pem.decode() not in made.stdout
    assert tradesys("bidder", "keygen", "--out", "opening.key", cwd=tmp_path).returncode == 0

    (tmp_path / "bid.pdf").write_bytes(os.urandom(70_000))
    (tmp_path / "summary.json").write_text(json.dumps(SUMMARY, ensure_ascii=False))
    sealed = tradesys("bidder", "seal", "--section", "E3501000001001001", "--bidder",
                      "91350100MA2XYZ0012", "--key", "bidder.key", "--opening-key",
                      "opening.key.pub", "--summary", "summary.json", "--chunk-size", "16384",
                      "bid.pdf", "-o", "bid.env", cwd=tmp_path)
    assert sealed.returncode == 0, sealed.stderr
    report = json.loads(sealed.stdout)
    envelope = (tmp_path / "bid.env").read_bytes()
    assert report["size"] == len(envelope)
    header = parse_header(envelope)
    assert (header.section_code, header.bidder_code, header.chunk_size) == (
        "E3501000001001001", "91350100MA2XYZ0012", 16384)

    shared = tradesys("bidder", "open-share", "--key", "bidder.key", "bid.env", "-o",
                      "share.json", cwd=tmp_path)
    assert shared.returncode == 0, shared.stderr
    share_doc = json.loads((tmp_path / "share.json").read_text())
    assert share_doc["share"] not in shared.stdout
    assert stat.S_IMODE((tmp_path / "share.json").stat().st_mode) == 0o600
    opening_key = load_private_key((tmp_path / "opening.key").read_bytes(), PASSWORD.encode())
    opening_share = unwrap_share(header, ROLE_OPENING, opening_key)
    combine(header, unb64u(share_doc["share"]), opening_share)
    summary, _ = open_file(tmp_path / "bid.env", tmp_path / "out.pdf",
                           unb64u(share_doc["share"]), opening_share)
    assert summary == SUMMARY
    assert (tmp_path / "out.pdf").read_bytes() == (tmp_path / "bid.pdf").read_bytes()


def test_cli_errors_are_clear_and_leave_nothing(tmp_path: Path) -> None:
    assert tradesys("bidder", "keygen", "--out", "k", cwd=tmp_path).returncode == 0
    again = tradesys("bidder", "keygen", "--out", "k", cwd=tmp_path)
    assert again.returncode == 2 and "[exists]" in again.stderr
    same = tradesys("bidder", "seal", "--section", "S", "--bidder", "B", "--key", "k",
                    "--opening-key", "k.pub", "--summary", "k.pub", "k.pub", "-o", "out",
                    cwd=tmp_path)
    assert same.returncode == 2 and "[bad_summary]" in same.stderr
    assert tradesys("bidder", "keygen", "--out", "o", cwd=tmp_path).returncode == 0
    (tmp_path / "bid").write_bytes(b"bid")
    (tmp_path / "summary.json").write_text('{"price": 1.5}')
    bad = tradesys("bidder", "seal", "--section", "S", "--bidder", "B", "--key", "k",
                   "--opening-key", "o.pub", "--summary", "summary.json", "bid", "-o", "out",
                   cwd=tmp_path)
    assert bad.returncode == 2 and "[bad_summary]" in bad.stderr
    assert not (tmp_path / "out").exists()
    wrong = tradesys("bidder", "open-share", "--key", "k", "bid", "-o", "s", cwd=tmp_path,
                     password="wrong")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert not (tmp_path / "s").exists()


def _der(data: bytes, at: int = 0) -> tuple[int, bytes, int]:
    """One DER element at ``at``: (tag, content, offset after it). Written from X.690 here, not
    shared with the code under test."""
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[at:at + count], "big")
        at += count
    return tag, data[at:at + length], at + length


def _children(content: bytes) -> list[tuple[int, bytes]]:
    items, at = [], 0
    while at < len(content):
        tag, body, at = _der(content, at)
        items.append((tag, body))
    return items


def test_keygen_pem_uses_pbkdf2_sha256_with_600000_rounds(tmp_path: Path) -> None:
    # cryptography's BestAvailableEncryption left PKCS#8 at OpenSSL's 2,048 rounds.
    assert tradesys("bidder", "keygen", "--out", "k.pem", cwd=tmp_path).returncode == 0
    pem = (tmp_path / "k.pem").read_text()
    der = base64.b64decode("".join(pem.strip().splitlines()[1:-1]))
    tag, body, _ = _der(der)
    (_, algorithm), (data_tag, _encrypted) = _children(body)
    (_, pbes2_oid), (_, pbes2_params) = _children(algorithm)
    assert pbes2_oid == bytes.fromhex("2a864886f70d01050d")  # 1.2.840.113549.1.5.13 PBES2
    (_, kdf), (_, scheme) = _children(pbes2_params)
    (_, kdf_oid), (_, kdf_params) = _children(kdf)
    assert kdf_oid == bytes.fromhex("2a864886f70d01050c")  # PBKDF2
    params = _children(kdf_params)  # salt, iterationCount, keyLength (optional), prf
    assert len(params[0][1]) == 16
    assert int.from_bytes(params[1][1], "big") >= 600_000
    assert _children(params[-1][1])[0][1] == bytes.fromhex("2a864886f70d0209")  # hmacWithSHA256
    (_, cipher_oid), (_, iv) = _children(scheme)
    assert cipher_oid == bytes.fromhex("60864801650304012a")  # 2.16.840.1.101.3.4.1.42 AES-256-CBC
    assert len(iv) == 16 and data_tag == 0x04 and tag == 0x30
    # OpenSSL reads it with the password, and so does the loader the CLI uses.
    decrypted = subprocess.run(["openssl", "pkcs8", "-in", str(tmp_path / "k.pem"), "-passin",
                                f"pass:{PASSWORD}"], capture_output=True, check=True)
    assert decrypted.stdout.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = load_private_key(pem.encode(), PASSWORD.encode())
    assert public_key_text(key) == (tmp_path / "k.pem.pub").read_text().strip()
