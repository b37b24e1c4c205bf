"""``tradesys contract sign`` (the offline signer) and ``tradesys verify contract``.

Why a signing request file: the signer's key never reaches the server. The server's
preparation is handed to the signer as a small JSON request (:func:`signing_request`: the
contract, the field and the DER signed attributes, base64); ``tradesys contract sign --key
KEY.pem REQUEST.json`` signs those bytes with the signer's P-256 key (the PEM from ``tradesys
bidder keygen``, password from ``TRADESYS_KEY_PASSWORD`` or a prompt) and writes the DER
signature, which the server's complete step checks and embeds (docs/contracts.md).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["REQUEST_FORMAT", "add_parsers", "signing_request"]

REQUEST_FORMAT = "tradesys.contract-signing-request/1"
SIGNATURE_FORMAT = "tradesys.contract-signature/1"


def signing_request(contract_id: int, field: str, signed_attributes: bytes) -> dict[str, Any]:
    return {"format": REQUEST_FORMAT, "contract_id": contract_id, "field": field,
            "signed_attributes": base64.b64encode(signed_attributes).decode("ascii")}


def read_signature(data: bytes) -> bytes:
    """The DER signature from ``contract sign``'s output file."""
    value = json.loads(data)
    if not isinstance(value, dict) or value.get("format") != SIGNATURE_FORMAT:
        raise ValueError("not a contract signature file")
    return base64.b64decode(value["signature"], validate=True)


def cmd_contract_sign(args: argparse.Namespace) -> int:
    """Exit 0 with the signature written; 2 when the key or the request cannot be read."""
    from tradesys.bids.errors import EnvelopeError
    from tradesys.bids.keys import load_private_key

    try:
        request = json.loads(Path(args.request).read_bytes())
        if not isinstance(request, dict) or request.get("format") != REQUEST_FORMAT:
            raise ValueError(f"not a signing request ({REQUEST_FORMAT})")
        attributes = base64.b64decode(request["signed_attributes"], validate=True)
        key_bytes = Path(args.key).read_bytes()
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    password = os.environ.get("TRADESYS_KEY_PASSWORD")
    if password is None:
        password = getpass.getpass("key password: ")
    try:
        key = load_private_key(key_bytes, password.encode("utf-8"))
    except EnvelopeError as error:
        print(f"cannot read the key: {error}", file=sys.stderr)
        return 2
    der = key.sign(attributes, ec.ECDSA(hashes.SHA256()))
    out = {"format": SIGNATURE_FORMAT, "contract_id": request.get("contract_id"),
           "field": request.get("field"), "signature": base64.b64encode(der).decode("ascii")}
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"signed {request.get('field')} of contract {request.get('contract_id')}: {args.out}")
    return 0


def _trust_roots(args: argparse.Namespace) -> list[Any] | None:
    from contracts.pki import load_certificate
    from contracts.services import ca_folder
    from tradesys.settings import Settings

    paths = [Path(p) for p in args.trust or []]
    if not paths:
        root = ca_folder(Settings()) / "root.pem"
        if not root.exists():
            return None
        paths = [root]
    return [load_certificate(path.read_bytes()) for path in paths]


def cmd_verify_contract(args: argparse.Namespace) -> int:
    """Exit 0 when both signatures are intact, trusted and the file is wholly covered; 1 with
    the reasons otherwise; 2 when nothing could be checked."""
    from contracts.verify import verify_contract

    try:
        roots = _trust_roots(args)
        data = Path(args.file).read_bytes()
    except (OSError, ValueError) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    if roots is None:
        print("no trust root: pass --trust ROOT.pem (this installation has no built-in CA)",
              file=sys.stderr)
        return 2
    report = verify_contract(data, roots)
    for signer in report.signers:
        status = "ok" if signer.bottom_line else "FAILED"
        print(f"{signer.field}: {signer.organization} ({signer.credit_code}) signed by "
              f"{signer.signer}; signing time {signer.signing_time:%Y-%m-%d %H:%M:%S}Z"
              if signer.signing_time else f"{signer.field}: {signer.organization}", end="")
        stamp = f"{signer.timestamp:%Y-%m-%d %H:%M:%S}Z" if signer.timestamp else "none"
        print(f"; timestamp {stamp}; coverage {signer.coverage}; changes after it "
              f"{signer.modifications}; {'certifies; ' if signer.certifies else ''}"
              f"intact={signer.intact} trusted={signer.trusted} -> {status}")
    if report.document_timestamp:
        print(f"document timestamp {report.document_timestamp:%Y-%m-%d %H:%M:%S}Z; "
              f"covers the whole file: {report.covers_whole_file}")
    if report.ok:
        print("ok: both signatures intact and trusted; PAdES B-LTA")
        return 0
    for reason in report.reasons:
        print(f"NOT VALID: {reason}", file=sys.stderr)
    return 1


def add_parsers(sub: argparse._SubParsersAction, verify: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    contract = sub.add_parser("contract", help="contract signing (合同网签)").add_subparsers(
        dest="contract_command", required=True)
    sign = contract.add_parser("sign", help="sign a prepared contract signature offline "
                               "(password from TRADESYS_KEY_PASSWORD or a prompt)")
    sign.add_argument("--key", required=True, help="your signing key (PEM from bidder keygen)")
    sign.add_argument("request", help="the signing request JSON from the platform")
    sign.add_argument("-o", "--out", required=True, help="signature file to upload")
    sign.set_defaults(func=cmd_contract_sign)
    check = verify.add_parser("contract", help="check a signed contract PDF (PAdES)")
    check.add_argument("file")
    check.add_argument("--trust", action="append", help="trust root PEM (repeatable; default: "
                       "this installation's built-in CA root)")
    check.set_defaults(func=cmd_verify_contract)
