"""The renderer's own promises: which templates ship, and that its markup-making filters
escape what they are given (the templates' use of them is covered by each document's tests)."""

from __future__ import annotations

import re

import pytest
from jinja2 import Undefined

from tradesys.documents import render
from tradesys.documents.render import TEMPLATES, template_names


def test_shipped_templates() -> None:
    assert template_names() == ["award_notice.html", "contract_amendment.html",
                                "contract_goods.html", "contract_works.html",
                                "evaluation_report.html", "opening_record.html",
                                "result_notice.html"]
    assert (TEMPLATES / "documents.css").is_file()
    assert (TEMPLATES / "evaluation_report.schema.json").is_file()


@pytest.mark.parametrize("value", ['";} body { display: none } @page { content: "',
                                   "line\nbreak", "\\", "记录摘要值"])
def test_css_string_cannot_leave_the_string(value: str) -> None:
    literal = str(render._css_string(value))
    inner = literal[1:-1]
    assert literal[0] == literal[-1] == '"'
    assert re.fullmatch(r"(?:[A-Za-z0-9 \-_:.]|\\[0-9a-f]{6})*", inner), literal


def test_filters_for_missing_and_hostile_values() -> None:
    assert render._text(None) == render._text("") == render._text(Undefined()) == "—"
    assert (render._text(True), render._text(False)) == ("是", "否")
    assert str(render._credit_code("<x>")) == '<span class="credit-code">&lt;x&gt;</span>'
    assert render._credit_code(None) == "—"
    money = render._environment().filters["money"]
    assert money(None) == "—" and money("1000") == "1,000.00 元"
    with pytest.raises(ValueError):
        money("1,000")  # a malformed amount is an error, never shown as it came


def test_autoescape_everywhere() -> None:
    html = render.render_html("opening_record.html", {"record": {
        "project": {"name": "<img src=x onerror=alert(1)>"}}})
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
