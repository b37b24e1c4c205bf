"""Opening: unwrap a share, check released shares, combine, read the summary, decrypt.

The server's opening sequence (docs/envelope.md §8)::

    header = parse_header(header_bytes)
    # key holders' Shamir shares → the section's opening private key (shamir.py), then
    opening_share = unwrap_share(header, ROLE_OPENING, opening_private_key)
    # the bidder unwraps its share on its own side and releases only the share:
    check_share(header, ROLE_BIDDER, released)      # ShareError → the bidder's fault (撤销)
    key = combine(header, released, opening_share)
    summary = open_summary(header, key)             # 唱标, without touching the payload
    result = decrypt(header, key, source, out)      # streaming; source positioned after header

``decrypt`` writes each chunk as soon as its tag verifies, but truncation is only known at the
end: treat ``out`` as untrusted until it returns (write to a temp file, rename on success —
:func:`open_file` does this).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tradesys.bids.encoding import read_exactly
from tradesys.bids.envelope import (
    LABEL_PAYLOAD,
    LABEL_SUMMARY,
    PREFIX_LEN,
    ROLE_BIDDER,
    ROLE_NAMES,
    ROLE_OPENING,
    SHARE_LEN,
    TAG_LEN,
    EnvelopeHeader,
    chunk_nonce,
    commitment,
    derive_key,
    header_length,
    parse_header,
    wrap_info,
)
from tradesys.bids.errors import EnvelopeError, ShareError
from tradesys.bids.keys import ZERO_NONCE, PrivateKey, same_public_key, unwrap
from tradesys.bids.seal import Writer, xor
from tradesys.bids.summary import decode_summary
from tradesys.storage import create_private

__all__ = ["ROLE_BIDDER", "ROLE_OPENING", "DecryptResult", "EnvelopeKey", "check_share",
           "combine", "decrypt", "open_file", "open_summary", "read_header", "unwrap_share"]


def unwrap_share(header: EnvelopeHeader, role: int, private_key: PrivateKey) -> bytes:
    """The 32-byte share wrapped to ``role``'s key; checked against the header's commitment."""
    stanza = header.stanza(role)
    if not same_public_key(private_key, stanza.recipient_pub):
        raise ShareError("wrong_key", f"this key is not the envelope's {ROLE_NAMES[role]} key "
                         "(私钥与信封接收方不符)")
    share = unwrap(private_key, stanza.ephemeral_pub, stanza.wrapped,
                   wrap_info(role, header.context_hash))
    check_share(header, role, share)
    return share


def check_share(header: EnvelopeHeader, role: int, share: bytes) -> None:
    """Raises ``ShareError("share_mismatch")`` unless ``share`` is the one committed to in the
    header for ``role``: a released bidder share that fails here is the bidder's fault."""
    if not isinstance(share, bytes | bytearray) or len(share) != SHARE_LEN:
        raise ShareError("bad_share", f"a share is {SHARE_LEN} bytes (份额长度无效)")
    expected = header.stanza(role).commitment
    if not hmac.compare_digest(commitment(role, header.context_hash, bytes(share)), expected):
        raise ShareError("share_mismatch", f"the {ROLE_NAMES[role]} share does not match the "
                         "envelope's commitment (份额与承诺不符)", {"role": ROLE_NAMES[role]})


@dataclass(frozen=True, repr=False)
class EnvelopeKey:
    """The two keys derived from the rebuilt data key; the data key itself is not kept."""

    summary_key: bytes
    payload_key: bytes

    def __repr__(self) -> str:  # never print key material, not even in a traceback
        return "EnvelopeKey(<secret>)"


def combine(header: EnvelopeHeader, bidder_share: bytes, opening_share: bytes) -> EnvelopeKey:
    """Both shares, each checked against its commitment, → the envelope's keys."""
    check_share(header, ROLE_BIDDER, bidder_share)
    check_share(header, ROLE_OPENING, opening_share)
    data_key = xor(bytes(bidder_share), bytes(opening_share))
    return EnvelopeKey(summary_key=derive_key(data_key, header.context_hash, LABEL_SUMMARY),
                       payload_key=derive_key(data_key, header.context_hash, LABEL_PAYLOAD))


def open_summary(header: EnvelopeHeader, key: EnvelopeKey) -> dict[str, Any]:
    """The 开标一览表, validated; reads nothing but the header."""
    try:
        plain = AESGCM(key.summary_key).decrypt(ZERO_NONCE, header.summary_ciphertext,
                                                header.summary_aad)
    except InvalidTag as error:
        raise EnvelopeError("summary_auth_failed", "开标一览表校验失败 (the bid summary fails "
                            "authentication)") from error
    return decode_summary(plain)


@dataclass(frozen=True)
class DecryptResult:
    plaintext_size: int
    #: Only when asked (``digest=True``): hashing costs more than the cipher (≈1.7 vs 9 GB/s).
    plaintext_sha256: str | None



def decrypt(header: EnvelopeHeader, key: EnvelopeKey, source: BinaryIO, out: Writer,
            progress: Callable[[int], None] | None = None, *,
            digest: bool = False) -> DecryptResult:
    """Streams the payload from ``source`` (positioned just after the header) to ``out``.

    Memory: two chunk-sized buffers, reused; ``out.write`` receives a memoryview that is
    overwritten by the next chunk, so a writer that keeps data must copy it. Errors:
    ``truncated`` (source ends early), ``chunk_auth_failed`` (tampered, reordered, spliced or
    dropped chunk, or a header byte changed; ``details = {"chunk": i}``), ``trailing_data``.
    """
    aead = AESGCM(key.payload_key)
    aad = header.header_hash
    sealed = bytearray(header.chunk_size + TAG_LEN)
    plain = bytearray(header.chunk_size)
    sealed_view, plain_view = memoryview(sealed), memoryview(plain)
    hasher = hashlib.sha256() if digest else None
    count = header.chunk_count
    remaining = header.plaintext_size
    for index in range(count):
        want = min(header.chunk_size, remaining)
        got = read_exactly(source, sealed_view[: want + TAG_LEN])
        if got != want + TAG_LEN:
            raise EnvelopeError("truncated", "加密投标文件不完整 (the envelope is truncated)",
                                {"chunk": index})
        nonce = chunk_nonce(header.nonce_prefix, index, index == count - 1)
        try:
            aead.decrypt_into(nonce, sealed_view[: want + TAG_LEN], aad, plain_view[:want])
        except InvalidTag as error:
            raise EnvelopeError("chunk_auth_failed", f"第 {index} 块校验失败 (chunk {index} fails "
                                "authentication: tampered, reordered, spliced or moved)",
                                {"chunk": index}) from error
        remaining -= want
        if hasher is not None:
            hasher.update(plain_view[:want])
        out.write(plain_view[:want])
        if progress is not None:
            progress(header.plaintext_size - remaining)
    if source.read(1):
        raise EnvelopeError("trailing_data", "信封末尾有多余数据 (bytes after the last chunk)")
    plain[:] = bytes(len(plain))
    return DecryptResult(plaintext_size=header.plaintext_size,
                         plaintext_sha256=hasher.hexdigest() if hasher else None)


def read_header(source: BinaryIO) -> EnvelopeHeader:
    """Reads exactly the header from a stream and parses it; leaves the stream at chunk 0."""
    prefix = source.read(PREFIX_LEN)
    need = header_length(prefix)
    rest = source.read(need - PREFIX_LEN)
    return parse_header(prefix + rest)


def open_file(envelope_path: Path, out_path: Path, bidder_share: bytes,
              opening_share: bytes) -> tuple[dict[str, Any], DecryptResult]:
    """Opens a whole envelope file; ``out_path`` appears only if every chunk verified."""
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        with envelope_path.open("rb") as source:
            header = read_header(source)
            key = combine(header, bidder_share, opening_share)
            summary = open_summary(header, key)
            tmp.unlink(missing_ok=True)
            with os.fdopen(create_private(tmp), "wb") as out:  # 0600: a decrypted bid
                result = decrypt(header, key, source, out, digest=True)
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return summary, result
