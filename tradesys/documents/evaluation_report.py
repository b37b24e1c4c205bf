"""The evaluation report (评标报告): its JSON shape, its checks, and its PDF.

Why the shape is a schema file: the scoring is built by the evaluation step, and the report is
what that step hands over to the renderer, the members' signatures and the archive. The JSON
Schema beside the templates (``templates/evaluation_report.schema.json``) is the contract
between them, readable by both sides and by the archive's verifier; :func:`check_report` adds
what a schema cannot say (every reference names an entry; ranks are 1, 2, 3 …; candidates are
compliant bidders).

Members sign :func:`signing_message`, which names :func:`body_sha256`: the SHA-256 of the
canonical JSON of the report without its ``signatures`` member, so each signature is over the
same bytes however many came before. Checking those signatures against the members' registered
keys is the evaluation step's (it knows the keys); this module only lays them out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from tradesys.documents.render import TEMPLATES, render_html, render_pdf
from tradesys.events.canonical import canonical_json
from tradesys.identity.credit_code import is_valid_credit_code

__all__ = ["REPORT_FORMAT", "body_sha256", "check_report", "render_report_html",
           "render_report_pdf", "report_schema", "signing_message"]

REPORT_FORMAT = "tradesys.evaluation-report/1"
SCHEMA_FILE = TEMPLATES / "evaluation_report.schema.json"
TEMPLATE = "evaluation_report.html"
SIGNATURE_TYPE = "tradesys.evaluation-report-signature"


@cache
def report_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


def _schema_errors(report: Any) -> list[str]:
    validator = Draft202012Validator(report_schema())
    return sorted(f"{error.json_path}: {error.message}" for error in validator.iter_errors(report))


def _references(report: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    members = [m["member_id"] for m in report["committee"]]
    criteria = [c["id"] for c in report["criteria"]]
    bidders = {b["credit_code"]: b for b in report["bidders"]}
    for label, ids in (("committee", members), ("criteria", criteria),
                       ("bidders", [b["credit_code"] for b in report["bidders"]])):
        if len(set(ids)) != len(ids):
            errors.append(f"$.{label}: an id appears twice")
    if sum(m["role"] == "chair" for m in report["committee"]) != 1:
        errors.append("$.committee: exactly one chair (组长)")
    for code in bidders:
        if not is_valid_credit_code(code):
            errors.append(f"$.bidders: {code} has a wrong check character")
    compliant = {code for code, b in bidders.items() if b["compliant"]}
    for code, b in bidders.items():
        if b["compliant"] == (b["rejection"] is not None):
            errors.append(f"$.bidders[{code}]: a rejection exactly when not compliant")
    seen_scores = set()
    for i, score in enumerate(report["scores"]):
        where = f"$.scores[{i}]"
        if score["member_id"] not in members:
            errors.append(f"{where}: unknown member {score['member_id']}")
        if score["credit_code"] not in compliant:
            errors.append(f"{where}: {score['credit_code']} is not a compliant bidder")
        if set(score["by_criterion"]) != set(criteria):
            errors.append(f"{where}: scores every criterion, and only those")
        seen_scores.add((score["member_id"], score["credit_code"]))
    if seen_scores != {(m, c) for m in members for c in compliant}:
        errors.append("$.scores: one entry per member and compliant bidder")
    ranked = [a["credit_code"] for a in report["aggregate"]]
    if sorted(ranked) != sorted(compliant):
        errors.append("$.aggregate: one entry per compliant bidder")
    if [a["rank"] for a in report["aggregate"]] != list(range(1, len(ranked) + 1)):
        errors.append("$.aggregate: ranks 1, 2, 3 … in order")
    candidates = report["candidates"]
    if [c["rank"] for c in candidates] != list(range(1, len(candidates) + 1)):
        errors.append("$.candidates: ranks 1, 2, 3 in order")
    if [c["credit_code"] for c in candidates] != ranked[:len(candidates)]:
        errors.append("$.candidates: the first-ranked compliant bidders, in rank order")
    for label in ("dissent", "signatures"):
        for i, entry in enumerate(report[label]):
            if entry["member_id"] not in members:
                errors.append(f"$.{label}[{i}]: unknown member {entry['member_id']}")
    signers = [s["member_id"] for s in report["signatures"]]
    if len(set(signers)) != len(signers):
        errors.append("$.signatures: one entry per member")
    for i, signature in enumerate(report["signatures"]):
        filled = [signature[k] is not None for k in ("signed_at", "key_id", "signature")]
        if filled != [signature["status"] == "signed"] * 3:
            errors.append(f"$.signatures[{i}]: signed_at, key_id and signature exactly when "
                          "signed")
    return errors


def check_report(report: Any) -> list[str]:
    """Every problem with a report (the schema first, then its cross-references); [] if none."""
    errors = _schema_errors(report)
    return errors or _references(report)


def body_sha256(report: Mapping[str, Any]) -> str:
    """What each member signs: SHA-256 of the canonical JSON without ``signatures``."""
    body = {key: value for key, value in report.items() if key != "signatures"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def signing_message(report: Mapping[str, Any], member_id: str) -> bytes:
    """The bytes a member's signing key signs (ECDSA P-256, IEEE P1363 ``r || s``, base64url,
    as a bidder confirms the opening record): canonical JSON naming the report, the member and
    :func:`body_sha256`, so a signature cannot be moved to another report or member."""
    return canonical_json({"type": SIGNATURE_TYPE, "report_id": report["report_id"],
                           "member_id": member_id, "body_sha256": body_sha256(report)})


def _context(report: Mapping[str, Any]) -> dict[str, Any]:
    errors = check_report(report)
    if errors:
        raise ValueError("not a valid evaluation report: " + "; ".join(errors[:5]))
    return {
        "report": report,
        "members": {m["member_id"]: m for m in report["committee"]},
        "bidders": {b["credit_code"]: b for b in report["bidders"]},
        "aggregate": {a["credit_code"]: a for a in report["aggregate"]},
        "scores": {(s["member_id"], s["credit_code"]): s for s in report["scores"]},
        "body_sha256": body_sha256(report),
    }


def render_report_html(report: Mapping[str, Any]) -> str:
    """The report as HTML; ValueError (with the first problems) for an invalid report."""
    return render_html(TEMPLATE, _context(report))


def render_report_pdf(report: Mapping[str, Any]) -> bytes:
    """The report as a PDF (A4 landscape). Synchronous and CPU-bound."""
    return render_pdf(TEMPLATE, _context(report))
