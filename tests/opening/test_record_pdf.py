"""The opening record PDF, read back with poppler (pdftotext, pdfinfo, pdffonts)."""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tradesys.identity.credit_code import make_credit_code
from tradesys.opening.record_pdf import render_record_html, render_record_pdf

SCRIPT_NAME = "<script>alert(1)</script> & 北京某某建设有限公司"
RECORD_SHA = "ab" * 32

RECORD: dict[str, Any] = {
    "format": "tradesys.opening-record/1",
    "version": "final",
    "project": {"code": "TS-2026-0001", "name": "市政道路改造工程", "procurer": "某市住建局",
                "agency": "某招标代理有限公司"},
    "section": {"code": "01", "name": "施工一标段", "ceiling_price": "12000000.00",
                "currency": "CNY"},
    "bid_deadline": "2026-12-20T02:00:00Z",
    "opened_at": "2026-12-20T02:00:00Z",
    "closed_at": "2026-12-20T03:30:15Z",
    "place": "线上开标大厅",
    "host": {"name": "张三", "organisation": "某招标代理有限公司"},
    "key_holders": {"threshold": 2, "holders": 3, "released": 2},
    "failed": None,
    "bidders": [
        {"order": 1, "name": "甲建设集团有限公司", "credit_code": "91110000MA00000001",
         "envelope_sha256": "0f" * 32, "received_at": "2026-12-19T08:15:00Z",
         "security": "已缴纳", "signed_in": True, "outcome": "decrypted", "reason": None,
         "price": "11500000.00", "currency": "CNY", "duration_days": 365, "quality": "合格",
         "project_manager": "李四"},
        {"order": 2, "name": SCRIPT_NAME, "credit_code": "91110000MA00000002",
         "envelope_sha256": "1e" * 32, "received_at": "2026-12-19T09:00:00Z",
         "security": "已缴纳", "signed_in": True, "outcome": "decrypted", "reason": None,
         "price": "11800000.00", "currency": "CNY", "duration_days": 360, "quality": "合格",
         "project_manager": "王五"},
        {"order": 3, "name": "丙工程有限公司", "credit_code": "91110000MA00000003",
         "envelope_sha256": "2d" * 32, "received_at": "2026-12-19T10:00:00Z",
         "security": None, "signed_in": False, "outcome": "revoked", "reason": "投标人未解密",
         "price": None, "currency": None, "duration_days": None, "quality": None,
         "project_manager": None},
    ],
    "confirmations": [
        {"name": "甲建设集团有限公司", "credit_code": "91110000MA00000001",
         "at": "2026-12-20T03:00:00Z", "record_sha256": "3c" * 32},
    ],
    "objections": [
        {"id": 1, "name": "丙工程有限公司", "text": "我方密钥设备故障 <b>请求</b> 延时",
         "at": "2026-12-20T02:40:00Z", "answer": "不予延时，依规视为撤销。",
         "answered_at": "2026-12-20T02:50:00Z"},
    ],
    "draft_sha256": "4b" * 32,
    "record_sha256": RECORD_SHA,
}


def _poppler(tool: str, pdf: Path) -> str:
    args = [tool, "-layout", str(pdf), "-"] if tool == "pdftotext" else [tool, str(pdf)]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("record") / "record.pdf"
    path.write_bytes(render_record_pdf(RECORD))
    return path


def test_record_text(rendered: Path) -> None:
    assert rendered.read_bytes().startswith(b"%PDF-")
    text = _poppler("pdftotext", rendered)
    flat = re.sub(r"\s+", "", text)
    assert "开标记录" in text
    for name in ("甲建设集团有限公司", "丙工程有限公司"):
        assert name in flat
    # The markup shows up as text: it was escaped, not interpreted.
    assert "<script>alert(1)</script>&北京某某建设有限公司" in flat
    assert "<b>请求</b>" in flat
    assert "2026-12-2010:00:00" in flat  # 02:00Z shown in Beijing time
    assert "2026-12-2011:30:15" in flat
    assert "2026-12-1916:15:00" in flat
    assert "撤销" in text
    assert "解密成功" in text
    assert "不予延时" in flat
    assert "流标" not in text
    assert RECORD_SHA in flat  # footer
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*\d+\s*页", text)


def test_record_pages_and_fonts(rendered: Path) -> None:
    info = _poppler("pdfinfo", rendered)
    pages = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    assert pages and int(pages.group(1)) >= 1
    # Every font is an embedded Noto Sans CJK face: real CJK glyphs, no tofu, no fallback.
    rows = _poppler("pdffonts", rendered).splitlines()[2:]
    assert rows
    for row in rows:
        assert re.search(r"\+Noto-?Sans-?CJK", row), row
        assert row.split()[-5] == "yes", row  # the "emb" column


def test_failed_record(tmp_path: Path) -> None:
    record = copy.deepcopy(RECORD)
    record["version"] = "draft"
    record["failed"] = {"reason": "有效投标人不足三家", "bids": 2, "min_bids": 3}
    for key in ("closed_at", "draft_sha256", "record_sha256"):
        record.pop(key)
    path = tmp_path / "failed.pdf"
    path.write_bytes(render_record_pdf(record))
    text = _poppler("pdftotext", path)
    assert "流标" in text
    assert "有效投标人不足三家" in text
    assert "草稿" in text
    assert "投标报价" not in text


def test_all_none_values(tmp_path: Path) -> None:
    record = {key: None for key in RECORD}
    path = tmp_path / "empty.pdf"
    path.write_bytes(render_record_pdf(record))
    assert "开标记录" in _poppler("pdftotext", path)


def test_credit_codes_unbroken_and_money_grouped(tmp_path: Path) -> None:
    """Issue 12: each 18-character credit code stays on one line of the laid-out page (even one
    of the widest letters, W, which the old renderer broke), clear of the next column, and
    amounts have thousands separators, exactly as the web shows them (tradesys/formatting.py)."""
    record = copy.deepcopy(RECORD)
    wide = make_credit_code("91110000MWWWWWWWW")
    record["bidders"][0]["credit_code"] = record["confirmations"][0]["credit_code"] = wide
    path = tmp_path / "wide.pdf"
    path.write_bytes(render_record_pdf(record))
    lines = _poppler("pdftotext", path).splitlines()
    for bidder in record["bidders"]:
        code = bidder["credit_code"]
        assert any(re.search(f"{code}\\s", line) for line in lines), f"{code} is broken"
    assert sum(bool(re.search(f"{wide}\\s", line)) for line in lines) == 2  # + confirmations
    for shown in ("12,000,000.00 元", "11,500,000.00 元", "11,800,000.00 元"):
        assert any(shown in line for line in lines), shown
    assert not any("11500000" in line for line in lines)


def test_record_html_is_escaped() -> None:
    """The HTML the PDF is laid out from: user text escaped, credit codes in their span."""
    html = render_record_html(RECORD)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 北京某某建设有限公司" in html
    assert '<span class="credit-code">91110000MA00000003</span>' in html
