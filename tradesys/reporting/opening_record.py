"""Reading an opening record (开标记录) for the reports: shared by the data-spec and OCDS faces.

The record is the final one carried whole by ``opening.closed`` / ``opening.failed``
(tradesys/opening/record.py); everything here is a pure function of it, so a report re-built
from the same event is byte-identical.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradesys.clock import DISPLAY_TZ

#: A bid's opening outcome, as the hall and the record's PDF say it.
OUTCOME_ZH = {"decrypted": "解密成功", "revoked": "撤销", "withdrawn": "撤回", None: "未开启"}


def _beijing(value: str | None) -> str | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M:%S")


def money(amount: str | None, currency: str | None = "CNY") -> str | None:
    if amount is None:
        return None
    return f"{amount} 元" if currency in (None, "CNY") else f"{amount} {currency}"


def is_failed(record: dict[str, Any]) -> bool:
    return record.get("failed") is not None


def title(project: dict[str, Any], record: dict[str, Any]) -> str:
    """``测试教学楼工程（施工）开标记录``, with ``（流标）`` for a failed tender."""
    name = f"{project['name']}（{record['section']['name']}）开标记录"
    return f"{name}（流标）" if is_failed(record) else name


def present(record: dict[str, Any]) -> list[str]:
    """The bidders who took part in the hall: signed in, released their own key share (their
    bid was decrypted), confirmed the record or raised an objection — in the record's order."""
    acted = {c["name"] for c in record.get("confirmations") or []}
    acted |= {o["name"] for o in record.get("objections") or []}
    return [b["name"] for b in record["bidders"]
            if b.get("signed_in") or b.get("outcome") == "decrypted" or b["name"] in acted]


def _bidder_line(bidder: dict[str, Any], failed: bool) -> str:
    head = f"{bidder['order']}. {bidder['name']}："
    if failed:
        return head + f"投标文件未开启（递交时间 {_beijing(bidder['received_at'])}）。"
    outcome = bidder.get("outcome")
    if outcome != "decrypted":
        why = f"（{bidder['reason']}）" if bidder.get("reason") else ""
        return head + f"{OUTCOME_ZH.get(outcome, outcome)}{why}，未唱标。"
    parts = []
    if bidder.get("price") is not None:
        parts.append(f"投标报价 {money(bidder['price'], bidder.get('currency'))}")
    if bidder.get("duration_days") is not None:
        parts.append(f"工期 {bidder['duration_days']} 日历天")
    if bidder.get("quality"):
        parts.append(f"质量 {bidder['quality']}")
    if bidder.get("project_manager"):
        parts.append(f"项目经理 {bidder['project_manager']}")
    return head + ("，".join(parts) if parts else "解密成功") + "。"


def content(record: dict[str, Any]) -> str:
    """A readable summary (BID_OPENING_CONTENT): each bid's reading and outcome, or 流标 and
    why; the objections with their answers; who confirmed the record."""
    bidders = record["bidders"]
    failed = record.get("failed")
    lines: list[str] = []
    if failed is not None and not failed["bids"]:
        lines.append(f"流标：无投标人递交投标文件（至少需要 {failed['min_bids']} 份）。")
    elif failed is not None:
        lines.append(f"流标：递交投标文件 {failed['bids']} 份，少于 {failed['min_bids']} 份，"
                     "投标文件均未开启。")
        lines.append(f"流标原因：{failed['reason']}")
    else:
        opened = sum(1 for b in bidders if b.get("outcome") == "decrypted")
        lines.append(f"递交投标文件 {len(bidders)} 份，解密成功 {opened} 份。")
    ceiling = money(record["section"].get("ceiling_price"), record["section"].get("currency"))
    if ceiling is not None:
        lines.append(f"最高投标限价：{ceiling}。")
    lines.extend(_bidder_line(bidder, failed is not None) for bidder in bidders)
    objections = record.get("objections") or []
    if objections:
        lines.append(f"异议 {len(objections)} 件：")
        for item in objections:
            answer = (f"答复（{_beijing(item['answered_at'])}）：{item['answer']}"
                      if item.get("answer") is not None else "未答复")
            lines.append(f"异议{item['id']}. {item['name']}（{_beijing(item['at'])}）："
                         f"{item['text']} {answer}")
    else:
        lines.append("开标过程中无异议。")
    if failed is None:
        confirmed = [c["name"] for c in record.get("confirmations") or []]
        lines.append(f"确认开标记录的投标人：{'、'.join(confirmed) if confirmed else '无'}。")
        unconfirmed = record.get("unconfirmed") or []
        if unconfirmed:
            lines.append(f"未在确认时间内确认、视为无异议的投标人：{'、'.join(unconfirmed)}。")
    return "\n".join(lines)
