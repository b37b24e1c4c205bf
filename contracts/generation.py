"""Contract generation: facts → HTML (one template per trade type) → PDF with both signature
fields.

Why the fields are added here: a certification signature (DocMDP, the first signer's) forbids
adding fields afterwards except by signing, and pyHanko's difference analysis treats a new
field after a signature as a change to report; so both fields exist in the revision the first
signer certifies. The signature page is the template's last page alone, so the fields sit at
fixed boxes (:data:`SIGNATURE_BOXES`, PDF points on an A4 page, origin at the bottom left).

A draft is the PDF of one set of facts; its SHA-256 goes into the draft's event. PDFs are not
byte-for-byte reproducible (WeasyPrint stamps its metadata), so a draft's identity is the
stored file's hash, never a re-rendering.
"""

from __future__ import annotations

import hashlib
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigFieldSpec, append_signature_field

from contracts.facts import ContractFacts, TradeType
from tradesys.documents.render import render_html, render_pdf
from tradesys.formatting import capital_amount

__all__ = ["FIELDS", "SIGNATURE_BOXES", "contract_html", "contract_pdf", "sha256_hex"]

#: Field names: 甲方 (purchaser) signs first and certifies, then 乙方 (supplier).
FIELDS = ("purchaser", "supplier")
SIGNATURE_BOXES = {"purchaser": (50, 490, 270, 690), "supplier": (320, 490, 540, 690)}
TEMPLATES = {TradeType.WORKS: "contract_works.html", TradeType.GOODS: "contract_goods.html"}


def _context(facts: ContractFacts, draft: int) -> dict[str, Any]:
    return {"facts": facts.model_dump(mode="json"), "draft": draft,
            "capital": capital_amount(facts.price)}


def contract_html(facts: ContractFacts, draft: int = 1) -> str:
    return render_html(TEMPLATES[facts.trade_type], _context(facts, draft))


def contract_pdf(facts: ContractFacts, draft: int = 1) -> bytes:
    """The draft PDF with both (empty) signature fields on its last page. CPU-bound."""
    rendered = render_pdf(TEMPLATES[facts.trade_type], _context(facts, draft))
    return add_signature_fields(rendered)


def add_signature_fields(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    for name in FIELDS:
        append_signature_field(writer, SigFieldSpec(sig_field_name=name, on_page=-1,
                                                    box=SIGNATURE_BOXES[name]))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
