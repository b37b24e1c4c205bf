"""The electronic seal (电子印章) each signature shows: a red round seal drawn from the
organisation's name, with the signer and the signing time beneath.

Why drawn, not uploaded: the appearance is only a picture of the signature (the proof is the
CMS signature under it), and drawing it from the certificate's organisation name means every
seal on the platform looks alike and no one can upload a picture of somebody else's seal. The
characters of the name are set one by one around the rim (each rotated), so the drawing needs
nothing from the SVG renderer beyond ``<text>`` with a transform. It is laid out by WeasyPrint
with Noto CJK like every other document and imported into the signature field's appearance
as a one-page PDF (pyHanko's stamp background).
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache
from html import escape

from tradesys import formatting

__all__ = ["seal_html", "seal_pdf"]

#: The signature field's size in points (contracts.generation.SIGNATURE_BOXES).
WIDTH = 220
HEIGHT = 200
_RADIUS = 70
_RED = "#d7000f"


def _rim(name: str, cx: float, cy: float) -> str:
    """The name along the upper arc, from about eight o'clock to four o'clock."""
    chars = list(name)[:24]
    span = min(240.0, 20.0 * len(chars))
    size = 17 if len(chars) <= 12 else 13
    out = []
    for index, char in enumerate(chars):
        angle = -span / 2 + span * (index + 0.5) / len(chars)  # degrees from twelve o'clock
        rad = math.radians(angle)
        x = cx + (_RADIUS - 15) * math.sin(rad)
        y = cy - (_RADIUS - 15) * math.cos(rad)
        out.append(
            f'<text x="0" y="0" font-size="{size}" text-anchor="middle" dominant-baseline="central"'
            f' transform="translate({x:.2f} {y:.2f}) rotate({angle:.2f})">{escape(char)}</text>')
    return "".join(out)


def _star(cx: float, cy: float, r: float) -> str:
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.38
        angle = math.radians(-90 + 36 * k)
        points.append(f"{cx + radius * math.cos(angle):.2f},{cy + radius * math.sin(angle):.2f}")
    return f'<polygon points="{" ".join(points)}" fill="{_RED}"/>'


def seal_html(organization: str, signer: str, at: datetime) -> str:
    cx, cy = WIDTH / 2, _RADIUS + 4
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{2 * _RADIUS + 8}"'
        f' viewBox="0 0 {WIDTH} {2 * _RADIUS + 8}">'
        f'<circle cx="{cx}" cy="{cy}" r="{_RADIUS - 2}" fill="none" stroke="{_RED}"'
        f' stroke-width="4"/>'
        f'<g fill="{_RED}" font-family="Noto Sans CJK SC">'
        f"{_rim(organization, cx, cy)}</g>{_star(cx, cy, 22)}</svg>"
    )
    when = formatting.short_instant(at, seconds=True)
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><style>"
        f"@page {{ size: {WIDTH}pt {HEIGHT}pt; margin: 0; }}"
        "body { margin: 0; font-family: 'Noto Sans CJK SC', sans-serif; font-size: 8pt;"
        " text-align: center; color: #222; } p { margin: 0; }"
        f"</style></head><body>{svg}<p>签署人：{escape(signer)}</p>"
        f"<p>签署时间：{escape(when)}（北京时间）</p></body></html>"
    )


@cache
def _fonts() -> object:
    """One font configuration for every seal: WeasyPrint then loads the CJK face once per
    process instead of once per seal (about 60 ms each)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def seal_pdf(organization: str, signer: str, at: datetime) -> bytes:
    """The seal as a one-page PDF the size of a signature field. CPU-bound.

    One face (Noto Sans CJK SC, regular) for all its text, so one font is subset."""
    from weasyprint import HTML

    def no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, object]:
        raise ValueError(f"the seal fetches nothing: {url[:80]}")

    pdf = HTML(string=seal_html(organization, signer, at), url_fetcher=no_fetch).write_pdf(
        font_config=_fonts())
    assert pdf is not None
    return pdf
