"""The envelope header: byte layout, encoding, and the parser the server runs on upload.

Layout (docs/envelope.md §3; all integers big-endian)::

    core       magic "TSBIDENV" | version u16 = 1 | header_len u32 | chunk_size u32
               | plaintext_size u64 | nonce_prefix 7 | section_len u8 | section
               | bidder_len u8 | bidder
    recipients count u8 = 2 | 2 × stanza (role u8 | recipient_pub 65 | ephemeral_pub 65
               | commitment 32 | wrapped_share 48), role 1 (bidder) then role 2 (opening)
    summary    summary_len u32 | summary ciphertext (AES-256-GCM, tag included)
    payload    ceil(plaintext_size / chunk_size) chunks (at least one), each its plaintext
               plus a 16-byte tag; only the last may be short

For the server engineer (upload validation, no keys needed)::

    need = header_length(first_14_bytes)      # EnvelopeError if not an envelope / too large
    header = parse_header(first_need_bytes)   # EnvelopeError(code=...) on any malformed byte
    header.section_code, header.bidder_code   # compare with the upload's section and bidder
    header.bidder_public_key                  # compare with the bidder's registered key
    header.opening_public_key                 # compare with the section's opening key
    header.envelope_size                      # the exact total size the upload must reach
    header.chunk_count, header.chunk_size, header.plaintext_size

``parse_header`` checks structure only (every length, range and point); whether the ciphertext
is genuine is known only at opening, when the keys exist. It accepts a buffer that continues past
the header (the first upload chunk, say) and never reads beyond ``header_len``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric import ec

from tradesys.bids.encoding import sha256
from tradesys.bids.errors import EnvelopeError
from tradesys.bids.keys import CURVE, PUBLIC_KEY_LEN
from tradesys.bids.summary import MAX_SUMMARY_BYTES

MAGIC = b"TSBIDENV"
VERSION = 1
#: magic + version + header_len: what :func:`header_length` needs.
PREFIX_LEN = 14
TAG_LEN = 16
SHARE_LEN = 32
NONCE_PREFIX_LEN = 7
COMMITMENT_LEN = 32
WRAPPED_LEN = SHARE_LEN + TAG_LEN
STANZA_LEN = 1 + PUBLIC_KEY_LEN + PUBLIC_KEY_LEN + COMMITMENT_LEN + WRAPPED_LEN

ROLE_BIDDER = 1
ROLE_OPENING = 2
ROLE_NAMES = {ROLE_BIDDER: "bidder", ROLE_OPENING: "opening"}

MIN_CHUNK_SIZE = 1 << 12
MAX_CHUNK_SIZE = 1 << 24
DEFAULT_CHUNK_SIZE = 1 << 20
#: 2^48 bytes: far beyond any bid, and exact in a JavaScript number.
MAX_PLAINTEXT_SIZE = (1 << 48) - 1
MAX_CODE_LEN = 64
MAX_SUMMARY_CT = MAX_SUMMARY_BYTES + TAG_LEN
MAX_HEADER_LEN = (PREFIX_LEN + 4 + 8 + NONCE_PREFIX_LEN + 2 + 2 * MAX_CODE_LEN + 1
                  + 2 * STANZA_LEN + 4 + MAX_SUMMARY_CT)

LABEL_WRAP = b"tradesys/envelope/v1/wrap"
LABEL_COMMIT = b"tradesys/envelope/v1/commit"
LABEL_SUMMARY = b"tradesys/envelope/v1/summary"
LABEL_PAYLOAD = b"tradesys/envelope/v1/payload"


def _bad(code: str, message: str) -> EnvelopeError:
    return EnvelopeError(code, message)


def check_code(value: str, what: str) -> bytes:
    """Section and bidder codes: 1..64 printable ASCII characters (BID_SECTION_CODE, 统一社会
    信用代码). ASCII only, so no Unicode normalisation question can make two spellings differ."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_CODE_LEN \
            or any(not 0x21 <= ord(c) <= 0x7E for c in value):
        raise _bad(f"bad_{what}", f"{what} code must be 1..{MAX_CODE_LEN} printable ASCII "
                   "characters (编号格式无效)")
    return value.encode("ascii")


def chunk_count(plaintext_size: int, chunk_size: int) -> int:
    """At least one chunk: an empty bid is one empty final chunk, so it still authenticates."""
    return max(1, -(-plaintext_size // chunk_size))


@dataclass(frozen=True)
class Stanza:
    role: int
    recipient_pub: bytes
    ephemeral_pub: bytes
    commitment: bytes
    wrapped: bytes

    def encode(self) -> bytes:
        return (bytes([self.role]) + self.recipient_pub + self.ephemeral_pub + self.commitment
                + self.wrapped)


@dataclass(frozen=True)
class EnvelopeHeader:
    """A parsed (or freshly built) header. ``raw`` is the exact header bytes."""

    raw: bytes
    chunk_size: int
    plaintext_size: int
    nonce_prefix: bytes
    section_code: str
    bidder_code: str
    core_len: int
    bidder: Stanza
    opening: Stanza
    summary_ciphertext: bytes

    @property
    def header_len(self) -> int:
        return len(self.raw)

    @property
    def chunk_count(self) -> int:
        return chunk_count(self.plaintext_size, self.chunk_size)

    @property
    def envelope_size(self) -> int:
        """The exact size of the whole envelope: the server refuses an upload of any other."""
        return self.header_len + self.plaintext_size + TAG_LEN * self.chunk_count

    @property
    def bidder_public_key(self) -> bytes:
        return self.bidder.recipient_pub

    @property
    def opening_public_key(self) -> bytes:
        return self.opening.recipient_pub

    @cached_property
    def context_hash(self) -> bytes:
        """SHA-256 of the core: binds wraps, commitments and key derivation to the section,
        the bidder, the sizes and the nonce prefix."""
        return sha256(self.raw[: self.core_len])

    @cached_property
    def summary_aad(self) -> bytes:
        """SHA-256 of everything before the summary length: core and both stanzas."""
        return sha256(self.raw[: self.core_len + 1 + 2 * STANZA_LEN])

    @cached_property
    def header_hash(self) -> bytes:
        """SHA-256 of the whole header: every payload chunk's associated data."""
        return sha256(self.raw)

    def stanza(self, role: int) -> Stanza:
        if role == ROLE_BIDDER:
            return self.bidder
        if role == ROLE_OPENING:
            return self.opening
        raise _bad("bad_role", f"unknown recipient role {role}")


def encode_core(*, chunk_size: int, plaintext_size: int, nonce_prefix: bytes, section_code: str,
                bidder_code: str, header_len: int) -> bytes:
    section = check_code(section_code, "section")
    bidder = check_code(bidder_code, "bidder")
    check_sizes(chunk_size, plaintext_size)
    if len(nonce_prefix) != NONCE_PREFIX_LEN:
        raise _bad("bad_nonce_prefix", "nonce prefix must be 7 bytes")
    return (MAGIC + struct.pack(">HIIQ", VERSION, header_len, chunk_size, plaintext_size)
            + nonce_prefix + bytes([len(section)]) + section + bytes([len(bidder)]) + bidder)


def core_length(section_code: str, bidder_code: str) -> int:
    return (PREFIX_LEN + 4 + 8 + NONCE_PREFIX_LEN + 2 + len(check_code(section_code, "section"))
            + len(check_code(bidder_code, "bidder")))


def header_length_for(section_code: str, bidder_code: str, summary_ct_len: int) -> int:
    return core_length(section_code, bidder_code) + 1 + 2 * STANZA_LEN + 4 + summary_ct_len


def check_sizes(chunk_size: int, plaintext_size: int) -> None:
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE or chunk_size & (chunk_size - 1):
        raise _bad("bad_chunk_size", f"chunk size must be a power of two in "
                   f"{MIN_CHUNK_SIZE}..{MAX_CHUNK_SIZE} (分块大小无效)")
    if not 0 <= plaintext_size <= MAX_PLAINTEXT_SIZE:
        raise _bad("bad_size", "plaintext size out of range (文件大小无效)")
    if chunk_count(plaintext_size, chunk_size) > 0xFFFFFFFF:
        raise _bad("bad_size", "too many chunks for the 32-bit counter (分块过多)")


def header_length(prefix: bytes) -> int:
    """From the first :data:`PREFIX_LEN` bytes, the total header length, so the server can read
    exactly the header before parsing it (and refuse a non-envelope after 14 bytes)."""
    if len(prefix) < PREFIX_LEN:
        raise _bad("truncated_header", "envelope shorter than its header (信封头不完整)")
    if prefix[:8] != MAGIC:
        raise _bad("bad_magic", "not a tradesys sealed bid (不是加密投标文件)")
    version, header_len = struct.unpack(">HI", prefix[8:PREFIX_LEN])
    if version != VERSION:
        raise _bad("bad_version", f"unsupported envelope version {version} (版本不支持)")
    if not PREFIX_LEN < header_len <= MAX_HEADER_LEN:
        raise _bad("bad_header_length", "header length out of range (信封头长度无效)")
    return int(header_len)


def _check_point(raw: bytes, what: str) -> None:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(CURVE, raw)
    except ValueError as error:
        raise _bad("bad_public_key", f"{what} is not a valid P-256 point (公钥无效)") from error
    if raw[0] != 4:  # compressed points are valid SEC1 but not this format's one byte form
        raise _bad("bad_public_key", f"{what} must be an uncompressed point (公钥格式无效)")


def parse_header(data: bytes | bytearray | memoryview) -> EnvelopeHeader:
    """Parses and structurally validates a header; see the module docstring."""
    data = bytes(data[:MAX_HEADER_LEN])
    header_len = header_length(data[:PREFIX_LEN])
    if len(data) < header_len:
        raise _bad("truncated_header", "envelope shorter than its header (信封头不完整)")
    raw = data[:header_len]
    pos = PREFIX_LEN

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > header_len:
            raise _bad("bad_header_length", "a header field runs past header_len (信封头损坏)")
        piece = raw[pos: pos + n]
        pos += n
        return piece

    chunk_size, plaintext_size = struct.unpack(">IQ", take(12))
    check_sizes(chunk_size, plaintext_size)
    nonce_prefix = take(NONCE_PREFIX_LEN)
    codes = []
    for what in ("section", "bidder"):
        length = take(1)[0]
        try:
            text = take(length).decode("ascii")
        except UnicodeDecodeError as error:
            raise _bad(f"bad_{what}", f"{what} code is not ASCII (编号无效)") from error
        check_code(text, what)
        codes.append(text)
    core_len = pos
    if take(1)[0] != 2:
        raise _bad("bad_recipients", "an envelope has exactly two recipients (接收方数量无效)")
    stanzas = []
    for expected in (ROLE_BIDDER, ROLE_OPENING):
        body = take(STANZA_LEN)
        if body[0] != expected:
            raise _bad("bad_recipients", "recipients must be the bidder then the opening key "
                       "(接收方顺序无效)")
        stanza = Stanza(role=body[0], recipient_pub=body[1:66], ephemeral_pub=body[66:131],
                        commitment=body[131:163], wrapped=body[163:])
        _check_point(stanza.recipient_pub, f"{ROLE_NAMES[expected]} recipient key")
        _check_point(stanza.ephemeral_pub, f"{ROLE_NAMES[expected]} ephemeral key")
        stanzas.append(stanza)
    if stanzas[0].recipient_pub == stanzas[1].recipient_pub:
        raise _bad("bad_recipients", "bidder and opening keys must differ (接收方公钥相同)")
    (summary_len,) = struct.unpack(">I", take(4))
    if summary_len == 0:
        raise _bad("missing_summary", "the envelope has no bid summary (缺少开标一览表)")
    if not TAG_LEN < summary_len <= MAX_SUMMARY_CT:
        raise _bad("bad_summary_length", "summary length out of range (开标一览表长度无效)")
    summary = take(summary_len)
    if pos != header_len:
        raise _bad("bad_header_length", "bytes left over after the summary (信封头长度不符)")
    return EnvelopeHeader(raw=raw, chunk_size=chunk_size, plaintext_size=plaintext_size,
                          nonce_prefix=nonce_prefix, section_code=codes[0], bidder_code=codes[1],
                          core_len=core_len, bidder=stanzas[0], opening=stanzas[1],
                          summary_ciphertext=summary)


def chunk_nonce(nonce_prefix: bytes, index: int, last: bool) -> bytes:
    """STREAM nonce: prefix (7) ‖ counter (u32 BE) ‖ last flag (0x01 on the final chunk)."""
    return nonce_prefix + struct.pack(">IB", index, 1 if last else 0)


def commitment(role: int, context_hash: bytes, share: bytes) -> bytes:
    """Lets the server tell whose share is wrong at opening (bidder's fault → 撤销)."""
    return sha256(LABEL_COMMIT, bytes([role]), context_hash, share)


def wrap_info(role: int, context_hash: bytes) -> bytes:
    return LABEL_WRAP + bytes([role]) + context_hash


def derive_key(data_key: bytes, context_hash: bytes, label: bytes) -> bytes:
    """HKDF-SHA256(ikm = data key, salt = context hash, info = label), 32 bytes."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=context_hash,
                info=label).derive(data_key)
