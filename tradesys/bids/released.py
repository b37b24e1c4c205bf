"""The released form of a holder's opening-key share, as it arrives at the edge (HTTP or the
hall): bounded fields, no coercion. ``tradesys.bids.shamir.HolderShare`` checks its content."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tradesys.strict import ONE_LINE, Strict


class ReleasedShare(Strict):
    """A holder's unwrapped opening-key share (docs/envelope.md, released form)."""

    format: Annotated[str, Field(max_length=40), ONE_LINE]
    version: Annotated[int, Field(ge=1, le=100)]
    section: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
    opening_public_key: Annotated[str, Field(min_length=80, max_length=100), ONE_LINE]
    threshold: Annotated[int, Field(ge=2, le=255)]
    count: Annotated[int, Field(ge=2, le=255)]
    index: Annotated[int, Field(ge=1, le=255)]
    value: Annotated[str, Field(min_length=40, max_length=50), ONE_LINE]
