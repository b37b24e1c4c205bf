"""The ``tradesys`` command line."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tradesys.demo.duration import DEFAULT as DEMO_OPENING_IN
from tradesys.demo.duration import parse_opening_in
from tradesys.reporting.cli import add_platform_parsers
from tradesys.settings import Settings

if TYPE_CHECKING:
    from archive.verify_pki import PkiChecks


def port_number(text: str) -> int:
    """A TCP port option: ASCII decimal, 0–65535 (``int()`` would take ``'²'`` or ``'+1'``)."""
    if not (text.isascii() and text.isdecimal()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0–65535): {text!r}")
    return int(text)


def _settings(args: argparse.Namespace) -> Settings:
    url = getattr(args, "database", None) or ""
    return Settings(database_url=url)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from tradesys.db.migrate import upgrade

    upgrade(_settings(args).database_url)
    print("database is at the latest schema")
    return 0


def cmd_verify_log(args: argparse.Namespace) -> int:
    from tradesys.db.database import Database
    from tradesys.events.verify import verify_chain

    async def run() -> int:
        db = Database(_settings(args).database_url, null_pool=True)
        try:
            async with db.reading() as session:
                report = await verify_chain(session)
        finally:
            await db.dispose()
        if report.ok:
            print(f"ok: {report.checked} events, chain intact")
            return 0
        print(f"BROKEN at event {report.bad_seq}: {report.reason}", file=sys.stderr)
        return 1

    return asyncio.run(run())


def cmd_verify_draw(args: argparse.Namespace) -> int:
    from tradesys.evaluation.verify import run

    code, line = asyncio.run(run(_settings(args).database_url, args.section))
    print(line, file=sys.stdout if code == 0 else sys.stderr)
    return code


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    from tradesys.bids.receipts import verify_receipt_file
    from tradesys.signatures import load_or_create_key, load_public_pem

    pinned = None
    if args.key:
        pinned = load_public_pem(Path(args.key).read_bytes())
    elif Settings().receipt_key_file.exists():
        pinned = load_or_create_key(Settings().receipt_key_file).public_key()
    else:
        print("warning: no platform key pinned (--key): checking against the key in the file",
              file=sys.stderr)
    genuine, reason = verify_receipt_file(Path(args.file).read_bytes(), pinned)
    if genuine:
        print(f"ok: {reason}")
        return 0
    print(f"NOT GENUINE: {reason}", file=sys.stderr)
    return 1


def cmd_verify_notice(args: argparse.Namespace) -> int:
    """Exit 0 for a genuine notice, 1 for any edit or a wrong key, 2 when the key or a file
    cannot be read (nothing was checked)."""
    from tradesys.documents.notices import verify_notice
    from tradesys.signatures import load_or_create_key, load_public_pem

    try:
        if args.key:
            key = load_public_pem(Path(args.key).read_bytes())
        elif Settings().receipt_key_file.exists():
            key = load_or_create_key(Settings().receipt_key_file).public_key()
        else:
            print("no platform key: pass --key (the PEM from /api/v1/receipts/key)",
                  file=sys.stderr)
            return 2
        data = Path(args.file).read_bytes()
        raw_signature = Path(args.signature).read_bytes()
    except (OSError, ValueError) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    try:
        signature = raw_signature.decode("ascii")
    except UnicodeDecodeError:
        signature = ""
    genuine, reason = verify_notice(data, signature, key)
    if genuine:
        print(f"ok: {reason}")
        return 0
    print(f"NOT GENUINE: {reason}", file=sys.stderr)
    return 1


def cmd_admin_create(args: argparse.Namespace) -> int:
    from tradesys.clock import SystemClock
    from tradesys.db.database import Database
    from tradesys.errors import DomainError
    from tradesys.identity.service import bootstrap_admin

    password = os.environ.get("TRADESYS_ADMIN_PASSWORD") or getpass.getpass("password: ")

    async def run() -> int:
        db = Database(_settings(args).database_url, null_pool=True)
        try:
            async with db.transaction() as session:
                await bootstrap_admin(session, org_name=args.org_name,
                                      credit_code=args.credit_code, username=args.username,
                                      password=password, at=SystemClock().now())
        except DomainError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 2
        finally:
            await db.dispose()
        print(f"admin {args.username} created")
        return 0

    return asyncio.run(run())


def cmd_demo(args: argparse.Namespace) -> int:
    from tradesys.demo.runner import run_demo

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="tradesys-demo-"))
    summary = run_demo(out, args.database)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        state = "ok" if summary["ok"] else "FAILED"
        print(f"demo {state}: {' → '.join(summary['steps'])}")
        if not summary["ok"]:
            print(summary.get("error") or summary.get("log"), file=sys.stderr)
        else:
            print(f"artifacts in {out.resolve()}")
    return 0 if summary["ok"] else 1


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from tradesys.app import create_app
    from tradesys.db.migrate import upgrade
    from tradesys.ops.listeners import ListenError, bind_tcp
    from tradesys.ops.logging import configure_logging

    settings = _settings(args)
    run_receiver = not settings.platform_url and args.receiver_port
    try:
        listener = bind_tcp(args.host, args.port, option="--port")
        receiver_socket = (bind_tcp("127.0.0.1", args.receiver_port, option="--receiver-port")
                           if run_receiver else None)
    except ListenError as error:
        print(f"tradesys serve: {error}", file=sys.stderr)
        return 2
    configure_logging()
    from tradesys.settings import WEAK_ARGON2, argon2_parameters, weak_argon2

    if weak_argon2(argon2_parameters()):
        print(f"tradesys serve: warning: TRADESYS_ARGON2_* are below t={WEAK_ARGON2.time_cost}, "
              f"{WEAK_ARGON2.memory_kib // 1024} MiB: password hashes are cheap to guess (a "
              "setting for test suites only)", file=sys.stderr)
    if args.migrate or args.demo:
        upgrade(settings.database_url)
    if args.demo:
        from tradesys.demo.seed import ensure_demo_tender

        credentials = ensure_demo_tender(settings, opening_in=args.demo_opening_in)
        print(f"demo tender loaded; accounts in {credentials}", file=sys.stderr)
    receiver = None
    if receiver_socket is not None:
        # The embedded default reports to a reference public service platform of its own.
        from dataclasses import replace

        from tradesys.demo.server import InProcessServer
        from tradesys.receiver.app import create_receiver_app
        from tradesys.signatures import load_or_create_key

        receiver = InProcessServer(create_receiver_app(
            f"sqlite+aiosqlite:///{(settings.data_dir / 'receiver.db').resolve()}",
            platform_code=settings.pub_service_plat_code,
            trusted={settings.platform_code:
                     load_or_create_key(settings.report_key_file).public_key()},
        ), sock=receiver_socket).__enter__()
        settings = replace(settings, platform_url=f"{receiver.url}/reports")
        print(f"reference public service platform at {receiver.url}/reports", file=sys.stderr)
    from tradesys.ops.uvicorn_ws import WS_OPTIONS

    app = create_app(settings)
    tune_garbage_collector()
    config = uvicorn.Config(app, host=args.host, port=args.port, log_config=None,
                            access_log=False, timeout_graceful_shutdown=10, **WS_OPTIONS)
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        if receiver is not None:
            receiver.__exit__(None, None, None)
    return 0


def tune_garbage_collector() -> None:
    """A server holds many long-lived objects (thousands of hall connections); with the default
    thresholds full collections of all of them come every few broadcasts and each stalls every
    room for up to a second (bench/hall.py, docs/performance.md). What exists at start is
    frozen out of the collector and collections are made rarer: the server allocates few
    short-lived cycles, most garbage is freed by reference counting."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def cmd_bidder(args: argparse.Namespace) -> int:
    from tradesys.bids.cli import run

    return run(args)


def add_bidder_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``tradesys bidder keygen|seal|open-share|submit`` (docs/envelope.md §11)."""
    bidder = sub.add_parser("bidder", help="bidder tools: keys, offline sealing").add_subparsers(
        dest="bidder_command", required=True)
    keygen = bidder.add_parser("keygen", help="make an encryption key pair (password from "
                               "TRADESYS_KEY_PASSWORD or a prompt)")
    keygen.add_argument("--out", required=True, help="private key file (created 0600)")
    keygen.add_argument("--public-out", help="public key file (default: OUT.pub)")
    keygen.add_argument("--format", choices=["pkcs8", "browser-backup"], default="pkcs8")
    seal = bidder.add_parser("seal", help="seal a bid file offline")
    seal.add_argument("--section", required=True, help="the section code (标段编号)")
    seal.add_argument("--bidder", required=True, help="the bidder's credit code")
    seal.add_argument("--key", help="the bidder's key file (public, or private with .pub)")
    seal.add_argument("--bidder-key", help="the bidder's public key file")
    seal.add_argument("--opening-key", required=True, help="the section's opening public key "
                      "file (bidder submit will fetch it from the server)")
    seal.add_argument("--summary", required=True, help="bid summary JSON (开标一览表)")
    seal.add_argument("--chunk-size", type=int, default=1 << 20)
    seal.add_argument("bid_file")
    seal.add_argument("-o", "--out", required=True)
    share = bidder.add_parser("open-share", help="unwrap your share of an envelope for release")
    share.add_argument("--key", required=True, help="your private key file")
    share.add_argument("envelope")
    share.add_argument("-o", "--out", required=True, help="share file (created 0600)")
    submit = bidder.add_parser("submit", help="upload a sealed envelope; save the receipt")
    submit.add_argument("--server", default="http://127.0.0.1:8000")
    submit.add_argument("--token", help="bearer token (better: TRADESYS_TOKEN)")
    submit.add_argument("--section", type=int, required=True, help="the section id")
    submit.add_argument("--slice-mib", type=int, default=8, help="upload slice size")
    submit.add_argument("envelope")
    submit.add_argument("-o", "--out", required=True, help="receipt file")
    for parser in (keygen, seal, share, submit):
        parser.set_defaults(func=cmd_bidder)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradesys",
                                     description="电子招标投标交易平台 tradesys")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_database(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database", help="database URL (default: TRADESYS_DATABASE_URL or "
                       "the embedded SQLite file under ./var/)")
        return p

    serve = with_database(sub.add_parser("serve", help="serve the UI and API"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_number, default=8000,
                       help="the UI and API port (default 8000)")
    serve.add_argument("--migrate", action="store_true", help="upgrade the schema first")
    serve.add_argument("--receiver-port", type=port_number, default=8001,
                       help="when no TRADESYS_PLATFORM_URL is set, run the reference "
                       "platform receiver on this loopback port (0: none)")
    serve.add_argument("--demo", action="store_true",
                       help="upgrade the schema and load a demo tender if none is loaded")
    serve.add_argument("--demo-opening-in", type=parse_opening_in, default=DEMO_OPENING_IN,
                       metavar="DURATION", help="with --demo: the watchable demo tender's bid "
                       "deadline (its opening) this long after the first start: 90s, 5m, 1h "
                       "(default 5m)")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    with_database(db.add_parser("upgrade", help="apply migrations")).set_defaults(
        func=cmd_db_upgrade)

    verify = sub.add_parser("verify", help="offline verifiers").add_subparsers(
        dest="verify", required=True)
    with_database(verify.add_parser("log", help="re-compute the event chain")).set_defaults(
        func=cmd_verify_log)
    draw = with_database(verify.add_parser("draw", help="re-run a section's committee draws "
                                           "from the event log"))
    draw.add_argument("--section", type=int, required=True, help="the section id")
    draw.set_defaults(func=cmd_verify_draw)
    receipt = verify.add_parser("receipt", help="check a bid receipt's signature")
    receipt.add_argument("file")
    receipt.add_argument("--key", help="the platform's receipt key (PEM, from "
                         "/api/v1/receipts/key); default: this installation's")
    receipt.set_defaults(func=cmd_verify_receipt)
    notice = verify.add_parser("notice", help="check an award or result notice (中标通知书, "
                               "中标结果通知书) against its detached signature")
    notice.add_argument("file", help="the notice as issued (canonical JSON)")
    notice.add_argument("signature", help="its signature file (base64 Ed25519)")
    notice.add_argument("--key", help="the platform's public key (PEM, from "
                        "/api/v1/receipts/key); default: this installation's")
    notice.set_defaults(func=cmd_verify_notice)

    admin = sub.add_parser("admin", help="operator tasks").add_subparsers(dest="admin",
                                                                          required=True)
    create = with_database(admin.add_parser(
        "create", help="create an admin (password from TRADESYS_ADMIN_PASSWORD or a prompt)"))
    create.add_argument("--username", required=True)
    create.add_argument("--org-name", required=True)
    create.add_argument("--credit-code", required=True)
    create.set_defaults(func=cmd_admin_create)

    demo = with_database(sub.add_parser("demo", help="run a whole procurement end to end"))
    demo.add_argument("--out", help="directory for every artifact (default: a new temp dir)")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.set_defaults(func=cmd_demo)
    add_bidder_parser(sub)
    add_platform_parsers(sub)
    from contracts.cli import add_parsers as add_contract_parsers

    add_contract_parsers(sub, verify)
    from archive.cli import add_parsers as add_archive_parsers

    add_archive_parsers(verify, pki_checks=_pki_checks)
    return parser


def _pki_checks() -> PkiChecks:
    """The contract PKI's checks for ``verify archive`` (imported only when it runs)."""
    from contracts.timestamps import PkiEvidenceChecks

    return PkiEvidenceChecks()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
