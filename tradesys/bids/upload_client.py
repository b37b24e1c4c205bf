"""The client side of the resumable upload (``tradesys bidder submit``, the demo, benchmarks).

Streams the envelope from disk slice by slice (memory bounded by one slice); on a broken
connection or a refused offset it asks the server where the upload stands and goes on from
there, a bounded number of times.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

DEFAULT_SLICE = 8 * 1024 * 1024


class SubmitError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


def _ok(response: httpx.Response, expected: int) -> httpx.Response:
    if response.status_code != expected:
        raise SubmitError(response.status_code, response.text)
    return response


def submit_envelope(client: httpx.Client, section_id: int, envelope: Path, *,
                    slice_bytes: int = DEFAULT_SLICE, retries: int = 5) -> bytes:
    """Upload ``envelope`` to the section; returns the signed receipt file's exact bytes."""
    size = envelope.stat().st_size
    upload = _ok(client.post(f"/api/v1/sections/{section_id}/uploads", json={"size": size}),
                 201).json()
    url = f"/api/v1/uploads/{upload['id']}"
    offset, failures = 0, 0
    with envelope.open("rb") as source:
        while offset < size:
            source.seek(offset)
            piece = source.read(min(slice_bytes, size - offset))
            try:
                response = client.patch(url, content=piece, headers={
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream"})
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                offset = int(response.json()["offset"])
                continue
            if response is not None and response.status_code not in (409, 500, 502, 503, 504):
                raise SubmitError(response.status_code, response.text)
            failures += 1
            if failures > retries:
                raise SubmitError(response.status_code if response else 0,
                                  response.text if response else "connection lost")
            time.sleep(min(5.0, 0.2 * 2 ** failures))  # client-side pause before resuming
            offset = int(_ok(client.get(url), 200).json()["offset"])
    return _ok(client.post(f"{url}/complete"), 201).content
