"""The archive's index (``data/index.json``): what each payload file is, in Chinese.

One entry per payload file but the index itself, in the order the records were gathered
(project, then each section's bids, opening, evaluation, award, then contracts, reports and
the log): its path in the bag, a kind (stable, for programs), a title (for people), its date,
its section, its size and SHA-256 (the manifests' values, so that a reader of the index alone
can still check a file it was sent by itself), and the name it was uploaded under, if any.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from archive.bag import PayloadFile
from archive.records import Item
from tradesys.clock import isoformat_utc

INDEX_FORMAT = "tradesys.archive-index"


def index_document(entries: Iterable[tuple[Item, PayloadFile]]) -> dict[str, Any]:
    return {
        "format": INDEX_FORMAT, "version": 1,
        "files": [{"path": file.path, "kind": item.kind, "title": item.title,
                   "date": item.date and isoformat_utc(item.date), "section": item.section,
                   "size": file.size, "sha256": file.sha256,
                   "original_name": item.original_name}
                  for item, file in entries],
    }
