"""The bid-opening record (开标记录) as a PDF.

Why this exists: the opening record is the document bidders confirm and the archive keeps, so it
must be readable without the platform. We build one HTML string (every value goes through
``html.escape``: bidder names and objection texts are user input) and let WeasyPrint lay it out
with the Noto Sans CJK SC font, so the PDF embeds real CJK glyphs rather than tofu.

WeasyPrint is imported inside the function (its import is slow) and rendering is synchronous
and CPU-bound: callers on the event loop run it in a worker thread. Output is not byte-for-byte
deterministic (WeasyPrint stamps creation metadata): compare records by record_sha256, not PDFs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["render_record_pdf"]

_BEIJING = ZoneInfo("Asia/Shanghai")
_NONE = "—"
_OUTCOMES = {"decrypted": "解密成功", "revoked": "撤销（未解密）", "withdrawn": "撤回"}
_CURRENCIES = {"CNY": "元"}

_CSS = """
@page {
  size: A4 landscape;
  margin: 14mm 12mm 18mm 12mm;
  font-family: "Noto Sans CJK SC", sans-serif;
  @bottom-left { content: %(footer)s; font-size: 7pt; color: #444; }
  @bottom-right { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font-size: 8pt; }
}
body { font-family: "Noto Sans CJK SC", sans-serif; font-size: 9pt; line-height: 1.4; }
h1 { text-align: center; font-size: 18pt; margin: 0 0 4mm; }
h2 { font-size: 11pt; margin: 5mm 0 2mm; border-bottom: 1px solid #000; }
table { width: 100%%; border-collapse: collapse; table-layout: fixed; }
th, td { border: 1px solid #666; padding: 1mm 1.5mm; vertical-align: top;
         overflow-wrap: anywhere; text-align: left; }
th { background: #eee; font-weight: bold; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
table.meta th { width: 16%%; }
.hash { font-size: 7pt; word-break: break-all; }
.failed { border: 2px solid #b00; color: #b00; padding: 3mm; margin: 4mm 0; }
.failed strong { font-size: 16pt; }
.pre { white-space: pre-wrap; }
.time { white-space: nowrap; font-size: 8pt; }
"""


def _text(value: object) -> str:
    if value is None or value == "":
        return _NONE
    if isinstance(value, bool):
        return "是" if value else "否"
    return escape(str(value))


def _time(value: object) -> str:
    """ISO-8601 (UTC unless it says otherwise) shown in Beijing time."""
    if not isinstance(value, str) or not value:
        return _text(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return escape(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f'<span class="time">{moment.astimezone(_BEIJING):%Y-%m-%d %H:%M:%S}</span>'


def _money(amount: object, currency: object) -> str:
    if amount is None or amount == "":
        return _NONE
    unit = _CURRENCIES.get(str(currency), str(currency)) if currency else ""
    return escape(f"{amount} {unit}".strip())


def _css_string(value: str) -> str:
    """A CSS string literal; anything but plain characters becomes a hex escape."""
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in " -_:.") else f"\\{ord(ch):06x}"
        for ch in value
    )
    return f'"{safe}"'


def _part(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = record.get(key)
    return value if isinstance(value, Mapping) else {}


def _rows(items: object) -> list[Mapping[str, Any]]:
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def _table(head: list[str], rows: list[list[str]], widths: list[int] | None = None) -> str:
    cols = "".join(f'<col style="width:{w}%">' for w in widths) if widths else ""
    ths = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(head)}">无</td></tr>'
    return (
        f"<table><colgroup>{cols}</colgroup><thead><tr>{ths}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _html(record: Mapping[str, Any]) -> str:
    project, section = _part(record, "project"), _part(record, "section")
    host, keys = _part(record, "host"), _part(record, "key_holders")
    final = record.get("version") == "final"
    keys_text = (
        f"门限 {_text(keys.get('threshold'))} / 共 {_text(keys.get('holders'))} 人，"
        f"已提交 {_text(keys.get('released'))} 份"
    )
    meta = [
        ("项目编号", _text(project.get("code"))),
        ("项目名称", _text(project.get("name"))),
        ("招标人", _text(project.get("procurer"))),
        ("招标代理机构", _text(project.get("agency"))),
        ("标段", f"{_text(section.get('code'))} {_text(section.get('name'))}"),
        ("最高投标限价", _money(section.get("ceiling_price"), section.get("currency"))),
        ("投标截止时间", _time(record.get("bid_deadline"))),
        ("开标时间", _time(record.get("opened_at"))),
    ]
    if final:
        meta.append(("开标结束时间", _time(record.get("closed_at"))))
    meta += [
        ("开标地点", _text(record.get("place"))),
        ("主持人", f"{_text(host.get('name'))}（{_text(host.get('organisation'))}）"),
        ("开标密钥", keys_text),
    ]
    parts = [
        f"<h1>开标记录{'' if final else '（草稿）'}</h1>",
        '<table class="meta">'
        + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in meta)
        + "</table>",
    ]

    bidders = sorted(_rows(record.get("bidders")), key=lambda b: b.get("order") or 0)
    received = []
    for b in bidders:
        outcome = _OUTCOMES.get(str(b.get("outcome")), _text(b.get("outcome")))
        if b.get("reason"):
            outcome += f"：{_text(b.get('reason'))}"
        received.append([
            _text(b.get("order")), _text(b.get("name")), _text(b.get("credit_code")),
            f'<span class="hash">{_text(b.get("envelope_sha256"))}</span>',
            _time(b.get("received_at")), _text(b.get("security")), _text(b.get("signed_in")),
            outcome,
        ])
    parts += [
        "<h2>投标人</h2>",
        _table(
            ["序号", "投标人", "统一社会信用代码", "投标文件摘要值(SHA-256)", "递交时间",
             "保证金", "签到", "解密结果"],
            received, [4, 18, 14, 22, 13, 9, 5, 15],
        ),
    ]

    failed = record.get("failed")
    if isinstance(failed, Mapping):
        parts.append(
            '<div class="failed"><strong>流标</strong><p>原因：'
            f"{_text(failed.get('reason'))}</p><p>有效投标 {_text(failed.get('bids'))} 家，"
            f"少于最低要求 {_text(failed.get('min_bids'))} 家。</p></div>"
        )
    else:
        prices = [
            [_text(b.get("order")), _text(b.get("name")),
             _money(b.get("price"), b.get("currency")), _text(b.get("duration_days")),
             _text(b.get("quality")), _text(b.get("project_manager"))]
            for b in bidders
        ]
        parts += [
            "<h2>唱标</h2>",
            _table(["序号", "投标人", "投标报价", "工期(日历天)", "质量", "项目经理"],
                   prices, [5, 30, 17, 10, 20, 18]),
        ]

    confirmations = [
        [_text(c.get("name")), _text(c.get("credit_code")), _time(c.get("at")),
         f'<span class="hash">{_text(c.get("record_sha256"))}</span>',
         f'<span class="hash">{_text(c.get("key_id"))}</span>']
        for c in _rows(record.get("confirmations"))
    ]
    parts += [
        "<h2>确认（投标人电子签名）</h2>",
        _table(["投标人", "统一社会信用代码", "确认时间", "所确认记录摘要值(SHA-256)",
                "签名密钥标识"], confirmations, [22, 14, 12, 26, 26]),
    ]

    objections = [
        [_text(o.get("id")), _text(o.get("name")), f'<div class="pre">{_text(o.get("text"))}</div>',
         _time(o.get("at")), f'<div class="pre">{_text(o.get("answer"))}</div>',
         _time(o.get("answered_at"))]
        for o in _rows(record.get("objections"))
    ]
    parts += [
        "<h2>异议与答复</h2>",
        _table(["序号", "提出人", "异议", "提出时间", "答复", "答复时间"],
               objections, [4, 15, 29, 13, 26, 13]),
    ]
    if final and record.get("draft_sha256"):
        parts.append(
            f'<p>草稿摘要值(SHA-256)：<span class="hash">{_text(record["draft_sha256"])}</span></p>'
        )

    sha = record.get("record_sha256")
    footer = _css_string(f"记录摘要值(SHA-256): {sha}" if sha else "")
    css = _CSS % {"footer": footer}
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>开标记录</title><style>{css}</style></head><body>{''.join(parts)}</body></html>"
    )


def render_record_pdf(record: Mapping[str, Any]) -> bytes:
    """Render an opening record (``tradesys.opening-record/1``) to PDF bytes. Synchronous."""
    from weasyprint import HTML  # slow import: only when a PDF is actually wanted

    pdf = HTML(string=_html(record)).write_pdf()
    assert pdf is not None
    return pdf
