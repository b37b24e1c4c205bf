"""``tradesys db upgrade`` then ``tradesys demo --json`` on an empty database of each back end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tradesys.events.canonical import canonical_json
from tradesys.opening import confirmation
from tradesys.reporting.validation import release_package_errors


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradesys.cli", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def test_demo_runs_to_the_bid_deadline(empty_database: str, tmp_path: Path) -> None:
    upgrade = _cli("db", "upgrade", "--database", empty_database)
    assert upgrade.returncode == 0, upgrade.stderr
    out = tmp_path / "artifacts"
    demo = _cli("demo", "--json", "--database", empty_database, "--out", str(out))
    assert demo.returncode == 0, demo.stderr + demo.stdout
    summary = json.loads(demo.stdout)
    assert summary["ok"] is True
    assert summary["database"] == empty_database
    assert summary["steps"] == ["bootstrap", "organisations", "register", "upload_documents",
                                "announce", "obtain_documents", "questions", "clarify", "bids",
                                "bid_deadline", "opening", "reports", "verify_log"]
    assert len(summary["receipts"]) == 3
    for receipt in summary["receipts"]:
        assert Path(receipt).is_relative_to(out)
        checked = _cli("verify", "receipt", receipt, "--key",
                       summary["artifacts"]["receipt_key"])
        assert checked.returncode == 0, checked.stderr
    assert summary["reports"] == {"TENDER_PROJECT": 1, "NOTICE": 1, "TENDER_FILE_CLARI_MODI": 2,
                                  "TENDER_LIST": 1, "BID_OPENING_RECORD": 2}
    package = json.loads(Path(summary["releases"]).read_text(encoding="utf-8"))
    assert release_package_errors(package) == []
    assert [r["tag"] for r in package["releases"]] == [
        ["planning"], ["tender"], ["tenderUpdate"], ["tenderAmendment"], ["tenderUpdate"],
        ["tenderUpdate"], ["tenderUpdate"]]
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
    verify = _cli("verify", "log", "--database", empty_database)
    assert verify.returncode == 0, verify.stderr


def test_demo_exits_non_zero_when_a_step_fails(tmp_path: Path) -> None:
    # A database URL that cannot be opened fails the very first step.
    demo = _cli("demo", "--json", "--out", str(tmp_path),
                "--database", "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    assert demo.returncode != 0


def test_demo_by_default_keeps_its_sqlite_file_in_the_out_dir(tmp_path: Path) -> None:
    demo = _cli("demo", "--json", "--out", str(tmp_path / "run"))
    assert demo.returncode == 0, demo.stderr
    summary = json.loads(demo.stdout)
    database = Path(summary["artifacts"]["database"])
    assert database.parent == (tmp_path / "run").resolve() and database.exists()
    assert summary["database"].startswith("sqlite+aiosqlite:///")
