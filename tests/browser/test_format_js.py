"""format.js, run in chromium, against the same vectors as tradesys/formatting.py.

The page runs in Los Angeles time (conftest.BROWSER_TIMEZONE), so a formatter that used the
browser's zone instead of Beijing's would fail here. Every vector is evaluated in the page and
compared in Python, so one failing case names itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tradesys.demo.server import InProcessServer

pytestmark = pytest.mark.browser

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "format_vectors.json").read_text(encoding="utf-8"))

RUN = """async (vectors) => {
  const f = await import(new URL('js/format.js', location.href).href);
  const ui = await import(new URL('js/ui.js', location.href).href);
  const attempt = (call) => { try { return {ok: call()}; } catch (e) { return {error: e.name}; } };
  return {
    same: ui.formatMoney === f.formatMoney && ui.formatBeijing === f.formatBeijing
      && ui.parseInstant === f.parseInstant,
    money: vectors.money.map(([a]) => attempt(() => f.formatMoney(a))),
    money_currency: vectors.money_currency.map(([a, c]) => attempt(() => f.formatMoney(a, c))),
    money_refused: vectors.money_refused.map((a) => attempt(() => f.formatMoney(a))),
    capital: vectors.capital.map(([a]) => attempt(() => f.capitalAmount(a))),
    capital_refused: vectors.capital_refused.map((a) => attempt(() => f.capitalAmount(a))),
    short_instant: vectors.short_instant.map(
      ([t, seconds]) => attempt(() => f.formatBeijing(t, {seconds}))),
    long_instant: vectors.long_instant.map(([t]) => attempt(() => f.formatBeijingLong(t))),
    iso_date: vectors.iso_date.map(([t]) => attempt(() => f.isoDate(t))),
    long_date: vectors.long_date.map(([t]) => attempt(() => f.longDate(t))),
    instant_refused: vectors.instant_refused.map((t) => [
      attempt(() => f.formatBeijing(t)), attempt(() => f.formatBeijingLong(t)),
      attempt(() => f.isoDate(t))]),
    date_refused: vectors.date_refused.map((d) => [
      attempt(() => f.isoDate(d)), attempt(() => f.longDate(d))]),
    credit_code: vectors.credit_code.map(([c]) => attempt(() => f.creditCodeEl(c).outerHTML)),
    credit_code_valid: vectors.credit_code_valid.map(([c]) => f.isValidCreditCode(c)),
    nowrap: (() => {
      const span = document.body.appendChild(f.creditCodeEl('91110000MA00000001'));
      return getComputedStyle(span).whiteSpace;
    })(),
  };
}"""


def test_format_js_matches_the_vectors(page: Page, server: InProcessServer) -> None:
    page.goto(f"{server.url}/")
    results = page.evaluate(RUN, VECTORS)
    assert results.pop("same") is True  # ui.js re-exports format.js: one formatter, not two
    # The web's stylesheet keeps a credit code on one line too.
    assert results.pop("nowrap") == "nowrap"
    for key in ("money", "capital", "long_instant", "iso_date", "long_date"):
        assert [r.get("ok", r) for r in results[key]] == [v[-1] for v in VECTORS[key]], key
    assert [r.get("ok", r) for r in results["money_currency"]] == [
        v[-1] for v in VECTORS["money_currency"]]
    assert [r.get("ok", r) for r in results["short_instant"]] == [
        v[-1] for v in VECTORS["short_instant"]]
    assert [r.get("ok", r) for r in results["credit_code"]] == [
        v[1] for v in VECTORS["credit_code"]]
    assert results["credit_code_valid"] == [v[1] for v in VECTORS["credit_code_valid"]]
    for key in ("money_refused", "capital_refused"):
        assert results[key] == [{"error": "RangeError"}] * len(VECTORS[key]), key
    assert results["date_refused"] == [[{"error": "RangeError"}] * 2] * len(
        VECTORS["date_refused"])
    assert results["instant_refused"] == [[{"error": "RangeError"}] * 3] * len(
        VECTORS["instant_refused"])
