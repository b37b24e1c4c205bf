"""``tradesys db upgrade`` then ``tradesys demo --json`` on an empty database of each back end
(SQLite: the demo's default file in its out folder)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import bagit

from tradesys.documents.evaluation_report import check_report, signing_message
from tradesys.events.canonical import canonical_json
from tradesys.opening import confirmation
from tradesys.reporting.validation import release_package_errors
from tradesys.settings import default_sqlite_url

PYHANKO = Path(sys.executable).with_name("pyhanko")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradesys.cli", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def test_demo_runs_to_the_signed_contract(empty_database: str, tmp_path: Path) -> None:
    """On SQLite the demo runs on its default database (no ``--database``): a file in its out
    folder, upgraded beforehand by ``tradesys db upgrade`` like PostgreSQL's."""
    out = (tmp_path / "artifacts").resolve()
    by_default = empty_database.startswith("sqlite")
    url = default_sqlite_url(out) if by_default else empty_database
    out.mkdir()
    upgrade = _cli("db", "upgrade", "--database", url)
    assert upgrade.returncode == 0, upgrade.stderr
    demo = _cli("demo", "--json", *([] if by_default else ["--database", url]), "--out", str(out))
    assert demo.returncode == 0, demo.stderr + demo.stdout
    summary = json.loads(demo.stdout)
    assert summary["ok"] is True
    assert summary["database"] == url
    if by_default:
        database = Path(summary["artifacts"]["database"])
        assert database.parent == out and database.exists()
    assert summary["steps"] == ["bootstrap", "organisations", "experts", "register", "scheme",
                                "upload_documents", "announce", "obtain_documents", "questions",
                                "clarify", "bids", "bid_deadline", "opening", "panel", "review",
                                "explanation", "scores", "report", "publicity", "objection",
                                "publicity_end", "award", "contract", "archive", "reports",
                                "verify_log"]
    assert len(summary["receipts"]) == 3
    for receipt in summary["receipts"]:
        assert Path(receipt).is_relative_to(out)
        checked = _cli("verify", "receipt", receipt, "--key",
                       summary["artifacts"]["receipt_key"])
        assert checked.returncode == 0, checked.stderr
    assert summary["reports"] == {"TENDER_PROJECT": 1, "NOTICE": 1, "TENDER_FILE_CLARI_MODI": 2,
                                  "TENDER_LIST": 1, "BID_OPENING_RECORD": 2,
                                  "EVALUATION_REPORT": 1, "TENDER_CANDIDATE": 1,
                                  "WIN_RESULT_ANNO": 1,
                                  "BID_WINNING_NOTICE": 1, "CONTRACT_PERFORMANCE": 1}
    package = json.loads(Path(summary["releases"]).read_text(encoding="utf-8"))
    assert release_package_errors(package) == []
    assert [r["tag"] for r in package["releases"]] == [
        ["planning"], ["tender"], ["tenderUpdate"], ["tenderAmendment"], ["tenderUpdate"],
        ["tenderUpdate"], ["tenderUpdate"], ["tenderUpdate"], ["award"], ["award"],
        ["awardUpdate"], ["contract"]]
    # The signed contract, as the platform got it: the winner's award, active, signed.
    [contract] = package["releases"][-1]["contracts"]
    assert contract["status"] == "active" and contract["dateSigned"]
    assert contract["awardID"].endswith(summary["winner"])
    # The opening ran in the hall: its published record (JSON, PDF beside it) is an artifact.
    record_path = Path(summary["opening_record"])
    assert record_path.is_relative_to(out) and record_path.suffix == ".json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    assert record["version"] == "final" and len(record["bidders"]) == 3
    assert {b["outcome"] for b in record["bidders"]} == {"decrypted"}
    assert len(record["confirmations"]) == 3 and record["objections"][0]["answer"]
    for item in record["confirmations"]:  # each bidder's own signature, checked from the file
        assert confirmation.verify(item["public_key"], canonical_json(item["signed"]),
                                   item["signature"])
    assert record_path.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    assert isinstance(summary["project_id"], int)
    for path in summary["artifacts"].values():
        assert Path(path).is_absolute() and Path(path).exists()
        assert Path(path).is_relative_to(out)
    events = [json.loads(line) for line in Path(summary["artifacts"]["events"]).open()]
    assert [e["type"] for e in events].count("section.closed") == 2
    _check_evaluation_award_and_contract(summary, out, events)
    _check_archive(summary, out, events)
    verify = _cli("verify", "log", "--database", url)
    assert verify.returncode == 0, verify.stderr


def _check_evaluation_award_and_contract(summary: dict[str, Any], out: Path,
                                         events: list[dict[str, Any]]) -> None:
    """The evaluation report, the award notice and the contract the demo kept, each checked
    from its file alone."""
    for key in ("award_notice", "evaluation_report", "contract", "trust_root"):
        assert Path(summary[key]).is_absolute() and Path(summary[key]).is_relative_to(out)
    # The final report: valid against its schema, five members, each signature verifiable
    # with the public key the log recorded; the winner is its first candidate.
    report = json.loads(Path(summary["evaluation_report"]).read_text(encoding="utf-8"))
    assert check_report(report) == []
    assert len(report["committee"]) == 5 and len(report["signatures"]) == 5
    assert [c["seat"] for c in report["committee"]].count("expert") == 4
    assert [c["credit_code"] for c in report["candidates"] if c["rank"] == 1] == [
        summary["winner"]]
    assert len({b["credit_code"] for b in report["bidders"]}) == 3
    signed = {f"seat-{e['payload']['seat']}": e["payload"] for e in events
              if e["type"] == "evaluation.report_signed"}
    for signature in report["signatures"]:
        logged = signed[signature["member_id"]]
        assert confirmation.verify(logged["public_key"], signing_message(
            report, signature["member_id"]), signature["signature"])
    types = [e["type"] for e in events]
    assert types.count("evaluation.score_sheet_submitted") == 5
    # One abnormally low price, explained by its bidder and accepted by the panel.
    assert types.count("evaluation.explanation_requested") == 1
    assert types.count("evaluation.explanation_answered") == 1
    votes = [e["payload"] for e in events if e["type"] == "evaluation.explanation_voted"]
    assert len(votes) == 5 and all(v["accept"] for v in votes)
    assert votes[-1]["decision"] == "accepted"
    for kind in ("award.publicity_published", "award.objection_raised",
                 "award.objection_answered", "award.publicity_ended", "award.awarded",
                 "contract.created", "contract.signed"):
        assert kind in types, kind
    assert types.count("contract.signed") == 2
    # The award notice the winner downloaded is a PDF addressed to it and naming it.
    notice = Path(summary["award_notice"])
    assert notice.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(notice), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    winner = next(b["name"] for b in report["bidders"] if b["credit_code"] == summary["winner"])
    assert "中标通知书" in text and summary["winner"] in text
    assert winner in "".join(text.split())
    # The contract, signed by both parties, verifies offline against the downloaded root:
    # with our verifier and with pyHanko's AdES validation.
    contract, root = summary["contract"], summary["trust_root"]
    verified = _cli("verify", "contract", contract, "--trust", root)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert summary["winner"] in verified.stdout and "B-LTA" in verified.stdout
    ades = subprocess.run([str(PYHANKO), "sign", "adesverify", "--trust", root,
                           "--trust-replace", contract], capture_output=True, text=True,
                          timeout=180, check=False)
    assert ades.returncode == 0, ades.stdout + ades.stderr
    assert ades.stdout.count(":INTACT:TRUSTED,") == 2, ades.stdout
    poppler = subprocess.run(["pdfsig", contract], capture_output=True, text=True, timeout=120,
                             check=False)
    assert poppler.stdout.count("Signature Validation: Signature is Valid.") == 2, (
        poppler.stdout + poppler.stderr)


def _check_archive(summary: dict[str, Any], out: Path, events: list[dict[str, Any]]) -> None:
    """The scheduler archived the ended project once (both sections: the contract concluded,
    the other 流标); the bag passes our offline verifier in a separate process and the
    ``bagit`` package's full validation (every file re-hashed, not ``fast``)."""
    path = Path(summary["archive"])
    assert path.is_absolute() and path.is_relative_to(out) and path.name == "v1"
    assert summary["artifacts"]["archive"] == summary["archive"]
    built = [e for e in events if e["type"] == "archive.built"]
    assert len(built) == 1 and built[0]["project_id"] == summary["project_id"]
    assert built[0]["payload"]["version"] == 1
    assert built[0]["seq"] > max(e["seq"] for e in events if e["type"] == "contract.concluded")
    verified = _cli("verify", "archive", str(path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"ok: archive {built[0]['payload']['sha256']}")
    # The bidders' confirmations of the opening record, the time stamps on the tree head and
    # the seal, and the signed contract were each checked (not only hashed).
    for checked in ("opening record confirmations", "2 time stamps", "1 signed contracts"):
        assert checked in verified.stdout, verified.stdout
    bag = bagit.Bag(str(path))
    assert bag.version_info == (1, 0) and set(bag.algorithms) == {"sha256", "sha512"}
    bag.validate(fast=False)
    metadata = json.loads((path / "data" / "archive.json").read_text(encoding="utf-8"))
    assert [s["ending"] for s in metadata["sections"]] == ["concluded", "opening_failed"]
    assert metadata["project"]["code"] == summary["project_code"]


def test_demo_exits_non_zero_when_a_step_fails(tmp_path: Path) -> None:
    # A database URL that cannot be opened fails the very first step.
    demo = _cli("demo", "--json", "--out", str(tmp_path),
                "--database", "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    assert demo.returncode != 0
