"""Award and result notices: built from the award step's facts, signed by the platform,
checked offline by ``tradesys verify notice`` (a subprocess), and printed as PDFs that carry
their document id, SHA-256 and signature (read back with poppler)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from tradesys.documents.notices import (
    AwardFacts,
    build_notices,
    notice_bytes,
    notice_sha256,
    render_notice_html,
    render_notice_pdf,
    sign_notice,
    verify_notice,
)
from tradesys.identity.credit_code import make_credit_code
from tradesys.signatures import key_fingerprint, load_or_create_key, public_pem

WINNER = make_credit_code("91110000MA0000001")
SECOND = make_credit_code("91110000MA0000002")
THIRD = make_credit_code("91320500MWWWWWWWW")
PROCURER = make_credit_code("11110000MB0000001")
AGENCY = make_credit_code("91110000MC0000001")
ISSUED = datetime(2026, 3, 23, 1, 0, tzinfo=UTC)  # 09:00 in Beijing

FACTS: dict[str, Any] = {
    "award_id": "A-TS-2026-0001-01",
    "project": {"code": "TS-2026-0001", "name": "市政道路改造工程"},
    "section": {"code": "01", "name": "施工一标段"},
    "procurer": {"name": "某市住房和城乡建设局", "credit_code": PROCURER},
    "agency": {"name": "某招标代理有限公司", "credit_code": AGENCY},
    "winner": {"name": "甲建设集团有限公司", "credit_code": WINNER},
    "others": [
        {"name": "<b>乙</b> & 工程有限公司", "credit_code": SECOND},
        {"name": "丙路桥股份有限公司", "credit_code": THIRD},
    ],
    "price": "35200000.00",
    "contract_days": 30,
    "issued_at": ISSUED,
}


def facts(**changes: Any) -> AwardFacts:
    return AwardFacts.model_validate({**copy.deepcopy(FACTS), **changes})


def test_notices_for_the_winner_and_each_other_bidder() -> None:
    notices = build_notices(facts())
    assert [(n["kind"], n["title"], n["addressee"]["credit_code"]) for n in notices] == [
        ("award", "中标通知书", WINNER), ("result", "中标结果通知书", SECOND),
        ("result", "中标结果通知书", THIRD)]
    award = notices[0]
    assert award == {
        "format": "tradesys.notice/1", "kind": "award", "title": "中标通知书",
        "document_id": f"A-TS-2026-0001-01-award-{WINNER}",
        "project": {"code": "TS-2026-0001", "name": "市政道路改造工程"},
        "section": {"code": "01", "name": "施工一标段"},
        "procurer": {"name": "某市住房和城乡建设局", "credit_code": PROCURER},
        "agency": {"name": "某招标代理有限公司", "credit_code": AGENCY},
        "addressee": {"name": "甲建设集团有限公司", "credit_code": WINNER},
        "winner": {"name": "甲建设集团有限公司", "credit_code": WINNER},
        "winning_price": {"amount": "35200000.00", "currency": "CNY"},
        "issued_at": "2026-03-23T01:00:00.000000Z",
        "contract_days": 30,
    }
    assert all(n["winner"] == award["winner"] for n in notices)
    assert "contract_days" not in notices[1]
    assert len({n["document_id"] for n in notices}) == 3
    # Pure: the same facts, the same bytes; an issue time in another zone is the same instant.
    again = build_notices(facts(issued_at=ISSUED.astimezone(timezone(timedelta(hours=8)))))
    assert [notice_bytes(n) for n in again] == [notice_bytes(n) for n in notices]
    assert build_notices(facts(price="35200000"))[0]["winning_price"]["amount"] == "35200000.00"
    assert build_notices(facts(agency=None, others=[]))[0]["agency"] is None


@pytest.mark.parametrize("change", [
    {"winner": {"name": "甲", "credit_code": "91110000MA00000000"}},  # bad check character
    {"others": [{"name": "甲", "credit_code": WINNER}]},  # the winner twice
    {"others": [{"name": "乙", "credit_code": SECOND}, {"name": "乙", "credit_code": SECOND}]},
    {"price": "35200000.001"},
    {"price": "-1.00"},
    {"price": 35200000.0},
    {"price": "3.52e7"},
    {"price": "1000000000000000"},  # 10^15: beyond the API's 14 digits
    {"currency": "USD"},
    {"issued_at": datetime(2026, 3, 23, 1, 0)},  # naive
    {"award_id": "../etc"},
    {"contract_days": 0},
    {"project": {"code": "TS-1", "name": "名称\n换行"}},
    {"unexpected": 1},
])
def test_bad_facts_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        facts(**change)


@pytest.fixture(scope="module")
def platform() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_signature_over_the_canonical_json(platform: Ed25519PrivateKey) -> None:
    notice = build_notices(facts())[0]
    data, signature = notice_bytes(notice), sign_notice(platform, notice)
    key = platform.public_key()
    assert verify_notice(data, signature, key) == (
        True, f"genuine 中标通知书 A-TS-2026-0001-01-award-{WINNER}")
    assert verify_notice(data, signature + "\n", key)[0] is True
    edited = [
        data.replace(b"35200000.00", b"35200000.01"),
        data.replace(WINNER.encode(), SECOND.encode()),
        data + b"\n",
        json.dumps(notice, ensure_ascii=False, indent=1, sort_keys=True).encode(),
        json.dumps(notice, ensure_ascii=True, separators=(",", ":"), sort_keys=True).encode(),
        b"[]", b"not json", b"",
        notice_bytes({**notice, "format": "tradesys.notice/2"}),
    ]
    for copy_ in edited:
        assert verify_notice(copy_, signature, key)[0] is False, copy_[:60]
    other_key = Ed25519PrivateKey.generate()
    assert verify_notice(data, sign_notice(other_key, notice), key)[0] is False
    assert verify_notice(data, signature.rstrip("="), key)[0] is False  # another spelling
    assert verify_notice(data, "", key)[0] is False
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert verify_notice(data, flipped, key)[0] is False


def _cli(*args: str | Path, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = None if data_dir is None else {**os.environ, "TRADESYS_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "tradesys.cli", "verify", "notice",
                           *map(str, args)], capture_output=True, text=True, check=False,
                          timeout=60, env=env)


def test_verify_notice_cli(tmp_path: Path, platform: Ed25519PrivateKey) -> None:
    pem = tmp_path / "platform.pem"
    pem.write_text(public_pem(platform))
    for notice in build_notices(facts()):
        path = tmp_path / f"{notice['document_id']}.json"
        sig = tmp_path / f"{notice['document_id']}.json.sig"
        path.write_bytes(notice_bytes(notice))
        sig.write_text(sign_notice(platform, notice) + "\n")
        done = _cli(path, sig, "--key", pem)
        assert (done.returncode, done.stdout.strip()) == (
            0, f"ok: genuine {notice['title']} {notice['document_id']}")

        original = path.read_bytes()
        for edit in (original.replace(b"35200000.00", b"25200000.00"),
                     original.replace("市政".encode(), "市正".encode()), original + b" "):
            path.write_bytes(edit)
            done = _cli(path, sig, "--key", pem)
            assert done.returncode == 1 and "NOT GENUINE" in done.stderr, done
        path.write_bytes(original)
        sig.write_bytes(sig.read_bytes().replace(b"A", b"B", 1) if b"A" in sig.read_bytes()
                        else b"A" + sig.read_bytes()[1:])
        assert _cli(path, sig, "--key", pem).returncode == 1

    other = tmp_path / "other.pem"
    other.write_text(public_pem(Ed25519PrivateKey.generate()))
    notice = build_notices(facts())[0]
    path, sig = tmp_path / "n.json", tmp_path / "n.json.sig"
    path.write_bytes(notice_bytes(notice))
    sig.write_text(sign_notice(platform, notice))
    assert _cli(path, sig, "--key", pem).returncode == 0
    assert _cli(path, sig, "--key", other).returncode == 1  # not the platform's key
    missing = _cli(tmp_path / "absent.json", sig, "--key", pem)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def _pdftotext(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_award_notice_pdf(tmp_path: Path, platform: Ed25519PrivateKey) -> None:
    notice = build_notices(facts())[0]
    signature = sign_notice(platform, notice)
    fingerprint = key_fingerprint(platform.public_key())
    text = _pdftotext(render_notice_pdf(notice, signature, fingerprint), tmp_path, "award")
    flat = re.sub(r"\s+", "", text)
    assert "中标通知书" in text
    assert "甲建设集团有限公司" in flat
    assert "人民币（大写）叁仟伍佰贰拾万元整（小写：35,200,000.00元）" in flat
    assert "2026年3月23日09:00" in flat
    assert "30日内" in flat
    assert notice["document_id"] in flat
    assert notice_sha256(notice) in flat
    assert signature in flat
    assert fingerprint in flat
    assert "tradesysverifynotice" in flat
    assert any(f"统一社会信用代码：{WINNER}" in line for line in text.splitlines())


def test_result_notice_pdf(tmp_path: Path, platform: Ed25519PrivateKey) -> None:
    notice = build_notices(facts())[2]  # to 丙, whose code is the widest letters
    text = _pdftotext(render_notice_pdf(notice, sign_notice(platform, notice)), tmp_path, "r")
    flat = re.sub(r"\s+", "", text)
    assert "中标结果通知书" in text
    assert "丙路桥股份有限公司" in flat
    assert f"中标人：甲建设集团有限公司（统一社会信用代码：{WINNER}）" in flat
    assert "叁仟伍佰贰拾万元整" in flat
    lines = text.splitlines()
    assert any(THIRD in line for line in lines) and any(WINNER in line for line in lines)
    assert notice_sha256(notice) in flat


def test_notice_html_escapes_names(platform: Ed25519PrivateKey) -> None:
    notice = build_notices(facts())[1]  # to 乙, whose name holds markup
    html = render_notice_html(notice, sign_notice(platform, notice))
    assert "<b>乙</b>" not in html
    assert "&lt;b&gt;乙&lt;/b&gt; &amp; 工程有限公司" in html
    assert f'<span class="credit-code">{SECOND}</span>' in html


def test_verify_notice_with_this_installations_key(tmp_path: Path) -> None:
    """Without --key the command pins this installation's receipt key; with none, it checks
    nothing and says so (exit 2), rather than trusting whatever key it is handed."""
    notice = build_notices(facts())[0]
    path, sig = tmp_path / "n.json", tmp_path / "n.json.sig"
    path.write_bytes(notice_bytes(notice))
    empty = tmp_path / "empty"
    empty.mkdir()
    sig.write_text(sign_notice(Ed25519PrivateKey.generate(), notice))
    done = _cli(path, sig, data_dir=empty)
    assert done.returncode == 2 and "--key" in done.stderr
    assert not (empty / "keys").exists()  # no key was made on the way

    installed = tmp_path / "installed"
    key = load_or_create_key(installed / "keys" / "receipt-signing.pem")
    sig.write_text(sign_notice(key, notice))
    assert _cli(path, sig, data_dir=installed).returncode == 0
    sig.write_text(sign_notice(Ed25519PrivateKey.generate(), notice))
    assert _cli(path, sig, data_dir=installed).returncode == 1
