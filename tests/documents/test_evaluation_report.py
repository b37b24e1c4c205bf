"""The evaluation report (评标报告): a realistic hand-made report (five members, four criteria,
four bidders of which one is rejected, a dissent, a member who refused to sign) checked against
the JSON Schema shipped beside the template, then rendered and read back with poppler.

The scoring step (tradesys/evaluation) will fill this shape next; until then this report is the
example of record (docs/documents.md)."""

from __future__ import annotations

import copy
import hashlib
import re
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tradesys.bids.encoding import b64u, unb64u
from tradesys.documents.evaluation_report import (
    body_sha256,
    check_report,
    render_report_html,
    render_report_pdf,
    report_schema,
    signing_message,
)
from tradesys.identity.credit_code import make_credit_code

MEMBERS = [("m1", "王建国", "chair", "expert"), ("m2", "李秀英", "member", "expert"),
           ("m3", "张伟", "member", "expert"), ("m4", "刘洋", "member", "expert"),
           ("m5", "陈静", "member", "procurer_representative")]
CRITERIA = [("P", "投标报价", "price", "30"),
            ("T1", "施工方案与技术措施", "technical", "40"),
            ("T2", "施工组织与进度计划", "technical", "20"),
            ("C", "企业业绩与信誉", "commercial", "10")]
PROCURER = make_credit_code("11110000MB0000001")
AGENCY = make_credit_code("91110000MC0000001")
A, B, C, D = (make_credit_code(f"91110000MA000000{i}") for i in range(1, 5))
BIDDERS = [
    ("甲建设集团有限公司", A, "34720000.00", None),
    ("乙路桥工程有限公司", B, "34980000.00", None),
    ("丙市政工程有限公司 <i>联合体</i>", C, "35050000.00", None),
    ("丁建筑安装有限公司", D, "33100000.00",
     {"reason": "投标保证金金额不足，且未按招标文件要求提供项目经理注册证书。",
      "basis": "招标文件第二章 投标人须知 3.4.1"}),
]
#: Each member's scores per compliant bidder, in the order of CRITERIA.
SCORES = {
    A: [["29.50", "36", "18", "9"], ["29.50", "35", "17.5", "9"], ["29.50", "37", "18", "8.5"],
        ["29.50", "34", "17", "9"], ["29.50", "36", "18", "9"]],
    B: [["28.80", "37", "18.5", "8"], ["28.80", "36", "18", "8"], ["28.80", "38", "19", "8"],
        ["28.80", "33", "16", "7.5"], ["28.80", "36.5", "18", "8"]],
    C: [["28.60", "33", "16", "9.5"], ["28.60", "32", "15.5", "9"], ["28.60", "34", "16", "9.5"],
        ["28.60", "31", "15", "9"], ["28.60", "33", "16.5", "9.5"]],
}


def _mean(values: list[Decimal]) -> Decimal:
    return (sum(values) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def make_report() -> tuple[dict[str, Any], dict[str, ec.EllipticCurvePrivateKey]]:
    """The report as the evaluation step will hand it over, signed by four of five members."""
    scores, aggregate = [], []
    for code, rows in SCORES.items():
        totals = []
        for (member_id, *_), row in zip(MEMBERS, rows, strict=True):
            total = sum(Decimal(v) for v in row)
            totals.append(total)
            scores.append({"member_id": member_id, "credit_code": code, "total": f"{total}",
                           "by_criterion": {c[0]: v for c, v in zip(CRITERIA, row, strict=True)}})
        aggregate.append({"credit_code": code, "score": f"{_mean(totals)}",
                          "evaluated_price": None})
    aggregate.sort(key=lambda a: Decimal(a["score"]), reverse=True)
    for rank, entry in enumerate(aggregate, 1):
        entry["rank"] = rank
    report: dict[str, Any] = {
        "format": "tradesys.evaluation-report/1",
        "report_id": "ER-TS-2026-0001-01",
        "project": {"code": "TS-2026-0001", "name": "市政道路改造工程"},
        "section": {"code": "01", "name": "施工一标段"},
        "procurer": {"name": "某市住房和城乡建设局", "credit_code": PROCURER},
        "agency": {"name": "某招标代理有限公司", "credit_code": AGENCY},
        "method": "comprehensive",
        "aggregation": "mean",
        "tie_rule": "得分相同时，技术得分高者优先；技术得分也相同时，投标报价低者优先。",
        "started_at": "2026-03-20T01:30:00.000000Z",
        "completed_at": "2026-03-20T08:45:00.000000Z",
        "committee": [{"member_id": m, "name": n, "role": r, "seat": s}
                      for m, n, r, s in MEMBERS],
        "criteria": [{"id": i, "name": n, "category": c, "max_score": x}
                     for i, n, c, x in CRITERIA],
        "bidders": [{"name": n, "credit_code": code, "price": {"amount": p, "currency": "CNY"},
                     "compliant": r is None, "rejection": r} for n, code, p, r in BIDDERS],
        "scores": scores,
        "aggregate": aggregate,
        "candidates": [{"rank": a["rank"], "credit_code": a["credit_code"]}
                       for a in aggregate[:3]],
        "dissent": [{"member_id": "m4",
                     "opinion": "对乙路桥工程有限公司施工方案评分偏高持保留意见。",
                     "reasons": "其深基坑支护方案未附计算书，\n"
                                "按评分标准第 2.3 款应扣 3 分以上。"}],
        "signatures": [],
    }
    keys = {m[0]: ec.generate_private_key(ec.SECP256R1()) for m in MEMBERS[:4]}
    for member_id, *_ in MEMBERS:
        key = keys.get(member_id)
        if key is None:
            report["signatures"].append({"member_id": member_id, "status": "refused",
                                         "signed_at": None, "key_id": None, "signature": None})
            continue
        r, s = decode_dss_signature(key.sign(signing_message(report, member_id),
                                             ec.ECDSA(hashes.SHA256())))
        public = key.public_key().public_bytes(*_X962)
        report["signatures"].append({
            "member_id": member_id, "status": "signed", "signed_at": "2026-03-20T08:50:00Z",
            "key_id": hashlib.sha256(public).hexdigest(),
            "signature": b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))})
    return report, keys


_X962 = (Encoding.X962, PublicFormat.UncompressedPoint)


def test_the_example_report_is_valid_and_its_signatures_check() -> None:
    report, keys = make_report()
    assert check_report(report) == []
    # By hand: 甲 (92.5 + 91 + 93 + 89.5 + 92.5) / 5 = 91.70; 乙 453.5 / 5 = 90.70; 丙 86.30.
    assert [(a["rank"], a["credit_code"], a["score"]) for a in report["aggregate"]] == [
        (1, A, "91.70"), (2, B, "90.70"), (3, C, "86.30")]
    # The signatures are over the body: adding signatures does not change what is signed.
    unsigned = {**report, "signatures": []}
    assert body_sha256(unsigned) == body_sha256(report)
    for entry in report["signatures"]:
        if entry["status"] != "signed":
            continue
        raw = unb64u(entry["signature"], field="signature")
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        keys[entry["member_id"]].public_key().verify(
            der, signing_message(report, entry["member_id"]), ec.ECDSA(hashes.SHA256()))


def _broken(change: str) -> dict[str, Any]:
    report, _ = make_report()
    report = copy.deepcopy(report)
    if change == "four candidates":
        report["candidates"].append({"rank": 4, "credit_code": D})
    elif change == "float score":
        report["scores"][0]["total"] = 91.5
    elif change == "unknown member":
        report["dissent"][0]["member_id"] = "m9"
    elif change == "rejected candidate":
        report["candidates"][2]["credit_code"] = D
    elif change == "missing criterion":
        del report["scores"][0]["by_criterion"]["C"]
    elif change == "two chairs":
        report["committee"][1]["role"] = "chair"
    elif change == "rank gap":
        report["aggregate"][1]["rank"] = 3
    elif change == "signed without signature":
        report["signatures"][0]["signature"] = None
    elif change == "rejection without reason":
        report["bidders"][3]["rejection"] = None
    elif change == "extra field":
        report["notes"] = "x"
    elif change == "bad credit code":
        report["bidders"][0]["credit_code"] = "91110000MA00000000"
    return report


@pytest.mark.parametrize("change", [
    "four candidates", "float score", "unknown member", "rejected candidate",
    "missing criterion", "two chairs", "rank gap", "signed without signature",
    "rejection without reason", "extra field", "bad credit code"])
def test_broken_reports_are_refused(change: str) -> None:
    report = _broken(change)
    assert check_report(report) != []
    with pytest.raises(ValueError, match="not a valid evaluation report"):
        render_report_html(report)


def test_schema_states_the_limits() -> None:
    schema = report_schema()
    assert schema["properties"]["candidates"]["maxItems"] == 3
    assert set(schema["required"]) >= {"committee", "scores", "aggregate", "candidates",
                                       "dissent", "signatures"}


def test_report_pdf(tmp_path: Path) -> None:
    report, _ = make_report()
    path = tmp_path / "report.pdf"
    path.write_bytes(render_report_pdf(report))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "评标报告" in text
    assert "综合评估法" in flat
    for name in ("王建国", "陈静", "甲建设集团有限公司", "丁建筑安装有限公司"):
        assert name in flat
    assert "丙市政工程有限公司<i>联合体</i>" in flat  # escaped, shown as text
    assert "否决：投标保证金金额不足" in flat
    assert "34,720,000.00元" in flat and "33,100,000.00元" in flat
    assert "91.70" in flat and "90.70" in flat and "86.30" in flat
    assert "第一名甲建设集团有限公司" in flat
    assert "对乙路桥工程有限公司施工方案评分偏高持保留意见" in flat
    assert "拒签且未说明理由" in flat
    assert body_sha256(report) in flat
    assert "2026年3月20日09:30" in flat  # started_at in Beijing time
    lines = text.splitlines()
    for code in (A, B, C, D):
        assert any(code in line for line in lines), code


def test_report_html_escapes() -> None:
    report, _ = make_report()
    html = render_report_html(report)
    assert "<i>联合体</i>" not in html and "&lt;i&gt;联合体&lt;/i&gt;" in html
