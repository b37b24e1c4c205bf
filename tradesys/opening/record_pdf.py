"""The bid-opening record (开标记录) as a PDF.

Why this exists: the opening record is the document bidders confirm and the archive keeps, so it
must be readable without the platform. It is the template ``opening_record.html`` of the one
document renderer (``tradesys/documents/render.py``: autoescaped, so bidder names and objection
texts are shown, never interpreted), with money, times and credit codes written by the shared
formatters exactly as the web pages write them.

Rendering is synchronous and CPU-bound: callers on the event loop run it in a worker thread.
Output is not byte-for-byte deterministic (WeasyPrint stamps creation metadata): compare records
by record_sha256, not PDFs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradesys.documents.render import render_html, render_pdf

__all__ = ["render_record_html", "render_record_pdf"]

TEMPLATE = "opening_record.html"


def render_record_html(record: Mapping[str, Any]) -> str:
    """The record (``tradesys.opening-record/1``) as one self-contained HTML document."""
    return render_html(TEMPLATE, {"record": record})


def render_record_pdf(record: Mapping[str, Any]) -> bytes:
    """Render an opening record (``tradesys.opening-record/1``) to PDF bytes. Synchronous."""
    return render_pdf(TEMPLATE, {"record": record})
