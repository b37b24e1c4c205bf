"""``tradesys platform …`` and ``tradesys platform-receiver``: the operator's reporting tools."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from tradesys.settings import Settings


def cmd_replay(args: argparse.Namespace) -> int:
    from tradesys.clock import SystemClock
    from tradesys.db.database import Database
    from tradesys.reporting.relay import replay

    async def run() -> int:
        db = Database(Settings(database_url=args.database or "").database_url, null_pool=True)
        try:
            count = await replay(db, SystemClock(), project_id=args.project)
        finally:
            await db.dispose()
        print(f"{count} dead-lettered report(s) queued again")
        return 0

    return asyncio.run(run())


def cmd_key(_args: argparse.Namespace) -> int:
    from tradesys.signatures import load_or_create_key, public_pem

    print(public_pem(load_or_create_key(Settings().report_key_file)), end="")
    return 0


def cmd_receiver(args: argparse.Namespace) -> int:
    import uvicorn

    from tradesys.receiver.app import create_receiver_app
    from tradesys.signatures import load_public_pem

    trusted = {}
    for item in args.trust:
        code, _, path = item.partition("=")
        trusted[code] = load_public_pem(Path(path).read_bytes())
    app = create_receiver_app(args.database, platform_code=args.code, trusted=trusted)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def add_platform_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    platform = sub.add_parser("platform", help="reporting to the public service platform")
    actions = platform.add_subparsers(dest="platform_command", required=True)
    replay = actions.add_parser("replay", help="re-queue dead-lettered reports")
    replay.add_argument("--database", help="database URL (default: the configured one)")
    replay.add_argument("--project", type=int, help="only this project's reports")
    replay.set_defaults(func=cmd_replay)
    key = actions.add_parser("key", help="print the public key that signs our reports")
    key.set_defaults(func=cmd_key)

    receiver = sub.add_parser("platform-receiver",
                              help="run the reference public service platform receiver")
    receiver.add_argument("--host", default="127.0.0.1")
    receiver.add_argument("--port", type=int, default=8001)
    receiver.add_argument("--database", default="sqlite+aiosqlite:///var/receiver.db")
    receiver.add_argument("--code", default="PSP0000000001",
                          help="this platform's code (PUB_SERVICE_PLAT_CODE)")
    receiver.add_argument("--trust", action="append", default=[], metavar="CODE=PEMFILE",
                          help="a trading system's platform code and public key")
    receiver.set_defaults(func=cmd_receiver)
