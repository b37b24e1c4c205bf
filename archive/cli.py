"""``tradesys verify archive PATH [--key PEM] [--trust PEM] [--tree-head FILE
[--consistency FILE]]``.

Exit 0 when every check holds, 1 naming each failure (one a line, on stderr), 2 when an option's
file cannot be read (nothing was checked). No database, no network (archive/verify.py). The
checks of time stamps and contract signatures come from the caller (``tradesys/cli.py`` hands
in the contract PKI's, archive/verify_pki.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archive.verify_pki import PkiChecks, load_certificates


def cmd_verify_archive(args: argparse.Namespace) -> int:
    from archive.verify import verify_archive
    from tradesys.signatures import load_public_pem

    try:
        key = load_public_pem(Path(args.key).read_bytes()) if args.key else None
        roots = load_certificates(Path(args.trust).read_bytes()) if args.trust else None
        later: Any = json.loads(Path(args.tree_head).read_bytes()) if args.tree_head else None
        proof: Any = (json.loads(Path(args.consistency).read_bytes()) if args.consistency
                      else None)
    except (OSError, ValueError) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    # pyHanko logs each failed path validation with its traceback; the report names it.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    report = verify_archive(Path(args.path), key=key, later_head=later, consistency=proof,
                            checks=args.pki_checks(), trust_roots=roots)
    summary = ", ".join(f"{n} {what}" for what, n in report.checked.items())
    if report.ok:
        print(f"ok: archive {report.archive_sha256} ({summary})")
        return 0
    for failure in report.failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    print(f"{len(report.failures)} failure(s); checked {summary}", file=sys.stderr)
    return 1


def add_parsers(verify: argparse._SubParsersAction,  # type: ignore[type-arg]
                pki_checks: Callable[[], PkiChecks]) -> None:
    check = verify.add_parser("archive", help="check an archive package (BagIt bag) offline")
    check.add_argument("path", help="the bag's folder")
    check.add_argument("--key", help="the trusted archive key (PEM, from /api/v1/log/key); "
                       "default: the key inside the archive")
    check.add_argument("--trust", help="the trusted roots (PEM certificates) of the time "
                       "stamps and contract signatures; default: the archive's "
                       "data/keys/trust-roots.pem")
    check.add_argument("--tree-head", help="a later signed tree head (JSON, from "
                       "/api/v1/log/tree-head) the archive's log must be a prefix of")
    check.add_argument("--consistency", help="the consistency proof from the archive's tree "
                       "size to the later head's (JSON, from /api/v1/log/consistency)")
    check.set_defaults(func=cmd_verify_archive, pki_checks=pki_checks)
