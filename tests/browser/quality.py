"""The quality bars every page state the browser tests reach must meet (issue 12):

- **accessibility**: axe-core (installed from the npm registry for the tests only, in
  tests/browser/node_modules by ``scripts/test-deps``; never served) finds no violation of
  impact *serious* or *critical*;
- **no horizontal scrolling** at a laptop's 1366 × 768 and a phone's 390 × 844;
- **screenshots** at both sizes, written to ``TRADESYS_SCREENSHOT_DIR`` (default
  ``test-artifacts/screenshots`` under the repository, git-ignored) for CI to keep.

A test calls :func:`check` (or ``screenshot``, which is the same) at each distinct page state it
reaches, with a name for the state. A state is checked once per test run: a second test
reaching the same name skips it, so the bars cost about a second per distinct state, not per
visit. axe is injected with ``page.evaluate`` (DevTools, not a ``<script>``), so the page's
Content-Security-Policy stays as strict as served.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
#: The sizes every page must fit without scrolling sideways.
SIZES = {"1366": {"width": 1366, "height": 768}, "390": {"width": 390, "height": 844}}
BLOCKING = ("serious", "critical")

_checked: set[str] = set()


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("TRADESYS_SCREENSHOT_DIR", "test-artifacts/screenshots"))
    return folder if folder.is_absolute() else ROOT / folder


@cache
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/test-deps (npm ci in tests/browser)")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict]:
    """The serious and critical violations axe finds in the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    found: list[dict] = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {resultTypes: ['violations']});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
            }));
        }""")
    return [v for v in found if v["impact"] in BLOCKING]


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its window (0 when it fits)."""
    wider: int = page.evaluate(
        "() => document.scrollingElement.scrollWidth - document.documentElement.clientWidth")
    return max(0, wider)


def too_wide(page: Page) -> list[str]:
    """The outermost elements that reach past the window's right edge (to say what to fix)."""
    found: list[str] = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const past = (e) => e.getBoundingClientRect().right > width + 0.5;
        const out = [];
        for (const e of document.body.querySelectorAll('*')) {
            if (!past(e) || (e.parentElement !== document.body && past(e.parentElement))) continue;
            out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (typeof e.className === 'string' && e.className ? '.' + e.className : ''));
        }
        return out.slice(0, 8);
    }""")
    return found


def check(page: Page, state: str) -> None:
    """Asserts the quality bars for ``state`` (a short name: ``agency-announced``) once per run,
    and writes its screenshots ``<state>-1366.png`` and ``<state>-390.png``."""
    state = re.sub(r"\.png$", "", state)
    if state in _checked:
        return
    _checked.add(state)
    violations = axe_violations(page)
    assert violations == [], f"{state}: axe finds serious/critical violations: {violations}"
    folder = screenshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    wide: dict[str, int] = {}
    culprits: dict[str, list[str]] = {}
    try:
        for label, size in SIZES.items():
            page.set_viewport_size(size)
            wide[label] = overflow(page)
            if wide[label]:
                culprits[label] = too_wide(page)
            page.screenshot(path=str(folder / f"{state}-{label}.png"), full_page=True)
    finally:
        if before is not None:
            page.set_viewport_size(before)
    assert wide == {"1366": 0, "390": 0}, (
        f"{state} scrolls sideways (px too wide): {wide}; reaching past the edge: {culprits}")
