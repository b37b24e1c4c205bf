"""The verifier's checks that need an X.509 PKI: the RFC 3161 time stamps on the tree head and
on the seal, and the PAdES signatures of the signed contracts.

Why injected (:class:`PkiChecks`): the validation of both is the contract PKI's
(``contracts/timestamps.py``, ``contracts/verify.py``, pyHanko), and ``archive`` does not
import ``contracts`` (DESIGN.md §3: siblings). ``tradesys verify archive`` hands them in. A
verifier run without them does not pass an archive that carries such evidence: each unchecked
item is a failure that says why, never a silent skip.

Trust roots: the certificates in ``data/keys/trust-roots.pem`` (the archive's own, which the
payload manifests and the seal protect), unless the caller pins others (``--trust``), as it
should when it does not trust the archive's origin.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509

from archive.builder import SEAL_STAMP_FIELD, TREE_HEAD_FILE, TREE_HEAD_STAMP_FILE, TRUST_ROOTS_FILE
from archive.report import Report
from archive.seal import SIGNATURE_FILE, TIMESTAMP_FILE

#: The index kind of a concluded amendment's PDF (archive/records.py), checked as a contract.
AMENDMENT_KIND = "contract_amendment_pdf"
_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                              re.DOTALL)


class StampVerdict(Protocol):
    at: datetime | None
    why: str


class PkiChecks(Protocol):
    def timestamp(self, token: bytes, digest: bytes, roots: list[x509.Certificate]
                  ) -> StampVerdict:
        """Whether ``token`` is an RFC 3161 token over the SHA-256 ``digest`` chaining to
        ``roots``."""
        ...

    def contract(self, pdf: bytes, roots: list[x509.Certificate]) -> list[str]:
        """Why the signed contract does not hold (both parties' PAdES signatures, the
        document timestamp, the whole file covered); empty when it holds."""
        ...


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every PEM certificate in ``data`` (ValueError when there is none or one is broken)."""
    blocks = _PEM_CERTIFICATE.findall(data)
    if not blocks:
        raise ValueError("no PEM certificate")
    return [x509.load_pem_x509_certificate(block) for block in blocks]


def _bag_info_fields(root: Path) -> set[str]:
    try:
        text = (root / "bag-info.txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return set()  # the bag check has named it already
    return {line.split(":", 1)[0] for line in text.splitlines() if ":" in line}


def _roots(root: Path, pinned: list[x509.Certificate] | None, report: Report
           ) -> list[x509.Certificate] | None:
    if pinned is not None:
        return pinned
    name = f"data/{TRUST_ROOTS_FILE}"
    try:
        return load_certificates((root / name).read_bytes())
    except FileNotFoundError:
        report.fail(f"{name}: missing (the time stamps and contract signatures cannot be "
                    "checked; give --trust)")
    except ValueError as error:
        report.fail(f"{name}: not PEM certificates ({error})")
    return None


def _stamp(root: Path, token_name: str, subject_name: str, checks: PkiChecks,
           roots: list[x509.Certificate], report: Report) -> None:
    try:
        token = (root / token_name).read_bytes()
        subject = (root / subject_name).read_bytes()
    except FileNotFoundError as error:
        report.fail(f"{Path(error.filename).relative_to(root).as_posix()}: missing (the time "
                    "stamp cannot be checked)")
        return
    verdict = checks.timestamp(token, hashlib.sha256(subject).digest(), roots)
    if verdict.at is None:
        report.fail(f"{token_name}: not a valid time stamp of {subject_name} ({verdict.why})")
    else:
        report.count("time stamps")


def _contracts(root: Path, entries: list[dict[str, Any]], checks: PkiChecks | None,
               roots: list[x509.Certificate] | None, report: Report) -> None:
    for entry in entries:
        path = entry.get("path")
        if entry.get("kind") == AMENDMENT_KIND and isinstance(path, str):
            _amendment(root, path, checks, roots, report)
            continue
        if entry.get("kind") != "contract_pdf" or not isinstance(path, str):
            continue
        pdf_path = root / path
        try:
            state = json.loads((pdf_path.parent / "contract.json").read_bytes())[
                "contract"]["state"]
            pdf = pdf_path.read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            report.fail(f"{path}: its contract record (contract.json) is missing or malformed")
            continue
        if state != "signed":
            continue  # a contract never concluded: nothing to check but its hashes
        if checks is None or roots is None:
            report.fail(f"{path}: the contract's signatures are not checked (no PKI checks or "
                        "trust roots; run tradesys verify archive)")
            continue
        reasons = checks.contract(pdf, roots)
        for reason in reasons:
            report.fail(f"{path}: {reason}")
        if not reasons:
            report.count("signed contracts")


def _amendment(root: Path, path: str, checks: PkiChecks | None,
               roots: list[x509.Certificate] | None, report: Report) -> None:
    """A concluded amendment (合同变更协议, only those carry this kind): both parties'
    signatures, checked as a signed contract's."""
    if checks is None or roots is None:
        report.fail(f"{path}: the amendment's signatures are not checked (no PKI checks or "
                    "trust roots; run tradesys verify archive)")
        return
    try:
        pdf = (root / path).read_bytes()
    except OSError:
        report.fail(f"{path}: missing")
        return
    reasons = checks.contract(pdf, roots)
    for reason in reasons:
        report.fail(f"{path}: {reason}")
    if not reasons:
        report.count("signed amendments")


def check_pki(root: Path, entries: list[dict[str, Any]], checks: PkiChecks | None,
              pinned: list[x509.Certificate] | None, report: Report) -> None:
    """The time stamps (when the archive carries or announces them) and the signed
    contracts."""
    stamped = (SEAL_STAMP_FIELD in _bag_info_fields(root)
               or (root / TIMESTAMP_FILE).exists()
               or (root / "data" / TREE_HEAD_STAMP_FILE).exists())
    needs_roots = stamped or any(e.get("kind") in ("contract_pdf", AMENDMENT_KIND)
                                 for e in entries)
    roots = _roots(root, pinned, report) if needs_roots else None
    if stamped:
        if checks is None:
            report.fail(f"{TIMESTAMP_FILE}: the time stamps are not checked (no PKI checks; "
                        "run tradesys verify archive)")
        elif roots is not None:
            if SEAL_STAMP_FIELD not in _bag_info_fields(root):
                report.fail(f"bag-info.txt: does not announce {TIMESTAMP_FILE} "
                            f"({SEAL_STAMP_FIELD})")
            _stamp(root, TIMESTAMP_FILE, SIGNATURE_FILE, checks, roots, report)
            _stamp(root, f"data/{TREE_HEAD_STAMP_FILE}", f"data/{TREE_HEAD_FILE}", checks,
                   roots, report)
    _contracts(root, entries, checks, roots, report)
