"""The one renderer: templates (data files in ``templates/``) to HTML and to PDF.

Why Jinja2: the templates are files a non-programmer can read and change (layout, wording),
apart from the code that fills them; Jinja2 gives us autoescaping of every value by default
(bidder names and objection texts are user input), template inheritance for the shared page
frame, and loops and conditionals without writing a template language ourselves. A hand-made
renderer would have to re-invent escaping contexts; DESIGN.md §4 already chose Jinja2.

The environment is strict about what it is given: autoescape is on for every template, an
undefined variable renders as empty (a missing value is shown as "—" by the filters, so an
incomplete draft record still renders), and the only way to put markup into the output is a
filter of this module that escapes its input first (``credit_code``). Templates are ours and
ship in the wheel; no template ever comes from a user, so no sandbox is needed.

The filters are the shared formatters (``tradesys.formatting``), so a PDF shows money, times
and credit codes exactly as the web pages do (``js/format.js``):

``money``, ``capital`` (大写), ``instant`` (``2026-03-23 09:00``; ``instant(seconds=True)``),
``long_instant`` (``2026年3月23日 09:00``), ``long_date``, ``iso_date``, ``credit_code``
(a span that never breaks), ``text`` (``None`` or empty → "—"), ``css_string`` (a CSS string
literal for ``@page`` margin boxes).

WeasyPrint is imported only when a PDF is wanted (its import is slow), and rendering is
synchronous and CPU-bound: callers on the event loop run it in a worker thread. PDFs are not
byte-for-byte deterministic (WeasyPrint stamps creation metadata): compare documents by the
SHA-256 of their JSON, never by the PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, Undefined
from markupsafe import Markup

from tradesys import formatting

__all__ = ["TEMPLATES", "render_html", "render_pdf", "template_names"]

TEMPLATES = Path(str(files("tradesys.documents"))) / "templates"
DASH = formatting.DASH


def _missing(value: object) -> bool:
    return value is None or value == "" or isinstance(value, Undefined)


def _lenient(formatter: Callable[..., str]) -> Callable[..., str]:
    """A formatter that shows a missing value as "—" (bad values still raise)."""

    def apply(value: object, *args: Any, **kwargs: Any) -> str:
        return DASH if _missing(value) else formatter(value, *args, **kwargs)

    apply.__doc__ = formatter.__doc__
    return apply


def _text(value: object) -> object:
    if _missing(value):
        return DASH
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _credit_code(value: object) -> Markup | str:
    if _missing(value):
        return DASH
    return Markup(formatting.credit_code_html(str(value)))  # noqa: S704 (escaped inside)


def _css_string(value: object) -> Markup:
    """A CSS string literal; anything but plain ASCII letters, digits and ``-_:. `` becomes a
    hex escape, so no value can end the string or the rule."""
    text = "" if _missing(value) else str(value)
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in " -_:.") else f"\\{ord(ch):06x}"
        for ch in text
    )
    return Markup(f'"{safe}"')  # noqa: S704 (every other character is escaped above)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        money=_lenient(formatting.money),
        capital=_lenient(formatting.capital_amount),
        instant=_lenient(formatting.short_instant),
        long_instant=_lenient(formatting.long_instant),
        long_date=_lenient(formatting.long_date),
        iso_date=_lenient(formatting.iso_date),
        credit_code=_credit_code,
        text=_text,
        css_string=_css_string,
    )
    return env


def template_names() -> list[str]:
    """The document templates shipped (``*.html`` that are not partials, ``_*.html``)."""
    return sorted(p.name for p in TEMPLATES.glob("*.html") if not p.name.startswith("_"))


def render_html(template: str, context: Mapping[str, Any]) -> str:
    """One template rendered to a complete HTML document (its CSS inlined)."""
    return _environment().get_template(template).render(context)


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Documents are self-contained (CSS inlined, fonts from the system): WeasyPrint fetches
    nothing, so no value in a document can make the renderer open a file or a URL."""
    raise ValueError(f"documents fetch no resources: {url[:80]}")


def render_pdf(template: str, context: Mapping[str, Any]) -> bytes:
    """The same HTML laid out by WeasyPrint. Synchronous and CPU-bound."""
    from weasyprint import HTML  # slow import: only when a PDF is actually wanted

    html = HTML(string=render_html(template, context), url_fetcher=_no_fetching)
    pdf = html.write_pdf()
    assert pdf is not None
    return pdf
