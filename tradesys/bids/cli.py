"""``tradesys bidder …``: the offline bidder tools (投标文件制作工具).

The parser lives in tradesys/cli.py; these functions are imported only when a bidder command
runs, so other commands do not load ``cryptography``. Nothing here prints a private key, a share
or plaintext: secrets go to files created with mode 0600, and only public facts go to stdout.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from tradesys.bids.errors import EnvelopeError

PASSWORD_ENV = "TRADESYS_KEY_PASSWORD"  # noqa: S105 (a variable name, not a password)


def _password(confirm: bool) -> bytes:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env.encode("utf-8")
    first = getpass.getpass("key password: ")
    if confirm and getpass.getpass("again: ") != first:
        raise EnvelopeError("password_mismatch", "两次输入的密码不一致 (the passwords differ)")
    return first.encode("utf-8")


def _write_secret(path: Path, data: bytes) -> None:
    """Creates ``path`` 0600, refusing to overwrite: a lost key file loses bids."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def public_key_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub")


def keygen(args: argparse.Namespace) -> int:
    from tradesys.bids.keys import (
        generate_private_key,
        key_id,
        make_backup,
        private_key_pem,
        public_key_text,
    )

    out = Path(args.out)
    pub_out = Path(args.public_out) if args.public_out else public_key_path(out)
    for path in (out, pub_out):
        if path.exists():
            raise EnvelopeError("exists", f"{path} 已存在，不覆盖 (exists; not overwritten)")
    password = _password(confirm=True)
    key = generate_private_key()
    if args.format == "browser-backup":
        data = json.dumps(make_backup(key, password), indent=2).encode() + b"\n"
    else:
        data = private_key_pem(key, password)
    _write_secret(out, data)
    text = public_key_text(key)
    pub_out.write_text(text + "\n", encoding="ascii")
    print(json.dumps({"private_key_file": str(out), "public_key_file": str(pub_out),
                      "public_key": text, "key_id": key_id(key)}, indent=2))
    return 0


def _bidder_public_key(args: argparse.Namespace) -> bytes:
    """``--bidder-key PUB`` or ``--key KEYFILE``: KEYFILE may be a public key file, a private
    key file with its ``.pub`` beside it, or (last resort) a private key file opened with the
    password."""
    from tradesys.bids.keys import load_private_key, load_public_key, public_key_bytes

    if args.bidder_key:
        return public_key_bytes(load_public_key(Path(args.bidder_key).read_bytes()))
    if not args.key:
        raise EnvelopeError("missing_key", "需要 --key 或 --bidder-key (give --key or "
                            "--bidder-key)")
    key_path = Path(args.key)
    data = key_path.read_bytes()
    if b"PRIVATE KEY" not in data and b'"ciphertext"' not in data:
        return public_key_bytes(load_public_key(data))
    beside = public_key_path(key_path)
    if beside.exists():
        return public_key_bytes(load_public_key(beside.read_bytes()))
    return public_key_bytes(load_private_key(data, _password(confirm=False)))


def seal(args: argparse.Namespace) -> int:
    from tradesys.bids.keys import key_id, load_public_key
    from tradesys.bids.seal import seal_file

    try:
        summary = json.loads(Path(args.summary).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise EnvelopeError("bad_summary", f"开标一览表无法读取 (cannot read the summary): "
                            f"{error}") from error
    bidder_pub = _bidder_public_key(args)
    opening_pub = load_public_key(Path(args.opening_key).read_bytes())
    out = Path(args.out)
    result = seal_file(Path(args.bid_file), out, section_code=args.section,
                       bidder_code=args.bidder, bidder_public_key=bidder_pub,
                       opening_public_key=opening_pub, summary=summary,
                       chunk_size=args.chunk_size)
    print(json.dumps({"envelope": str(out), "size": result.envelope_size,
                      "sha256": result.envelope_sha256, "section": args.section,
                      "bidder": args.bidder, "bidder_key_id": key_id(bidder_pub),
                      "opening_key_id": key_id(opening_pub)}, indent=2))
    return 0


def open_share(args: argparse.Namespace) -> int:
    """Unwraps the bidder's own share of an envelope into a 0600 file (for release in the hall)."""
    from tradesys.bids.encoding import b64u
    from tradesys.bids.envelope import ROLE_BIDDER
    from tradesys.bids.keys import load_private_key
    from tradesys.bids.open import read_header, unwrap_share

    with Path(args.envelope).open("rb") as source:
        header = read_header(source)
    key = load_private_key(Path(args.key).read_bytes(), _password(confirm=False))
    share = unwrap_share(header, ROLE_BIDDER, key)
    _write_secret(Path(args.out), (json.dumps({
        "format": "tradesys-bidder-share", "version": 1, "section": header.section_code,
        "bidder": header.bidder_code, "share": b64u(share)}) + "\n").encode())
    print(json.dumps({"share_file": args.out, "section": header.section_code,
                      "bidder": header.bidder_code}, indent=2))
    return 0


def submit(args: argparse.Namespace) -> int:
    """Upload a sealed envelope; write the signed receipt (回执) the server returns."""
    import httpx

    from tradesys.bids.upload_client import SubmitError, submit_envelope

    token = os.environ.get("TRADESYS_TOKEN") or args.token
    if not token:
        print("error: a bearer token is needed (TRADESYS_TOKEN or --token)", file=sys.stderr)
        return 2
    with httpx.Client(base_url=args.server, timeout=120,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        try:
            receipt = submit_envelope(client, args.section, Path(args.envelope),
                                      slice_bytes=args.slice_mib * 1024 * 1024)
        except SubmitError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    Path(args.out).write_bytes(receipt)
    document = json.loads(receipt)["receipt"]
    print(f"accepted: section {document['section_code']}, sha256 {document['envelope_sha256']},"
          f" received {document['received_at']}; receipt in {args.out}")
    return 0


def run(args: argparse.Namespace) -> int:
    commands = {"keygen": keygen, "seal": seal, "open-share": open_share, "submit": submit}
    try:
        return commands[args.bidder_command](args)
    except EnvelopeError as error:
        print(f"error [{error.code}]: {error.message}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {error.strerror}: {error.filename}", file=sys.stderr)
        return 2
